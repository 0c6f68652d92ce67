//! The db_bench workloads on every engine, one file per workload below `db_bench/`.
//!
//! Each repetition of each engine runs in a child process of its own (so that peak RSS
//! and bytes written are that engine's alone), and repetitions interleave the engines,
//! each round starting one engine later (A B C, B C A, C A B, ...), so that a slow spell
//! of the machine touches all of them alike and none always runs in the same place.
//! Within one child the workloads run in a fixed order on six databases:
//! - `fillseq` on a database of its own;
//! - `bulkload` (the same keys and values through the engine's bulk path: our and the
//!   peers' ingestion, RocksDB's `SstFileWriter` and `IngestExternalFile`) on a
//!   database of its own;
//! - `fillrandom` (every key once, in random order), then `overwrite`, the reads
//!   (`readrandom`, `readhot` (a hot hundredth of the keys), `readmissing`, `seekrandom`, `readseq`, `readreverse`,
//!   `readwhilewriting`), a major compaction for space amplification, the reads again on
//!   the compacted tree (`readrandom-compacted`, `readmissing-compacted`,
//!   `seekrandom-compacted`, `readseq-compacted`), then `deleterandom` and `rangedelete`;
//! - `mergerandom` on a database of its own;
//! - `changescan` and `changescan-full` (a change stream since a seqno, after 1% of
//!   the keys changed) on a database of its own, in the engines that have one;
//! - `fillrandom-4k` and `readrandom-4k` (4 KiB values, the same bytes as the main
//!   fill) on a database of its own;
//! - `fillrandom-blob`, `readrandom-blob` and `overwrite-blob` (4 KiB values again,
//!   overwritten twice over) on a database with key-value separation, each engine's
//!   own (our blob tree, RocksDB's BlobDB, the peers' blob trees).
//!
//! Write workloads are timed up to their last acknowledged write; write amplification
//! counts every byte the process wrote to storage from the first write until the
//! engine has flushed and finished compacting.

mod bulkload;
mod changescan;
mod deleterandom;
mod fill;
mod fillrandom;
mod fillseq;
mod logged;
mod mergerandom;
mod overwrite;
mod rangedelete;
mod readmissing;
mod readrandom;
mod readreverse;
mod readseq;
mod readwhilewriting;
pub mod sample;
pub mod sections;
mod seekrandom;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use lsm_testkit::rng::Rng;

pub use sample::Sample;
use sections::{LOG_SECTIONS, SECTIONS};

use crate::engine::{Engine, EngineKind};
use crate::flags::Flags;
use crate::keys::{KeySpace, Values};
use crate::settings::{BLOB_THRESHOLD_BYTES, Settings};
use crate::tree_dirs::remove_all;

/// Bytes of the large values of `fillrandom-4k`.
pub const LARGE_VALUE_BYTES: usize = 4096;

/// What every workload of one child shares.
pub struct Ctx<'a> {
    /// The flags of the run.
    pub flags: &'a Flags,
    /// The matched settings.
    pub settings: Settings,
    /// The keys.
    pub keys: KeySpace,
    /// The values.
    pub values: &'a Values,
    /// The engine's name.
    pub engine: &'static str,
    /// The repetition.
    pub rep: usize,
    /// Randomness, seeded from `--seed`.
    pub rng: Rng,
}

impl Ctx<'_> {
    /// A progress label for `workload`.
    pub fn label(&self, workload: &str) -> String {
        format!("{} {workload} (run {})", self.engine, self.rep + 1)
    }

    fn wants(&self, workload: &str) -> bool {
        self.flags.workloads.contains(&workload)
    }
}

