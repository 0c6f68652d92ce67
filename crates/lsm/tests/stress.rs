//! The concurrency stress test (goal G9 of the reliability spec): four readers, two
//! writers and the background flush and compaction threads (with garbage collection
//! held at the oldest snapshot a reader uses) on a real directory, for 60 seconds (times
//! the test scale; `LSM_STRESS_SECONDS` overrides). A reader reads a snapshot twice,
//! with work of the others in between: the answers must be identical, forward and
//! backward alike. A watchdog fails the test when nothing progresses for 20 seconds (a
//! deadlock), and the open file handles are counted: bounded while the test runs, and
//! back to where they started once the tree is dropped.
//!
//! Alone in its test binary, so that the file handles counted are the tree's.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lsm::background::MaintenanceOptions;
use lsm::compaction::Leveled;
use lsm::{AbstractTree, Config, Guard, SeqNo, SequenceNumberCounter};
use lsm_testkit::rng::Rng;

const READERS: usize = 4;
const WRITERS: usize = 2;
const KEYS: u64 = 4_000;
/// No progress for this long is a deadlock.
const STALL: Duration = Duration::from_secs(20);
/// The most file handles the tree may hold open beyond those at the start: the
/// descriptor cache's bound, the manifest, the lock and the tables being written.
const HANDLES_MAX: usize = lsm::config::DEFAULT_OPEN_FILES + 32;

fn seconds() -> u64 {
    std::env::var("LSM_STRESS_SECONDS")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| lsm_testkit::reliability::scaled(60))
}

/// The open file handles of this process (Linux; `None` elsewhere).
fn open_handles() -> Option<usize> {
    let fs = lsm::fs::StdFs;
    lsm::fs::Fs::read_dir(&fs, std::path::Path::new("/proc/self/fd"))
        .ok()
        .map(|entries| entries.len())
}

/// The snapshots readers hold, by reader: the GC watermark stays at the oldest.
#[derive(Default)]
struct Snapshots(Mutex<BTreeMap<usize, SeqNo>>);

impl Snapshots {
    /// Takes a snapshot at the visible seqno for `reader`. Under the lock: a watermark
    /// computed before is at most the visible seqno then, so never above this snapshot.
    fn take(&self, reader: usize, visible: &SequenceNumberCounter) -> SeqNo {
        let mut held = self.0.lock().unwrap();
        let seqno = visible.get();
        held.insert(reader, seqno);
        seqno
    }

    fn release(&self, reader: usize) {
        self.0.lock().unwrap().remove(&reader);
    }

