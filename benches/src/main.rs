//! `lsm-bench`: the engine's benchmark tool (`cargo xtask bench`).
//!
//! Until the tree exists, it runs the db_bench workloads on the largest unit there is,
//! one table on the real file system (`fillseq`, `readrandom`, `readmissing`, `readseq`,
//! `readreverse`, `seekrandom` over Debian's package index), the blob files that will
//! hold separated values (fill, random reads by handle, the garbage collector's scan),
//! and the block layer's
//! workloads: building, iterating and seeking 4 KiB data blocks, and encoding and
//! decoding them with none, zstd and zstd with a trained dictionary. Each figure is the
//! median of `--runs` runs. It prints a table and a bar chart, and writes one JSON line
//! per workload to `target/bench/results.jsonl`.
//!
//! Flags: `--runs N` (default 5), `--out PATH`.

mod blob_workloads;
mod report;
mod table_workloads;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut runs = 5_usize;
    let mut out = PathBuf::from("target/bench/results.jsonl");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--runs", Some(value)) if value.parse::<usize>().is_ok_and(|n| n > 0) => {
                runs = value.parse().unwrap_or(runs);
            }
            ("--out", Some(value)) => out = PathBuf::from(value),
            _ => {
                eprintln!("usage: lsm-bench [--runs N] [--out PATH]");
                return ExitCode::FAILURE;
            }
        }
    }
    // TODO(issue 8): the db_bench workloads on a tree, beside RocksDB and fjall's lsm-tree.
    println!("lsm-bench: table, blob and block workloads on real records (median of {runs} runs)");
    let results = match table_workloads::run_all(runs).and_then(|mut results| {
        results.extend(blob_workloads::run_all(runs)?);
        results.extend(workloads::run_all(runs)?);
        Ok(results)
    }) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("lsm-bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    report::print_table(&results);
    report::print_chart(&results);
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
