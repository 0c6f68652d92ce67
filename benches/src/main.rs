//! `lsm-bench`: the engine's benchmark tool (`cargo xtask bench`).
//!
//! It runs the db_bench workloads on a tree with the default configuration in a
//! temporary directory (`fillseq`, `fillrandom`, `overwrite`, `readrandom`,
//! `readmissing`, `readseq`, `readreverse`, `seekrandom`, `deleterandom` over Debian's
//! package index), then the layers on their own: one table, the blob files that will
//! hold separated values (fill, random reads by handle, the garbage collector's scan),
//! and the block layer's workloads: building, iterating and seeking 4 KiB data blocks,
//! and encoding and decoding them with none, zstd and zstd with a trained dictionary. Each figure is the
//! median of `--runs` runs. It prints a table and a bar chart, and writes one JSON line
//! per workload to `target/bench/results.jsonl`.
//!
//! Flags: `--runs N` (default 5), `--out PATH`, `--workloads GROUPS` (a comma-separated
//! subset of `tree,table,blob,block,ingest,rangedelete`; `ingest` and `rangedelete` are
//! not in the default set: `ingest` loads `--num` keys, default 1,000,000, with
//! background maintenance, leveled and tiered, and reports write and space
//! amplification; `rangedelete` deletes `--num` keys by one range tombstone and by point
//! tombstones, and scans the deleted range after each). `--smoke` runs the tree,
//! range-delete and ingest workloads once at small sizes: CI runs it so that the tool
//! keeps working.

mod blob_workloads;
mod counting_fs;
mod ingest_workloads;
mod range_delete_workloads;
mod report;
mod table_workloads;
mod tree_workloads;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut runs = 5_usize;
    let mut num = 1_000_000_u64;
    let mut out = PathBuf::from("target/bench/results.jsonl");
    let mut groups = vec![
        "tree".to_owned(),
        "table".to_owned(),
        "blob".to_owned(),
        "block".to_owned(),
    ];
    let mut args = std::env::args().skip(1);
    let mut record_cap = None;
    while let Some(arg) = args.next() {
        if arg == "--smoke" {
            // A pass over the main paths in seconds, for CI: small sizes, one run each.
            runs = 1;
            num = 2_000;
            record_cap = Some(2_000);
            groups = vec![
                "tree".to_owned(),
                "rangedelete".to_owned(),
                "ingest".to_owned(),
            ];
            continue;
        }
        let value = args.next();
        match (arg.as_str(), value) {
            ("--runs", Some(value)) if value.parse::<usize>().is_ok_and(|n| n > 0) => {
                runs = value.parse().unwrap_or(runs);
            }
            ("--out", Some(value)) => out = PathBuf::from(value),
            ("--num", Some(value)) if value.parse::<u64>().is_ok_and(|n| n > 0) => {
                num = value.parse().unwrap_or(num);
            }
            ("--workloads", Some(value)) => {
                groups = value.split(',').map(str::to_owned).collect();
            }
            _ => {
                eprintln!(
                    "usage: lsm-bench [--runs N] [--num N] [--out PATH] [--workloads tree,table,blob,block,ingest,rangedelete] [--smoke]"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    // TODO(issue 8): RocksDB and fjall's lsm-tree in the same run, the remaining
    // workloads and flags, latency percentiles, an SVG chart.
    println!(
        "lsm-bench: {} workloads on real records (median of {runs} runs)",
        groups.join(", ")
    );
    let run_group = |group: &str| match group {
        "tree" => tree_workloads::run_all(runs, record_cap),
        "table" => table_workloads::run_all(runs),
        "blob" => blob_workloads::run_all(runs),
        "block" => workloads::run_all(runs),
        "ingest" => ingest_workloads::run_all(num),
        "rangedelete" => range_delete_workloads::run_all(num),
        other => Err(format!("unknown workload group {other}")),
    };
    let mut results = Vec::new();
    for group in &groups {
        match run_group(group) {
            Ok(group_results) => results.extend(group_results),
            Err(error) => {
                eprintln!("lsm-bench: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    report::print_table(&results);
    report::print_chart(&results);
    if let Some(peak) = report::peak_rss_bytes() {
        println!("\npeak RSS: {:.0} MiB", peak as f64 / (1024.0 * 1024.0));
    }
    match report::write_json(&results, &out) {
        Ok(()) => {
            println!("\nwrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("lsm-bench: cannot write {}: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}
