//! The db_bench results: medians over repetitions per workload and engine, ratios to
//! our engine computed repetition by repetition (pairs from the same interleaved round),
//! and their outputs: a markdown table on stdout, CSV and JSON lines, and an SVG chart
//! of each engine's ops/s as a ratio to ours.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use crate::db_bench::Sample;
use crate::db_bench::sample::write_file;
use crate::db_bench::sections::all as workloads;
use crate::engine::EngineKind;

/// One workload on one engine, over every repetition.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// The workload.
    pub workload: String,
    /// The engine.
    pub engine: String,
    /// Repetitions that ran.
    pub reps: usize,
    /// Median ops/s.
    pub ops_per_sec: Option<f64>,
    /// Median of our ops/s over this engine's, pair by pair (1 for ours).
    pub ours_over_engine: Option<f64>,
    /// Median latency percentiles (p50, p99, p99.9), nanoseconds.
    pub latency_ns: Option<[f64; 3]>,
    /// Median write amplification.
    pub write_amp: Option<f64>,
    /// Median space amplification.
    pub space_amp: Option<f64>,
    /// Median peak RSS.
    pub peak_rss_bytes: Option<f64>,
    /// Median block cache hit rate.
    pub cache_hit_rate: Option<f64>,
    /// Median filter bits per key.
    pub filter_bits_per_key: Option<f64>,
    /// Median filter false-positive rate.
    pub filter_fpr: Option<f64>,
    /// Median table blocks read from files per operation.
    pub block_reads_per_op: Option<f64>,
    /// Median milliseconds of write stalls and slowdowns.
    pub stall_ms: Option<f64>,
    /// Why the engine skipped the workload, when it ran in no repetition.
    pub skipped: Option<String>,
    /// Repetitions that did not run it (failed), when others did.
    pub failed_reps: usize,
}

/// The median of `values`, if any.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        f64::midpoint(values[mid - 1], values[mid])
    } else {
        values[mid]
    })
}

/// Rows in workload order, engines in `engines` order.
pub fn aggregate(samples: &[Sample], engines: &[EngineKind]) -> Vec<Row> {
    let ours = EngineKind::Ours.name();
    let mut rows = Vec::new();
    for workload in workloads() {
        for engine in engines {
            let runs: Vec<&Sample> = samples
                .iter()
                .filter(|sample| sample.workload == workload && sample.engine == engine.name())
                .collect();
            if runs.is_empty() {
                continue;
            }
            let of = |field: fn(&Sample) -> Option<f64>| {
                median(runs.iter().filter_map(|s| field(s)).collect())
            };
            let ratios = runs
                .iter()
                .filter_map(|sample| {
                    let theirs = sample.ops_per_sec()?;
                    let our_sample = samples.iter().find(|other| {
                        other.workload == sample.workload
                            && other.engine == ours
                            && other.rep == sample.rep
                    })?;
                    Some(our_sample.ops_per_sec()? / theirs)
                })
                .collect();
            let latency = (0..3)
                .map(|idx| {
                    median(
                        runs.iter()
                            .filter_map(|s| s.latency_ns.map(|l| l[idx]))
                            .collect(),
                    )
                })
                .collect::<Option<Vec<f64>>>()
                .map(|values| [values[0], values[1], values[2]]);
            rows.push(Row {
                workload: workload.to_owned(),
                engine: engine.name().to_owned(),
                reps: runs.len(),
                ops_per_sec: of(Sample::ops_per_sec),
                ours_over_engine: median(ratios),
                latency_ns: latency,
                write_amp: of(|s| s.write_amp),
                space_amp: of(|s| s.space_amp),
                peak_rss_bytes: of(|s| s.peak_rss_bytes.map(|bytes| bytes as f64)),
                cache_hit_rate: of(|s| s.cache_hit_rate),
                filter_bits_per_key: of(|s| s.filter_bits_per_key),
                filter_fpr: of(|s| s.filter_fpr),
                block_reads_per_op: of(|s| s.block_reads_per_op),
                stall_ms: of(|s| s.stall_ms),
                skipped: runs
                    .iter()
                    .all(|s| s.skipped.is_some())
                    .then(|| runs.iter().find_map(|s| s.skipped.clone()))
                    .flatten(),
                failed_reps: runs.iter().filter(|s| s.skipped.is_some()).count(),
            });
        }
    }
    rows
}

