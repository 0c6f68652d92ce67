//! The logged workloads (`sections::LOG_SECTIONS`): writes through each engine's
//! write-ahead log.
//!
//! A workload's name says what it does: `fillrandom-log` writes every key once in a
//! random order into an empty database, `overwrite-log` writes `--num` random keys of
//! it again; `-sync` makes every write durable on disk before it returns (a tenth of
//! the writes at most, and at most 20,000: each waits for the disk), `-sync1k` every
//! 1,000th write of each thread (the writes before it handed to the operating system);
//! `-t4` splits the writes over 4 threads; `-ks10` and `-ks100` spread the fill over
//! that many keyspaces (round robin), for the memory each keyspace costs.

use std::path::Path;
use std::time::Instant;

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::EngineKind;
use crate::keys::permutation;
use crate::log_engine::{self, LoggedEngine};
use crate::progress::Progress;

/// When a thread's write is synced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Never (handed to the operating system).
    Buffered,
    /// Every write.
    Sync,
    /// Every 1,000th write of each thread, and its last.
    Sync1k,
}

/// What a workload's name asks for.
struct Spec {
    fill: bool,
    mode: Mode,
    threads: usize,
    keyspaces: usize,
}

fn spec(workload: &str) -> Spec {
    let parts: Vec<&str> = workload.split('-').collect();
    let has = |part: &str| parts.contains(&part);
    Spec {
        fill: workload.starts_with("fillrandom"),
        mode: if has("sync") {
            Mode::Sync
        } else if has("sync1k") {
            Mode::Sync1k
        } else {
            Mode::Buffered
        },
        threads: if has("t4") { 4 } else { 1 },
        keyspaces: if has("ks100") {
            100
        } else if has("ks10") {
            10
        } else {
            1
        },
    }
}

/// How many writes a workload in `mode` does with `--num` `num`.
fn write_count(mode: Mode, num: u64) -> u64 {
    match mode {
        Mode::Sync => (num / 10).clamp(1, 20_000),
        Mode::Buffered | Mode::Sync1k => num,
    }
}

/// Runs the workloads of one logged section on a fresh database of `kind` at `path`.
///
/// # Errors
/// When the engine cannot open or a write fails.
pub fn run(
    ctx: &mut Ctx<'_>,
    kind: EngineKind,
    workloads: &[&str],
    path: &Path,
    samples: &mut Vec<Sample>,
) -> Result<(), String> {
    if kind == EngineKind::Coordinode {
        for workload in workloads.iter().filter(|workload| ctx.wants(workload)) {
            samples.push(Sample::skipped(ctx, workload, "it has no write-ahead log"));
        }
        return Ok(());
    }
    let keyspaces = workloads.first().map_or(1, |first| spec(first).keyspaces);
    let engine = log_engine::open(kind, path, &ctx.settings, keyspaces)?;
    for workload in workloads {
        let spec = spec(workload);
        // A fill runs whether or not it was asked for: the overwrites need its keys.
        if !spec.fill && !ctx.wants(workload) {
            continue;
        }
        let count = write_count(spec.mode, ctx.flags.num);
        let indexes = if spec.fill {
            permutation(count, &mut ctx.rng)
        } else {
            (0..count).map(|_| ctx.rng.below(ctx.flags.num)).collect()
        };
        samples.push(write(ctx, &*engine, workload, &spec, &indexes)?);
    }
    drop(engine);
    Ok(())
}

/// Writes key `idx` for each of `indexes`, split over the spec's threads.
fn write(
    ctx: &mut Ctx<'_>,
    engine: &dyn LoggedEngine,
    workload: &str,
    spec: &Spec,
    indexes: &[u64],
) -> Result<Sample, String> {
    let value_bytes = ctx.flags.value_bytes;
    let count = indexes.len() as u64;
    let chunk = indexes.len().div_ceil(spec.threads).max(1);
    let seeds: Vec<u64> = (0..spec.threads).map(|_| ctx.rng.next_u64()).collect();
    let progress = std::sync::Mutex::new(Progress::new(ctx.label(workload), count));
    let (keys, values) = (&ctx.keys, ctx.values);
    let mut meter = Meter::start_bare();
    let results: Vec<Result<Vec<u64>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = indexes
            .chunks(chunk)
            .zip(&seeds)
            .map(|(part, &seed)| {
                let progress = &progress;
                scope.spawn(move || {
                    let mut cursor = values.cursor(&mut Rng::new(seed), value_bytes);
                    let mut key = Vec::with_capacity(keys.key_bytes());
                    let mut latencies = Vec::with_capacity(part.len());
                    for (nth, &idx) in part.iter().enumerate() {
                        keys.key_into(idx, &mut key);
                        let sync = match spec.mode {
                            Mode::Buffered => false,
                            Mode::Sync => true,
                            Mode::Sync1k => nth % 1000 == 999 || nth + 1 == part.len(),
                        };
                        let keyspace = usize::try_from(idx % spec.keyspaces as u64).unwrap_or(0);
                        let started = Instant::now();
                        engine.put(keyspace, &key, values.value(&mut cursor), sync)?;
                        latencies
                            .push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
                        if nth % 1024 == 0 {
                            progress
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .tick_by(1024.min((part.len() - nth) as u64));
                        }
                    }
                    Ok(latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("a writer thread panicked".to_owned()))
            })
            .collect()
    });
    let elapsed = meter.elapsed();
    progress
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .finish();
    for latencies in results {
        meter.add_latencies(latencies?);
    }
    let user_bytes = count * (ctx.keys.key_bytes() + value_bytes) as u64;
    Ok(meter.finish_bare(ctx, workload, count, user_bytes, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_runs() {
        let sync = spec("overwrite-log-sync-t4");
        assert!(!sync.fill && sync.mode == Mode::Sync && sync.threads == 4);
        let batched = spec("fillrandom-log-sync1k");
        assert!(batched.fill && batched.mode == Mode::Sync1k && batched.threads == 1);
        assert_eq!(spec("fillrandom-log-ks100").keyspaces, 100);
        assert_eq!(spec("fillrandom-log-ks10").keyspaces, 10);
        assert!(spec("fillrandom-log").mode == Mode::Buffered);
        assert_eq!(write_count(Mode::Sync, 1_000_000), 20_000);
        assert_eq!(write_count(Mode::Sync1k, 2_000), 2_000);
    }
}
