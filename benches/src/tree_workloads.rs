//! db_bench workloads on a tree with the default configuration, in a temporary directory
//! on the real file system: the real records written in key order and in random order
//! (the caller flushes whenever the active memtable passes 32 MiB, as an embedded user
//! drives the tree), overwritten, read back by key, missed, scanned both ways, sought,
//! and deleted. Every fill ends with a flush, so its time includes making it durable.
//! Write amplification is the bytes of table files written over the user bytes.
//!
//! There is no compaction yet, so each flush adds a level-0 run that point reads visit.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsm::{AbstractTree, AnyTree, Config, SequenceNumberCounter};
use lsm_core::{Fs, StdFs};
use lsm_testkit::data::debian_records;
use lsm_testkit::rng::Rng;

use crate::table_workloads::{median, per_op};
use crate::workloads::{Measurement, percentiles};

const LOOKUPS: usize = 100_000;
const MEMTABLE_BYTES: u64 = 32 << 20;

/// A tree in a fresh temporary directory, removed on drop.
struct ScratchTree {
    path: PathBuf,
    tree: Option<AnyTree>,
    seqno: SequenceNumberCounter,
}

impl ScratchTree {
    fn new(name: &str) -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("lsm-bench-{}-{name}", std::process::id()));
        remove_all(&path);
        let seqno = SequenceNumberCounter::default();
        let tree = Config::new(&path, seqno.clone(), SequenceNumberCounter::default())
            .open()
            .map_err(|error| error.to_string())?;
        Ok(Self {
            path,
            tree: Some(tree),
            seqno,
        })
    }

    fn tree(&self) -> &AnyTree {
        self.tree.as_ref().expect("open until dropped")
    }

    /// Writes `records` in order, flushing full memtables and once at the end.
    fn fill<'a>(
        &self,
        records: impl Iterator<Item = &'a (Vec<u8>, Vec<u8>)>,
    ) -> Result<(), String> {
        let tree = self.tree();
        for (key, value) in records {
            let (_, memtable_bytes) =
                tree.insert(key.as_slice(), value.as_slice(), self.seqno.next());
            if memtable_bytes >= MEMTABLE_BYTES {
                tree.flush_active_memtable(0)
                    .map_err(|error| error.to_string())?;
            }
        }
        tree.flush_active_memtable(0)
            .map_err(|error| error.to_string())
    }
}

impl Drop for ScratchTree {
    fn drop(&mut self) {
        self.tree = None;
        remove_all(&self.path);
    }
}

/// Removes a directory tree (best effort).
pub(crate) fn remove_all(path: &Path) {
    if let Ok(entries) = StdFs.read_dir(path) {
        for entry in entries {
            if entry.is_dir {
                remove_all(&entry.path);
            } else {
                let _ = StdFs.remove_file(&entry.path);
            }
        }
    }
    let _ = StdFs.remove_dir(path);
}