fn cell(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), format)
}

const HEADER: [&str; 15] = [
    "workload",
    "engine",
    "ops/s",
    "lsm x",
    "p50 us",
    "p99 us",
    "p99.9 us",
    "write amp",
    "space amp",
    "peak RSS MiB",
    "cache hit",
    "filter bits/key",
    "filter FPR",
    "block reads/op",
    "stall ms",
];

fn cells(row: &Row) -> [String; 15] {
    let micros = |idx: usize| {
        cell(row.latency_ns.map(|l| l[idx]), |ns| {
            format!("{:.2}", ns / 1000.0)
        })
    };
    let ops = match &row.skipped {
        Some(why) => format!("n/a ({why})"),
        None if row.failed_reps > 0 => cell(row.ops_per_sec, |ops| {
            format!("{ops:.0} ({} of {} runs failed)", row.failed_reps, row.reps)
        }),
        None => cell(row.ops_per_sec, |ops| format!("{ops:.0}")),
    };
    [
        row.workload.clone(),
        row.engine.clone(),
        ops,
        cell(row.ours_over_engine, |ratio| format!("{ratio:.2}")),
        micros(0),
        micros(1),
        micros(2),
        cell(row.write_amp, |amp| format!("{amp:.2}")),
        cell(row.space_amp, |amp| format!("{amp:.2}")),
        cell(row.peak_rss_bytes, |bytes| {
            format!("{:.0}", bytes / f64::from(1 << 20))
        }),
        cell(row.cache_hit_rate, |rate| format!("{:.1}%", rate * 100.0)),
        cell(row.filter_bits_per_key, |bits| format!("{bits:.2}")),
        cell(row.filter_fpr, |rate| format!("{:.3}%", rate * 100.0)),
        cell(row.block_reads_per_op, |reads| format!("{reads:.3}")),
        cell(row.stall_ms, |ms| format!("{ms:.0}")),
    ]
}

/// The markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "| {} |", HEADER.join(" | "));
    let _ = writeln!(text, "|{}", "---|".repeat(HEADER.len()));
    for row in rows {
        let _ = writeln!(text, "| {} |", cells(row).join(" | "));
    }
    text
}

/// Writes `db_bench.csv` and `db_bench.jsonl` (one line per row, plus every sample in
/// `db_bench-samples.jsonl`) into `dir`.
///
/// # Errors
/// When a file cannot be written.
pub fn write_files(rows: &[Row], samples: &[Sample], dir: &Path) -> Result<(), String> {
    let data_set = crate::db_bench::sample::data_set_of(samples);
    let mut csv = HEADER.join(",");
    csv.push('\n');
    for row in rows {
        let fields: Vec<String> = cells(row)
            .iter()
            .map(|field| field.replace(',', ";"))
            .collect();
        let _ = writeln!(csv, "{}", fields.join(","));
    }
    write_file(&dir.join("db_bench.csv"), csv.as_bytes())?;
    let mut jsonl = String::new();
    for row in rows {
        let line = json!({
            "workload": row.workload,
            "engine": row.engine,
            "reps": row.reps,
            "ops_per_sec": row.ops_per_sec,
            "lsm_over_engine": row.ours_over_engine,
            "latency_ns": row.latency_ns.map(|[p50, p99, p999]| json!({"p50": p50, "p99": p99, "p99.9": p999})),
            "write_amp": row.write_amp,
            "space_amp": row.space_amp,
            "peak_rss_bytes": row.peak_rss_bytes,
            "cache_hit_rate": row.cache_hit_rate,
            "filter_bits_per_key": row.filter_bits_per_key,
            "filter_fpr": row.filter_fpr,
            "block_reads_per_op": row.block_reads_per_op,
            "stall_ms": row.stall_ms,
            "skipped": row.skipped,
            "failed_reps": row.failed_reps,
            "data_set": data_set,
        });
        let _ = writeln!(jsonl, "{line}");
    }
    write_file(&dir.join("db_bench.jsonl"), jsonl.as_bytes())?;
    crate::db_bench::sample::write_jsonl(samples, &dir.join("db_bench-samples.jsonl"))
}
