//! `lsm-bench`: the engine's benchmark tool (`cargo xtask bench`).
//!
//! Today it measures the block layer, the only layer that exists so far: building,
//! iterating and seeking 4 KiB data blocks, and encoding and decoding them with none,
//! zstd and zstd with a trained dictionary, all on real records (Debian's package index
//! cut to rows of a few hundred bytes). Each figure is the median of `--runs` runs. It
//! prints a table and a bar chart, and writes one JSON line per workload to
//! `target/bench/blocks.jsonl`.
//!
//! Flags: `--runs N` (default 5), `--out PATH`.

mod report;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut runs = 5_usize;
    let mut out = PathBuf::from("target/bench/blocks.jsonl");
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
    println!("lsm-bench: block-layer workloads on real records (median of {runs} runs)");
    let results = match workloads::run_all(runs) {
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