/// Runs the tree workloads (over the first `record_cap` records when given).
pub fn run_all(runs: usize, record_cap: Option<usize>) -> Result<Vec<Measurement>, String> {
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = debian_records()
        .map_err(|error| format!("cannot load the data set: {error}"))?
        .into_iter()
        .map(|record| (record.key, record.value))
        .collect();
    records.sort();
    records.dedup_by(|a, b| a.0 == b.0);
    if let Some(cap) = record_cap {
        records.truncate(cap);
    }
    let user_bytes: u64 = records
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    let mut rng = Rng::new(42);
    let mut shuffled = records.clone();
    for idx in (1..shuffled.len()).rev() {
        shuffled.swap(idx, rng.index(idx + 1));
    }
    let mut results = Vec::new();

    let mut write_amp = 0.0;
    let time = median(runs, || {
        let scratch = ScratchTree::new("fillseq").expect("a scratch tree opens");
        let started = Instant::now();
        scratch.fill(records.iter()).expect("fills");
        let time = started.elapsed();
        write_amp = scratch.tree().disk_space() as f64 / user_bytes as f64;
        time
    });
    results.push(per_op(
        "tree fillseq",
        records.len(),
        Some(user_bytes),
        time,
    ));
    let fill_random = |scratch: &ScratchTree| {
        let started = Instant::now();
        scratch.fill(shuffled.iter()).expect("fills");
        started.elapsed()
    };
    let time = median(runs, || {
        fill_random(&ScratchTree::new("fillrandom").expect("a scratch tree opens"))
    });
    results.push(per_op(
        "tree fillrandom",
        records.len(),
        Some(user_bytes),
        time,
    ));

    // One tree for the rest: filled at random, then overwritten.
    let scratch = ScratchTree::new("reads")?;
    fill_random(&scratch);
    let time = median(runs.min(3), || fill_random(&scratch));
    results.push(per_op(
        "tree overwrite",
        records.len(),
        Some(user_bytes),
        time,
    ));
    let tree = scratch.tree();
    let read_seqno = scratch.seqno.get();
    let probes: Vec<usize> = (0..LOOKUPS).map(|_| rng.index(records.len())).collect();
    let time = timed(runs, || {
        for &probe in &probes {
            black_box(tree.get(&records[probe].0, read_seqno).expect("reads"));
        }
    });
    let mut measurement = per_op("tree readrandom", LOOKUPS, None, time);
    measurement.latency_ns = latencies(
        probes.iter().map(|&probe| records[probe].0.as_slice()),
        |key| {
            black_box(tree.get(key, read_seqno).expect("reads"));
        },
    );
    results.push(measurement);
    let missing: Vec<Vec<u8>> = probes
        .iter()
        .map(|&probe| [records[probe].0.as_slice(), b"~"].concat())
        .collect();
    let time = timed(runs, || {
        for key in &missing {
            black_box(tree.get(key, read_seqno).expect("reads"));
        }
    });
    let mut measurement = per_op("tree readmissing", LOOKUPS, None, time);
    measurement.latency_ns = latencies(missing.iter().map(Vec::as_slice), |key| {
        black_box(tree.get(key, read_seqno).expect("reads"));
    });
    results.push(measurement);
    let time = timed(runs, || {
        black_box(tree.iter(read_seqno, None).count());
    });
    results.push(per_op(
        "tree readseq",
        records.len(),
        Some(user_bytes),
        time,
    ));
    let time = timed(runs, || {
        black_box(tree.iter(read_seqno, None).rev().count());
    });
    results.push(per_op(
        "tree readreverse",
        records.len(),
        Some(user_bytes),
        time,
    ));
    let seeks = LOOKUPS / 10;
    let time = timed(runs, || {
        for &probe in probes.iter().take(seeks) {
            black_box(
                tree.range(records[probe].0.as_slice().., read_seqno, None)
                    .take(10)
                    .count(),
            );
        }
    });
    let mut measurement = per_op("tree seekrandom", seeks, None, time);
    measurement.latency_ns = latencies(
        probes
            .iter()
            .take(seeks)
            .map(|&probe| records[probe].0.as_slice()),
        |key| {
            black_box(tree.range(key.., read_seqno, None).take(10).count());
        },
    );
    results.push(measurement);
    let deletes = records.len() / 10;
    let time = timed(1, || {
        for &probe in probes.iter().take(deletes) {
            tree.remove(records[probe].0.as_slice(), scratch.seqno.next());
        }
        tree.flush_active_memtable(0).expect("flushes");
    });
    results.push(per_op("tree deleterandom", deletes, None, time));
    results.push(Measurement {
        name: "tree fillseq write-amp".to_owned(),
        bytes_per_sec: None,
        ns_per_op: None,
        ratio: Some(write_amp),
        latency_ns: None,
    });
    Ok(results)
}

/// The latency percentiles of `operation` over `keys`, each timed alone.
fn latencies<'a>(
    keys: impl Iterator<Item = &'a [u8]>,
    mut operation: impl FnMut(&[u8]),
) -> Option<[f64; 3]> {
    let samples = keys
        .map(|key| {
            let started = Instant::now();
            operation(key);
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
        })
        .collect();
    percentiles(samples)
}

fn timed(runs: usize, mut body: impl FnMut()) -> Duration {
    median(runs, || {
        let started = Instant::now();
        body();
        started.elapsed()
    })
}
