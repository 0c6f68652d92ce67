//! db_bench workloads on a tree with the default configuration, in a temporary directory
//! on the real file system: the real records written in key order and in random order
//! (the caller flushes whenever the active memtable passes 32 MiB, as an embedded user
//! drives the tree), overwritten, read back by key, missed, scanned both ways, sought,
//! deleted, read while a writer thread overwrites, and counters merged. Every fill ends with a flush, so its time includes making it durable.
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
    results.push(read_while_writing(&scratch, &records, &probes)?);
    results.push(merge_random(&probes)?);
    results.push(Measurement {
        name: "tree fillseq write-amp".to_owned(),
        bytes_per_sec: None,
        ns_per_op: None,
        ratio: Some(write_amp),
        latency_ns: None,
    });
    Ok(results)
}

/// readwhilewriting: one thread overwrites records while this one reads them at the
/// latest seqno; the figure is the reads' rate and latency with the writer running.
fn read_while_writing(
    scratch: &ScratchTree,
    records: &[(Vec<u8>, Vec<u8>)],
    probes: &[usize],
) -> Result<Measurement, String> {
    let tree = scratch.tree().clone();
    let seqno = scratch.seqno.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (tree, seqno, stop) = (tree.clone(), seqno.clone(), std::sync::Arc::clone(&stop));
        let records = records.to_vec();
        std::thread::spawn(move || {
            let mut written = 0_usize;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                let (key, value) = &records[written % records.len()];
                tree.insert(key.as_slice(), value.as_slice(), seqno.next());
                written += 1;
            }
            written
        })
    };
    let started = Instant::now();
    let latency_ns = latencies(
        probes.iter().map(|&probe| records[probe].0.as_slice()),
        |key| {
            black_box(tree.get(key, seqno.get()).expect("reads"));
        },
    );
    let time = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Release);
    let written = writer
        .join()
        .map_err(|_| "the writer panicked".to_owned())?;
    black_box(written);
    let mut measurement = per_op("tree readwhilewriting", probes.len(), None, time);
    measurement.latency_ns = latency_ns;
    Ok(measurement)
}

/// mergerandom: counter increments (8-byte little-endian operands folded by a summing
/// merge operator) on random keys, flushed, then read back folded.
fn merge_random(probes: &[usize]) -> Result<Measurement, String> {
    struct Counter;
    impl lsm::MergeOperator for Counter {
        fn merge(
            &self,
            _key: &[u8],
            base: Option<&[u8]>,
            operands: &[&[u8]],
        ) -> lsm::Result<lsm::UserValue> {
            let parse = |bytes: &[u8]| -> lsm::Result<u64> {
                bytes
                    .try_into()
                    .map(u64::from_le_bytes)
                    .map_err(|_| lsm::Error::MergeOperator)
            };
            let mut sum = base.map(parse).transpose()?.unwrap_or(0);
            for operand in operands {
                sum = sum.wrapping_add(parse(operand)?);
            }
            Ok(sum.to_le_bytes().to_vec().into())
        }
    }
    let path = std::env::temp_dir().join(format!("lsm-bench-{}-merge", std::process::id()));
    remove_all(&path);
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(&path, seqno.clone(), SequenceNumberCounter::default())
        .with_merge_operator(Some(std::sync::Arc::new(Counter)))
        .open()
        .map_err(|error| error.to_string())?;
    let started = Instant::now();
    for &probe in probes {
        tree.merge(
            format!("counter{:05}", probe % 10_000),
            1_u64.to_le_bytes(),
            seqno.next(),
        );
    }
    tree.flush_active_memtable(0)
        .map_err(|error| error.to_string())?;
    let time = started.elapsed();
    let total: u64 = tree
        .iter(seqno.get(), None)
        .map(|item| {
            let value = lsm::Guard::value(item).expect("folds");
            u64::from_le_bytes(value.as_ref().try_into().expect("8 bytes"))
        })
        .sum();
    drop(tree);
    remove_all(&path);
    if total != probes.len() as u64 {
        return Err(format!(
            "merged counters sum to {total}, not {}",
            probes.len()
        ));
    }
    Ok(per_op("tree mergerandom", probes.len(), None, time))
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