/// Runs every repetition of every engine, each in a child process, interleaved.
///
/// # Errors
/// When a child fails or its results cannot be read.
pub fn run_parent(flags: &Flags, engines: &[EngineKind]) -> Result<Vec<Sample>, String> {
    let exe = std::env::current_exe().map_err(|error| format!("no executable path: {error}"))?;
    let scratch = flags
        .db
        .join(format!("lsm-bench-{}-results", std::process::id()));
    lsm_core::Fs::create_dir_all(&lsm_core::StdFs, &scratch)
        .map_err(|error| format!("cannot create {}: {error}", scratch.display()))?;
    let corpus = scratch.join("values");
    Values::load()?.write_to(&corpus)?;
    let mut samples = Vec::new();
    for rep in 0..flags.runs {
        // Each round starts one engine later, so that no engine always runs first (on
        // memory the machine has not touched for a while) or always after the same one.
        let start = rep % engines.len().max(1);
        for engine in engines.iter().cycle().skip(start).take(engines.len()) {
            let out = scratch.join(format!("{}-{rep}.jsonl", engine.name()));
            let child = Command::new(&exe)
                .args(flags.child_args(engine.name(), rep, &out, &corpus))
                .spawn()
                .map_err(|error| format!("cannot start a child: {error}"))?;
            let pid = child.id();
            let ending = wait_or_kill(child, Duration::from_secs(flags.child_timeout_secs))?;
            if ending.starts_with("timed out") {
                eprintln!("lsm-bench: {} run {}: {ending}", engine.name(), rep + 1);
                // A stopped child could not remove its databases.
                remove_all(&child_db_dir(&flags.db, pid, engine.name()));
            }
            // A child that died keeps what it wrote; its missing workloads are failures.
            let got = sample::read_jsonl(&out).unwrap_or_default();
            for workload in &flags.workloads {
                if !got.iter().any(|sample| sample.workload == *workload) {
                    samples.push(Sample {
                        workload: (*workload).to_owned(),
                        engine: engine.name().to_owned(),
                        rep,
                        skipped: Some(format!("failed: the run {ending}")),
                        data_set: sample::data_set_name(),
                        ..Sample::default()
                    });
                }
            }
            samples.extend(got);
            // Written after every child, so that an interrupted run can still be
            // reported (`--from-samples`).
            sample::write_jsonl(&samples, &flags.out_dir.join("db_bench-samples.jsonl"))?;
        }
    }
    remove_all(&scratch);
    Ok(samples)
}

/// Waits for `child` up to `limit`, then kills it; says how it ended ("exited with
/// ..." or "timed out after ...").
fn wait_or_kill(mut child: Child, limit: Duration) -> Result<String, String> {
    let started = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|error| format!("cannot wait for a child: {error}"))?
        {
            return Ok(format!("exited with {status}"));
        }
        if started.elapsed() >= limit {
            // Killing a child that just exited fails harmlessly; wait reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(format!(
                "timed out after {} s and was stopped",
                limit.as_secs()
            ));
        }
        std::thread::sleep(CHILD_POLL);
    }
}

/// Where the child process `pid` running `engine` keeps its databases, below `db`.
fn child_db_dir(db: &Path, pid: u32, engine: &str) -> PathBuf {
    db.join(format!("lsm-bench-{pid}-{engine}"))
}

/// How often the parent looks at a running child.
const CHILD_POLL: Duration = Duration::from_millis(100);

/// Runs the workloads on one engine (in a child process) and writes the samples to `out`.
///
/// # Errors
/// When a workload fails; the databases are removed either way.
pub fn run_child(flags: &Flags, engine: &str, rep: usize, out: &Path) -> Result<(), String> {
    let kind = EngineKind::parse(engine).ok_or_else(|| format!("unknown engine {engine}"))?;
    let values = match &flags.corpus {
        Some(path) => Values::read_from(path)?,
        None => Values::load()?,
    };
    let mut ctx = Ctx {
        flags,
        settings: flags.settings(),
        keys: KeySpace::new(flags.key_bytes, flags.num)?,
        values: &values,
        engine: kind.name(),
        rep,
        rng: Rng::new(flags.seed),
    };
    let dir = child_db_dir(&flags.db, std::process::id(), kind.name());
    remove_all(&dir);
    let mut samples = run_sequence(&mut ctx, kind, &dir);
    remove_all(&dir);
    // fillrandom runs to build the main database whether or not it was asked for.
    samples.retain(|sample| ctx.wants(&sample.workload));
    sample::write_jsonl(&samples, out)
}

