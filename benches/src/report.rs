//! The table, the chart and the JSON lines.

use std::io::Write;
use std::path::Path;

use lsm_core::{Fs, OpenOptions, StdFs};

use crate::workloads::Measurement;

const CHART_WIDTH: f64 = 40.0;

/// Prints one row per workload.
pub fn print_table(results: &[Measurement]) {
    println!(
        "\n{:<30} {:>10} {:>11} {:>8} {:>9} {:>9} {:>9}",
        "workload", "MiB/s", "ns/op", "ratio", "p50 ns", "p99 ns", "p99.9 ns"
    );
    println!("{}", "-".repeat(92));
    for result in results {
        let cell = |value: Option<f64>, scale: f64, precision: usize| {
            value.map_or_else(
                || "-".to_owned(),
                |value| format!("{:.precision$}", value / scale),
            )
        };
        let latency = |idx: usize| cell(result.latency_ns.map(|latency| latency[idx]), 1.0, 0);
        println!(
            "{:<30} {:>10} {:>11} {:>8} {:>9} {:>9} {:>9}",
            result.name,
            cell(result.bytes_per_sec, 1024.0 * 1024.0, 0),
            cell(result.ns_per_op, 1.0, 1),
            cell(result.ratio, 1.0, 2),
            latency(0),
            latency(1),
            latency(2),
        );
    }
}

/// Bars of throughput, and of compression ratio.
pub fn print_chart(results: &[Measurement]) {
    let throughputs: Vec<_> = results
        .iter()
        .filter_map(|result| {
            result
                .bytes_per_sec
                .map(|value| (result.name.as_str(), value / (1024.0 * 1024.0)))
        })
        .collect();
    bars("throughput, MiB/s", &throughputs);
    let ratios: Vec<_> = results
        .iter()
        .filter_map(|result| result.ratio.map(|ratio| (result.name.as_str(), ratio)))
        .collect();
    bars("compression ratio (uncompressed / stored)", &ratios);
}

fn bars(title: &str, rows: &[(&str, f64)]) {
    let max = rows.iter().map(|(_, value)| *value).fold(0.0, f64::max);
    if max <= 0.0 {
        return;
    }
    println!("\n{title}");
    for (name, value) in rows {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a bar of 0..=40 cells"
        )]
        let cells = (value / max * CHART_WIDTH).round() as usize;
        println!("{name:<26} {:<40} {value:.1}", "#".repeat(cells.max(1)));
    }
}

/// Writes one JSON object per workload.
pub fn write_json(results: &[Measurement], path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        StdFs.create_dir_all(parent)?;
    }
    let data_set = lsm_testkit::data::DataSet::current().name();
    let mut text = Vec::new();
    for result in results {
        let line = serde_json::json!({
            "data_set": data_set,
            "workload": result.name,
            "bytes_per_sec": result.bytes_per_sec,
            "ns_per_op": result.ns_per_op,
            "ratio": result.ratio,
            "latency_ns": result.latency_ns.map(|[p50, p99, p999]| {
                serde_json::json!({ "p50": p50, "p99": p99, "p99.9": p999 })
            }),
        });
        writeln!(text, "{line}")?;
    }
    let file = StdFs.open(
        path,
        OpenOptions {
            truncate: true,
            ..OpenOptions::write()
        },
    )?;
    file.append(&text)?;
    file.sync_all()
}