    fn watermark(&self, visible: &SequenceNumberCounter) -> SeqNo {
        let held = self.0.lock().unwrap();
        held.values()
            .copied()
            .min()
            .unwrap_or_else(|| visible.get())
    }
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn read(tree: &lsm::AnyTree, seqno: SeqNo, from: u64, to: u64) -> (Pairs, Pairs) {
    let pairs = |iter: lsm::IterBox| -> Pairs {
        iter.map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect()
    };
    let range = key(from)..key(to);
    let forward = pairs(tree.range(range.clone(), seqno, None));
    let mut backward = pairs(Box::new(tree.range(range, seqno, None).rev()));
    backward.reverse();
    (forward, backward)
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

#[test]
fn readers_writers_and_background_work_never_disagree_deadlock_or_leak() {
    let started = Instant::now();
    let duration = Duration::from_secs(seconds());
    let dir = tempfile::tempdir().unwrap();
    let handles_at_start = open_handles();
    let seqno = SequenceNumberCounter::default();
    let visible = SequenceNumberCounter::default();
    let snapshots = Arc::new(Snapshots::default());
    let watermark = {
        let (snapshots, visible) = (Arc::clone(&snapshots), visible.clone());
        Arc::new(move || snapshots.watermark(&visible))
    };
    let tree = Config::new(dir.path(), seqno.clone(), visible.clone())
        .with_background_maintenance(Some(MaintenanceOptions {
            memtable_size_bytes: 256 << 10,
            strategy: Arc::new(
                Leveled::default()
                    .with_l0_threshold(2)
                    .with_table_target_size(256 << 10),
            ),
            gc_watermark: watermark,
            ..MaintenanceOptions::default()
        }))
        .open()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let checks = Arc::new(AtomicU64::new(0));
    // A write takes its seqno, lands, and is published under one lock (the caller's
    // contract for the visible seqno).
    let commit = Arc::new(Mutex::new(()));
    let mut threads = Vec::new();
    for writer in 0..WRITERS {
        let (tree, seqno, visible, commit, done, progress) = (
            tree.clone(),
            seqno.clone(),
            visible.clone(),
            Arc::clone(&commit),
            Arc::clone(&done),
            Arc::clone(&progress),
        );
        threads.push(thread::spawn(move || {
            let mut rng = Rng::new(100 + writer as u64);
            while !done.load(Ordering::Acquire) {
                let _commit = commit.lock().unwrap();
                let at = seqno.next();
                let k = rng.below(KEYS);
                match rng.below(20) {
                    0 => {
                        tree.remove(key(k), at);
                    }
                    1 => {
                        tree.remove_range(key(k), key(k + rng.below(20)), at);
                    }
                    _ => {
                        tree.insert(key(k), format!("{at}-{}", "v".repeat(64)), at);
                    }
                }
                visible.fetch_max(at + 1);
                progress.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for reader in 0..READERS {
        let (tree, visible, snapshots, done, progress, checks) = (
            tree.clone(),
            visible.clone(),
            Arc::clone(&snapshots),
            Arc::clone(&done),
            Arc::clone(&progress),
            Arc::clone(&checks),
        );
        threads.push(thread::spawn(move || {
            let mut rng = Rng::new(200 + reader as u64);
            while !done.load(Ordering::Acquire) {
                let seqno = snapshots.take(reader, &visible);
                let from = rng.below(KEYS);
                let to = from + rng.below(400);
                let (first, backward) = read(&tree, seqno, from, to);
                assert_eq!(first, backward, "forward and backward disagree at {seqno}");
                for k in from..from + 20 {
                    let point = tree.get(key(k), seqno).unwrap().map(|value| value.to_vec());
                    let scanned = first
                        .iter()
                        .find(|(scanned, _)| *scanned == key(k))
                        .map(|(_, value)| value.clone());
                    if k < to {
                        assert_eq!(
                            point, scanned,
                            "a point read and a scan disagree at {seqno}"
                        );
                    }
                }
                // The others write, flush and compact meanwhile.
                thread::sleep(Duration::from_millis(rng.below(5)));
                let (again, _) = read(&tree, seqno, from, to);
                assert!(again == first, "a snapshot's answers changed at {seqno}");
                snapshots.release(reader);
                checks.fetch_add(1, Ordering::Relaxed);
                progress.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // The watchdog, and the handle count.
    let mut last_progress = (0, Instant::now());
    let mut handles_peak = 0;
    while started.elapsed() < duration {
        thread::sleep(Duration::from_millis(200));
        assert!(
            threads.iter().all(|thread| !thread.is_finished()),
            "a thread stopped early (it panicked)"
        );
        let now = progress.load(Ordering::Relaxed);
        if now != last_progress.0 {
            last_progress = (now, Instant::now());
        }
        assert!(
            last_progress.1.elapsed() < STALL,
            "no progress for {STALL:?}: a deadlock"
        );
        if let (Some(start), Some(handles)) = (handles_at_start, open_handles()) {
            handles_peak = handles_peak.max(handles.saturating_sub(start));
            assert!(
                handles_peak <= HANDLES_MAX,
                "{handles_peak} file handles open beyond the start"
            );
        }
    }
    done.store(true, Ordering::Release);
    for thread in threads {
        thread.join().unwrap();
    }
    let checks = checks.load(Ordering::Relaxed);
    let writes = progress.load(Ordering::Relaxed) - checks;
    println!(
        "{:.0?}: {writes} writes, {checks} snapshot checks, {} tables, at most {handles_peak} file handles open",
        started.elapsed(),
        tree.table_count()
    );
    assert!(checks > 0 && writes > 0);
    drop(tree);
    if let (Some(start), Some(end)) = (handles_at_start, open_handles()) {
        assert!(end <= start, "{} file handles left open", end - start);
    }
    lsm_testkit::reliability::record(
        "G9",
        "stress: 4 readers, 2 writers, background flushes and compactions with GC",
        checks,
        "snapshot checks",
        started,
    );
}
