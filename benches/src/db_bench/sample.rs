//! One workload's figures on one engine in one repetition ([`Sample`]), the meter that
//! takes them ([`Meter`]), and their JSON lines (how a child hands them to the parent).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use lsm_core::{Fs, OpenOptions, StdFs};
use serde_json::{Value, json};

use super::Ctx;
use crate::engine::{CacheCounters, Engine, FilterProbes, WorkCounters};
use crate::proc_stats;
use crate::tree_dirs::dir_bytes;
use crate::workloads::percentiles;

/// One workload's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// The workload.
    pub workload: String,
    /// The engine.
    pub engine: String,
    /// The repetition (from 0).
    pub rep: usize,
    /// Operations done.
    pub ops: u64,
    /// Seconds they took.
    pub seconds: f64,
    /// Key and value bytes they wrote or read.
    pub user_bytes: u64,
    /// p50, p99 and p99.9 per-operation latency in nanoseconds.
    pub latency_ns: Option<[f64; 3]>,
    /// Bytes written to storage over `user_bytes`, until background work settled.
    pub write_amp: Option<f64>,
    /// Bytes on disk over live user bytes after a full compaction.
    pub space_amp: Option<f64>,
    /// Peak resident set during the workload.
    pub peak_rss_bytes: Option<u64>,
    /// Block cache hits over lookups during the workload.
    pub cache_hit_rate: Option<f64>,
    /// Filter bits per key in the database.
    pub filter_bits_per_key: Option<f64>,
    /// False positives over filter probes for absent keys during the workload.
    pub filter_fpr: Option<f64>,
    /// Table blocks read from files (not the cache) per operation.
    pub block_reads_per_op: Option<f64>,
    /// Milliseconds writers spent stalled or slowed down during the workload.
    pub stall_ms: Option<f64>,
    /// Why the engine did not run the workload.
    pub skipped: Option<String>,
    /// The set of records the values were cut from (`"full"` or `"subset"`).
    pub data_set: String,
}

impl Sample {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> Option<f64> {
        (self.skipped.is_none() && self.seconds > 0.0).then(|| self.ops as f64 / self.seconds)
    }

    /// A workload this engine cannot run.
    pub fn skipped(ctx: &Ctx<'_>, workload: &str, why: &str) -> Self {
        Self {
            workload: workload.to_owned(),
            engine: ctx.engine.to_owned(),
            rep: ctx.rep,
            skipped: Some(why.to_owned()),
            data_set: data_set_name(),
            ..Self::default()
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "workload": self.workload,
            "engine": self.engine,
            "rep": self.rep,
            "ops": self.ops,
            "seconds": self.seconds,
            "ops_per_sec": self.ops_per_sec(),
            "user_bytes": self.user_bytes,
            "latency_ns": self.latency_ns.map(|[p50, p99, p999]| json!({"p50": p50, "p99": p99, "p99.9": p999})),
            "write_amp": self.write_amp,
            "space_amp": self.space_amp,
            "peak_rss_bytes": self.peak_rss_bytes,
            "cache_hit_rate": self.cache_hit_rate,
            "filter_bits_per_key": self.filter_bits_per_key,
            "filter_fpr": self.filter_fpr,
            "block_reads_per_op": self.block_reads_per_op,
            "stall_ms": self.stall_ms,
            "skipped": self.skipped,
            "data_set": self.data_set,
        })
    }

    fn from_json(value: &Value) -> Option<Self> {
        let float = |name: &str| value.get(name).and_then(Value::as_f64);
        let latency = value.get("latency_ns").and_then(|latency| {
            let at = |name: &str| latency.get(name).and_then(Value::as_f64);
            Some([at("p50")?, at("p99")?, at("p99.9")?])
        });
        Some(Self {
            workload: value.get("workload")?.as_str()?.to_owned(),
            engine: value.get("engine")?.as_str()?.to_owned(),
            rep: usize::try_from(value.get("rep")?.as_u64()?).ok()?,
            ops: value.get("ops")?.as_u64()?,
            seconds: float("seconds")?,
            user_bytes: value.get("user_bytes")?.as_u64()?,
            latency_ns: latency,
            write_amp: float("write_amp"),
            space_amp: float("space_amp"),
            peak_rss_bytes: value.get("peak_rss_bytes").and_then(Value::as_u64),
            cache_hit_rate: float("cache_hit_rate"),
            filter_bits_per_key: float("filter_bits_per_key"),
            filter_fpr: float("filter_fpr"),
            block_reads_per_op: float("block_reads_per_op"),
            stall_ms: float("stall_ms"),
            skipped: value
                .get("skipped")
                .and_then(Value::as_str)
                .map(str::to_owned),
            // Samples written before the subset shipped all came from the full set.
            data_set: value
                .get("data_set")
                .and_then(Value::as_str)
                .unwrap_or("full")
                .to_owned(),
        })
    }
}

/// Takes a workload's figures: started before its first operation.
pub struct Meter {
    started: Instant,
    written: Option<u64>,
    cache: Option<CacheCounters>,
    probes: Option<FilterProbes>,
    work: Option<WorkCounters>,
    latencies: Vec<u64>,
}

impl Meter {
    /// Starts measuring (and resets the peak resident set).
    pub fn start(engine: &dyn Engine) -> Self {
        let mut meter = Self::start_bare();
        meter.cache = engine.cache_counters();
        meter.probes = engine.filter_probes();
        meter.work = engine.work_counters();
        meter
    }

