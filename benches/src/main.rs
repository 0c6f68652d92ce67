//! `lsm-bench`: the engine's benchmark tool (`cargo xtask bench`).
//!
//! It runs the db_bench workloads (`fillseq`, `fillrandom`, `overwrite`, `readrandom`,
//! `readmissing`, `seekrandom`, `readseq`, `readreverse`, `readwhilewriting`,
//! `deleterandom`, `rangedelete`, `mergerandom`, `fillrandom-4k`, `readrandom-4k`; see
//! [`db_bench`]) on our engine and, with `--peers` (a build with the `peers` feature),
//! on RocksDB, fjall's lsm-tree and coordinode-lsm-tree with matched settings
//! ([`settings`]), each repetition of each engine in a child process of its own,
//! repetitions interleaved. It prints a markdown table of medians (ops/s, our ops/s over
//! each peer's pair by pair, read latency percentiles, write and space amplification,
//! peak RSS, block cache hit rate, filter bits per key and false-positive rate), and
//! writes CSV, JSON lines and an SVG chart under `--out` (default `target/bench/`).
//!
//! The layers alone run on request (`--workloads table,blob,block,ingest,compression`,
//! or `layers`): one table, blob files, the block codec, the ingest with background
//! maintenance (leveled and tiered), and every compression through the facade; their
//! figures go to `results.jsonl`.
//! `--smoke` runs everything at tiny sizes once: CI runs it so the tool keeps working.

mod blob_workloads;
mod compression_workloads;
mod counting_fs;
mod db_bench;
mod db_report;
mod engine;
mod flags;
mod ingest_workloads;
mod keys;
mod log_engine;
mod proc_stats;
mod progress;
mod report;
mod settings;
mod svg_chart;
mod table_workloads;
mod tree_dirs;
mod workloads;

use std::process::ExitCode;

use engine::EngineKind;
use flags::Flags;

fn main() -> ExitCode {
    let flags = match Flags::parse(std::env::args().skip(1)) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let result = match &flags.child {
        Some((engine, rep, out)) => db_bench::run_child(&flags, engine, *rep, out),
        None => run(&flags),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lsm-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: &Flags) -> Result<(), String> {
    let engines = if flags.peers {
        if !cfg!(feature = "peers") {
            return Err(
                "--peers needs a build with the peers feature (cargo xtask bench --peers)"
                    .to_owned(),
            );
        }
        match &flags.engines {
            None => EngineKind::available(),
            Some(names) => names
                .iter()
                .map(|name| EngineKind::parse(name).ok_or_else(|| format!("unknown engine {name}")))
                .collect::<Result<Vec<_>, _>>()?,
        }
    } else {
        vec![EngineKind::Ours]
    };
    if !flags.workloads.is_empty() {
        run_db_bench(flags, &engines)?;
    }
    if !flags.groups.is_empty() {
        run_layers(flags)?;
    }
    Ok(())
}

fn run_db_bench(flags: &Flags, engines: &[EngineKind]) -> Result<(), String> {
    let settings = flags.settings();
    println!(
        "lsm-bench: db_bench workloads, --num {} --reads {} --key-size {} --value-size {}, \
         profile {}, median of {} interleaved runs",
        flags.num,
        flags.reads(),
        flags.key_bytes,
        flags.value_bytes,
        flags.profile.name(),
        flags.runs
    );
    println!("values cut from: {}", lsm_testkit::data::DataSet::current());
    println!("settings (every engine): {settings}");
    if flags
        .workloads
        .iter()
        .any(|workload| workload.ends_with("-blob"))
    {
        println!(
            "*-blob workloads, besides: {}",
            settings::blob_note(settings::BLOB_THRESHOLD_BYTES)
        );
    }
    for engine in engines {
        println!("- {}: {}", engine.name(), engine.description());
    }
    let samples = match &flags.from_samples {
        Some(path) => db_bench::sample::read_jsonl(path)?,
        None => db_bench::run_parent(flags, engines)?,
    };
    let rows = db_report::aggregate(&samples, engines);
    let data_set = db_bench::sample::data_set_of(&samples);
    println!("\ndata set: {data_set}\n{}", db_report::markdown(&rows));
    let title = format!(
        "db_bench, --num {} --profile {}, median of {} runs, {data_set} data set",
        flags.num,
        flags.profile.name(),
        flags.runs
    );
    db_report::write_files(&rows, &samples, &flags.out_dir)?;
    db_bench::sample::write_file(
        &flags.out_dir.join("db_bench.svg"),
        svg_chart::chart(&rows, engines, &title).as_bytes(),
    )?;
    println!(
        "wrote {0}/db_bench.csv, {0}/db_bench.jsonl, {0}/db_bench-samples.jsonl and {0}/db_bench.svg",
        flags.out_dir.display()
    );
    Ok(())
}

fn run_layers(flags: &Flags) -> Result<(), String> {
    println!(
        "\nlsm-bench: layer workloads ({}) on real records (median of {} runs)",
        flags.groups.join(", "),
        flags.runs
    );
    println!("records: {}", lsm_testkit::data::DataSet::current());
    let mut results = Vec::new();
    for group in &flags.groups {
        results.extend(match group.as_str() {
            "table" => table_workloads::run_all(flags.runs)?,
            "blob" => blob_workloads::run_all(flags.runs)?,
            "block" => workloads::run_all(flags.runs)?,
            "ingest" => ingest_workloads::run_all(flags.num)?,
            "compression" => compression_workloads::run_all(flags.runs)?,
            other => return Err(format!("unknown workload group {other}")),
        });
    }
    report::print_table(&results);
    report::print_chart(&results);
    let out = flags.out_dir.join("results.jsonl");
    report::write_json(&results, &out)
        .map_err(|error| format!("cannot write {}: {error}", out.display()))?;
    println!("\nwrote {}", out.display());
    Ok(())
}
