//! db_bench workloads on one table, the largest unit the engine has so far: the real
//! records are written to a table in a temporary directory on the real file system, then
//! read back with a block cache, as an embedded user would.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lsm_core::{Fs, InternalEntry, SeqNo, StdFs, ValueType};
use lsm_table::{BlockCache, ReadOptions, Table, TableOptions, TableWriter};
use lsm_testkit::data::debian_records;
use lsm_testkit::rng::Rng;

use crate::workloads::Measurement;

const LOOKUPS: usize = 100_000;

/// A scratch directory removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// A fresh directory under the system's temporary directory.
    pub(crate) fn new(name: &str) -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("lsm-bench-{}-{name}", std::process::id()));
        StdFs
            .create_dir_all(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Ok(entries) = StdFs.read_dir(&self.0) {
            for entry in entries {
                let _ = StdFs.remove_file(&entry.path);
            }
        }
        let _ = StdFs.remove_dir(&self.0);
    }
}

pub(crate) fn median(runs: usize, mut body: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<_> = (0..runs).map(|_| body()).collect();
    times.sort();
    times[times.len() / 2]
}

pub(crate) fn per_op(name: &str, ops: usize, bytes: Option<u64>, time: Duration) -> Measurement {
    Measurement {
        name: name.to_owned(),
        bytes_per_sec: bytes.map(|bytes| bytes as f64 / time.as_secs_f64()),
        ns_per_op: Some(time.as_nanos() as f64 / ops as f64),
        ratio: None,
        latency_ns: None,
    }
}

/// Runs fillseq, readrandom, readmissing, readseq, readreverse and seekrandom.
pub fn run_all(runs: usize) -> Result<Vec<Measurement>, String> {
    let mut records =
        debian_records().map_err(|error| format!("cannot load the data set: {error}"))?;
    records.sort_by(|a, b| a.key.cmp(&b.key));
    records.dedup_by(|a, b| a.key == b.key);
    let entries: Vec<_> = records
        .into_iter()
        .map(|record| InternalEntry::new(record.key, record.value, 1, ValueType::Value))
        .collect();
    let raw_bytes: u64 = entries
        .iter()
        .map(|entry| (entry.key.user_key.len() + entry.value.len()) as u64)
        .sum();
    let dir = TempDir::new("table")?;

    let mut results = Vec::new();
    let mut table_idx = 0_u64;
    let mut write_table = || -> Result<(PathBuf, Duration), String> {
        table_idx += 1;
        let path = dir.0.join(format!("{table_idx}.sst"));
        let started = Instant::now();
        let mut writer = TableWriter::create(&StdFs, &path, table_idx, TableOptions::default())
            .map_err(|error| error.to_string())?;
        for entry in &entries {
            writer.add(entry).map_err(|error| error.to_string())?;
        }
        writer.finish().map_err(|error| error.to_string())?;
        Ok((path, started.elapsed()))
    };
    let mut last_path = PathBuf::new();
    let mut fill_times = Vec::new();
    for _ in 0..runs {
        let (path, time) = write_table()?;
        fill_times.push(time);
        last_path = path;
    }
    fill_times.sort();
    results.push(per_op(
        "table fillseq",
        entries.len(),
        Some(raw_bytes),
        fill_times[fill_times.len() / 2],
    ));

    let options = ReadOptions {
        block_cache: Some(Arc::new(BlockCache::with_capacity_bytes(64 << 20))),
        ..ReadOptions::default()
    };
    let file_id = table_idx;
    let table =
        Table::open(&StdFs, &last_path, file_id, &options).map_err(|error| error.to_string())?;
    let mut rng = Rng::new(42);
    let probes: Vec<usize> = (0..LOOKUPS).map(|_| rng.index(entries.len())).collect();

    let time = median(runs, || {
        let started = Instant::now();
        for &probe in &probes {
            black_box(
                table
                    .get(&entries[probe].key.user_key, SeqNo::MAX)
                    .expect("reads"),
            );
        }
        started.elapsed()
    });
    results.push(per_op("table readrandom", LOOKUPS, None, time));

    let missing: Vec<Vec<u8>> = probes
        .iter()
        .map(|&probe| [entries[probe].key.user_key.as_bytes(), b"~"].concat())
        .collect();
    let time = median(runs, || {
        let started = Instant::now();
        for key in &missing {
            black_box(table.get(key, SeqNo::MAX).expect("reads"));
        }
        started.elapsed()
    });
    results.push(per_op("table readmissing", LOOKUPS, None, time));

    let time = median(runs, || {
        let started = Instant::now();
        black_box(table.iter(SeqNo::MAX).count());
        started.elapsed()
    });
    results.push(per_op(
        "table readseq",
        entries.len(),
        Some(raw_bytes),
        time,
    ));
    let time = median(runs, || {
        let started = Instant::now();
        black_box(table.iter(SeqNo::MAX).rev().count());
        started.elapsed()
    });
    results.push(per_op(
        "table readreverse",
        entries.len(),
        Some(raw_bytes),
        time,
    ));

    let seeks = LOOKUPS / 10;
    let time = median(runs, || {
        let started = Instant::now();
        for &probe in probes.iter().take(seeks) {
            let key = &entries[probe].key.user_key;
            black_box(table.range(key.as_bytes().., SeqNo::MAX).next());
        }
        started.elapsed()
    });
    results.push(per_op("table seekrandom", seeks, None, time));
    Ok(results)
}