/// Runs each database's workloads; a failure ends that database's workloads (each
/// recorded as failed) and the next database goes on.
fn run_sequence(ctx: &mut Ctx<'_>, kind: EngineKind, dir: &Path) -> Vec<Sample> {
    let mut samples = Vec::new();
    for (db_name, workloads) in SECTIONS.iter().chain(LOG_SECTIONS) {
        if !workloads.iter().any(|workload| ctx.wants(workload)) {
            continue;
        }
        let before = samples.len();
        let path = dir.join(db_name);
        if LOG_SECTIONS.iter().any(|(name, _)| name == db_name) {
            let result = logged::run(ctx, kind, workloads, &path, &mut samples);
            remove_all(&path);
            if let Err(error) = result {
                record_failure(ctx, workloads, &mut samples, before, &error);
            }
            continue;
        }
        let settings = if *db_name == "blob" {
            Settings {
                blob_threshold: Some(BLOB_THRESHOLD_BYTES),
                ..ctx.settings
            }
        } else {
            ctx.settings
        };
        let result = kind.open(&path, &settings).and_then(|engine| {
            let result = match *db_name {
                "fillseq" => fillseq::run(ctx, &*engine).map(|sample| samples.push(sample)),
                "bulkload" => bulkload::run(ctx, &*engine).map(|sample| samples.push(sample)),
                "main" => main_db(ctx, &*engine, &path, &mut samples),
                "merge" => mergerandom::run(ctx, &*engine).map(|sample| samples.push(sample)),
                "changes" => changescan::run(ctx, &*engine, &mut samples),
                "blob" => blob_db(ctx, &*engine, &path, &mut samples),
                _ => large_db(ctx, &*engine, &path, &mut samples),
            };
            drop(engine);
            result
        });
        remove_all(&path);
        if let Err(error) = result {
            record_failure(ctx, workloads, &mut samples, before, &error);
        }
    }
    samples
}

/// Records every wanted workload of a failed database that has no sample since `before`
/// as failed.
fn record_failure(
    ctx: &Ctx<'_>,
    workloads: &[&str],
    samples: &mut Vec<Sample>,
    before: usize,
    error: &str,
) {
    eprintln!("lsm-bench: {} run {}: {error}", ctx.engine, ctx.rep + 1);
    for workload in workloads.iter().filter(|workload| ctx.wants(workload)) {
        if !samples[before..]
            .iter()
            .any(|sample| sample.workload == *workload)
        {
            samples.push(Sample::skipped(ctx, workload, &format!("failed: {error}")));
        }
    }
}

fn large_db(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    path: &Path,
    samples: &mut Vec<Sample>,
) -> Result<(), String> {
    let value_bytes = ctx.flags.value_bytes as u64;
    let large_num = (ctx.flags.num * value_bytes / LARGE_VALUE_BYTES as u64).max(1);
    let mut fill =
        fillrandom::run_with(ctx, engine, "fillrandom-4k", large_num, LARGE_VALUE_BYTES)?;
    let read = if ctx.wants("readrandom-4k") {
        Some(readrandom::run_with(
            ctx,
            engine,
            "readrandom-4k",
            large_num,
        )?)
    } else {
        None
    };
    let entry_bytes = ctx.keys.key_bytes() + LARGE_VALUE_BYTES;
    fill.space_amp = Some(sample::space_amp(engine, path, large_num, entry_bytes)?);
    samples.push(fill);
    samples.extend(read);
    Ok(())
}