    /// Starts measuring a workload with no engine counters to take.
    pub fn start_bare() -> Self {
        proc_stats::reset_peak_rss();
        Self {
            written: proc_stats::written_bytes(),
            cache: None,
            probes: None,
            work: None,
            latencies: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Times one operation for the latency percentiles.
    #[inline]
    pub fn time<T>(&mut self, operation: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = operation();
        self.latencies
            .push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
        result
    }

    /// Adds latencies timed elsewhere (on other threads).
    pub fn add_latencies(&mut self, latencies: Vec<u64>) {
        self.latencies.extend(latencies);
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The sample of `ops` operations moving `user_bytes` in `elapsed`.
    pub fn finish(
        self,
        ctx: &Ctx<'_>,
        engine: &dyn Engine,
        workload: &str,
        ops: u64,
        user_bytes: u64,
        elapsed: Duration,
    ) -> Sample {
        let cache_hit_rate = match (self.cache, engine.cache_counters()) {
            (Some(before), Some(after)) => {
                let hits = after.hits.saturating_sub(before.hits);
                let lookups = hits + after.misses.saturating_sub(before.misses);
                (lookups > 0).then(|| hits as f64 / lookups as f64)
            }
            _ => None,
        };
        let filter_fpr = match (self.probes, engine.filter_probes()) {
            (Some(before), Some(after)) => {
                let rejected = after.rejected.saturating_sub(before.rejected);
                let false_positives = after.false_positives.saturating_sub(before.false_positives);
                let probes = rejected + false_positives;
                (probes > 0).then(|| false_positives as f64 / probes as f64)
            }
            _ => None,
        };
        let (block_reads_per_op, stall_ms) = match (self.work, engine.work_counters()) {
            (Some(before), Some(after)) => {
                let reads = after.block_reads.saturating_sub(before.block_reads);
                let stalled = after.stall_nanos.saturating_sub(before.stall_nanos);
                (
                    (ops > 0).then(|| reads as f64 / ops as f64),
                    Some(stalled as f64 / 1e6),
                )
            }
            _ => (None, None),
        };
        Sample {
            cache_hit_rate,
            filter_fpr,
            block_reads_per_op,
            stall_ms,
            ..self.finish_bare(ctx, workload, ops, user_bytes, elapsed)
        }
    }

    /// [`Self::finish`] without engine counters.
    pub fn finish_bare(
        self,
        ctx: &Ctx<'_>,
        workload: &str,
        ops: u64,
        user_bytes: u64,
        elapsed: Duration,
    ) -> Sample {
        Sample {
            workload: workload.to_owned(),
            engine: ctx.engine.to_owned(),
            rep: ctx.rep,
            ops,
            seconds: elapsed.as_secs_f64(),
            user_bytes,
            latency_ns: percentiles(self.latencies),
            peak_rss_bytes: proc_stats::peak_rss_bytes(),
            data_set: data_set_name(),
            ..Sample::default()
        }
    }

    /// Bytes written to storage since the start, over `user_bytes`.
    pub fn write_amp(&self, user_bytes: u64) -> Option<f64> {
        let now = proc_stats::written_bytes()?;
        let before = self.written?;
        (user_bytes > 0).then(|| now.saturating_sub(before) as f64 / user_bytes as f64)
    }
}

/// Fully compacts `engine` and divides the bytes below `path` by `live_keys` entries of
/// `entry_bytes`.
///
/// # Errors
/// When the compaction fails or the directory cannot be measured.
pub fn space_amp(
    engine: &dyn Engine,
    path: &Path,
    live_keys: u64,
    entry_bytes: usize,
) -> Result<f64, String> {
    engine.major_compact()?;
    let bytes =
        dir_bytes(path).map_err(|error| format!("cannot measure {}: {error}", path.display()))?;
    Ok(bytes as f64 / (live_keys * entry_bytes as u64) as f64)
}

/// Writes `samples` as JSON lines to `path`.
///
/// # Errors
/// When the file cannot be written.
pub fn write_jsonl(samples: &[Sample], path: &Path) -> Result<(), String> {
    let mut text = Vec::new();
    for sample in samples {
        let _ = writeln!(text, "{}", sample.to_json());
    }
    write_file(path, &text)
}

/// The name of the set of records this process cuts its values from.
pub fn data_set_name() -> String {
    lsm_testkit::data::DataSet::current().name().to_owned()
}

/// What `samples` were measured on: the one set they share, or `"mixed"`.
pub fn data_set_of(samples: &[Sample]) -> String {
    let mut names = samples.iter().map(|sample| sample.data_set.as_str());
    let first = names.next().unwrap_or("none");
    if names.all(|name| name == first) {
        first.to_owned()
    } else {
        "mixed".to_owned()
    }
}

/// Writes `bytes` to a new or truncated file at `path`, creating its directory.
///
/// # Errors
/// When the directory or file cannot be written.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let fail = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        StdFs.create_dir_all(parent).map_err(fail)?;
    }
    let file = StdFs
        .open(
            path,
            OpenOptions {
                truncate: true,
                ..OpenOptions::write()
            },
        )
        .map_err(fail)?;
    file.append(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// Reads the samples a child wrote to `path`.
///
/// # Errors
/// When the file cannot be read or a line is not a sample.
pub fn read_jsonl(path: &Path) -> Result<Vec<Sample>, String> {
    let bytes = lsm_core::fs::read_all(&StdFs, path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .ok()
                .as_ref()
                .and_then(Sample::from_json)
                .ok_or_else(|| format!("{}: not a sample: {line}", path.display()))
        })
        .collect()
}