/// The key-value separated database: 4 KiB values (as `fillrandom-4k`) filled, read,
/// then overwritten twice over at random, so that garbage collection runs; space
/// amplification is measured on the overwritten database after a full compaction and
/// the collection steps that follow it.
fn blob_db(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    path: &Path,
    samples: &mut Vec<Sample>,
) -> Result<(), String> {
    let value_bytes = ctx.flags.value_bytes as u64;
    let blob_num = (ctx.flags.num * value_bytes / LARGE_VALUE_BYTES as u64).max(1);
    samples.push(fillrandom::run_with(
        ctx,
        engine,
        "fillrandom-blob",
        blob_num,
        LARGE_VALUE_BYTES,
    )?);
    if ctx.wants("readrandom-blob") {
        samples.push(readrandom::run_with(
            ctx,
            engine,
            "readrandom-blob",
            blob_num,
        )?);
    }
    if !ctx.wants("overwrite-blob") {
        return Ok(());
    }
    let mut rng = Rng::new(ctx.rng.next_u64());
    let overwrites = OVERWRITE_PASSES * blob_num;
    let indexes = (0..overwrites).map(move |_| rng.below(blob_num));
    let mut overwrite = fill::fill(
        ctx,
        engine,
        "overwrite-blob",
        indexes,
        overwrites,
        LARGE_VALUE_BYTES,
    )?;
    let entry_bytes = ctx.keys.key_bytes() + LARGE_VALUE_BYTES;
    overwrite.space_amp = Some(sample::space_amp(engine, path, blob_num, entry_bytes)?);
    samples.push(overwrite);
    Ok(())
}

/// Overwrites per key of `overwrite-blob`.
const OVERWRITE_PASSES: u64 = 2;

fn main_db(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    path: &Path,
    samples: &mut Vec<Sample>,
) -> Result<(), String> {
    let num = ctx.flags.num;
    let fill = fillrandom::run_with(ctx, engine, "fillrandom", num, ctx.flags.value_bytes)?;
    let mut last_write = samples.len();
    samples.push(fill);
    if ctx.wants("overwrite") {
        last_write = samples.len();
        samples.push(overwrite::run(ctx, engine)?);
    }
    type Workload = fn(&mut Ctx<'_>, &dyn Engine) -> Result<Sample, String>;
    let reads: [(&str, Workload); 7] = [
        ("readrandom", readrandom::run),
        ("readhot", readrandom::run_hot),
        ("readmissing", readmissing::run),
        ("seekrandom", seekrandom::run),
        ("readseq", readseq::run),
        ("readreverse", readreverse::run),
        ("readwhilewriting", readwhilewriting::run),
    ];
    for (name, workload) in reads {
        if ctx.wants(name) {
            samples.push(workload(ctx, engine)?);
        }
    }
    // Space amplification of the filled (and overwritten) database, fully compacted.
    let entry_bytes = ctx.keys.key_bytes() + ctx.flags.value_bytes;
    samples[last_write].space_amp = Some(sample::space_amp(engine, path, num, entry_bytes)?);
    // The reads again, on the fully compacted tree (most data of a real tree lives in
    // its last level).
    let compacted_reads: [(&str, Workload); 4] = [
        ("readrandom-compacted", |ctx, engine| {
            let num = ctx.flags.num;
            readrandom::run_with(ctx, engine, "readrandom-compacted", num)
        }),
        ("readmissing-compacted", |ctx, engine| {
            readmissing::run_with(ctx, engine, "readmissing-compacted")
        }),
        ("seekrandom-compacted", |ctx, engine| {
            seekrandom::run_with(ctx, engine, "seekrandom-compacted")
        }),
        ("readseq-compacted", |ctx, engine| {
            readseq::scan(ctx, engine, "readseq-compacted", false)
        }),
    ];
    for (name, workload) in compacted_reads {
        if ctx.wants(name) {
            samples.push(workload(ctx, engine)?);
        }
    }
    if ctx.wants("deleterandom") {
        samples.push(deleterandom::run(ctx, engine)?);
    }
    if ctx.wants("rangedelete") {
        samples.push(rangedelete::run(ctx, engine)?);
    }
    Ok(())
}
