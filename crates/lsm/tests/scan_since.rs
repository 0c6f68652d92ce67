//! `scan_since_seqno` through the facade against a log of every change: seeded workloads
//! of inserts, merges, deletes, weak deletes, range deletes and batches, with flushes and
//! compactions that collapse nothing (watermark 0) at random points, on a standard and a
//! separated tree; every target gives exactly the logged changes at or after it, in
//! seqno order, from memtables, tables of every level and blob files. A GC watermark
//! raises the floor of exact replay, and a scan from the floor stays exact.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::compaction::Leveled;
use lsm::{
    AbstractTree, AnyTree, Config, KvSeparationOptions, ScanSinceEvent, SeqNo,
    SequenceNumberCounter, WriteBatch,
};
use lsm_testkit::rng::Rng;

#[path = "support/common.rs"]
mod common;
use common::Concat;

fn open(dir: &std::path::Path, separated: bool) -> AnyTree {
    Config::new(
        dir,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_kv_separation(separated.then(|| KvSeparationOptions::default().separation_threshold(16)))
    .with_merge_operator(Some(Arc::new(Concat)))
    .open()
    .unwrap()
}

fn key(idx: u64) -> String {
    format!("key-{idx:03}")
}

/// The order events come in: seqno, point changes before range deletes, key.
fn sort(events: &mut [ScanSinceEvent]) {
    let rank = |event: &ScanSinceEvent| match event {
        ScanSinceEvent::RangeTombstone { start_key, .. } => (1, start_key.to_vec()),
        ScanSinceEvent::Insert { key, .. }
        | ScanSinceEvent::MergeOperand { key, .. }
        | ScanSinceEvent::PointTombstone { key, .. } => (0, key.to_vec()),
    };
    events.sort_by_key(|event| (event.seqno(), rank(event)));
}

/// Runs a seeded workload and returns the log of its changes.
fn workload(tree: &AnyTree, seed: u64) -> Vec<ScanSinceEvent> {
    let mut rng = Rng::new(seed);
    let mut log = Vec::new();
    let mut seqno: SeqNo = 0;
    for _ in 0..600 {
        let k = key(rng.below(40));
        let value = format!("v{seqno}-{}", "x".repeat(rng.index(30)));
        match rng.below(100) {
            0..=44 => {
                tree.insert(k.as_str(), value.as_str(), seqno);
                log.push(ScanSinceEvent::Insert {
                    key: k.as_str().into(),
                    value: value.as_str().into(),
                    seqno,
                });
            }
            45..=54 => {
                tree.merge(k.as_str(), value.as_str(), seqno);
                log.push(ScanSinceEvent::MergeOperand {
                    key: k.as_str().into(),
                    operand: value.as_str().into(),
                    seqno,
                });
            }
            55..=64 => {
                tree.remove(k.as_str(), seqno);
                log.push(ScanSinceEvent::PointTombstone {
                    key: k.as_str().into(),
                    seqno,
                });
            }
            65..=69 => {
                tree.remove_weak(k.as_str(), seqno);
                log.push(ScanSinceEvent::PointTombstone {
                    key: k.as_str().into(),
                    seqno,
                });
            }
            70..=73 => {
                let start = rng.below(40);
                let (from, to) = (key(start), key(start + 1 + rng.below(5)));
                tree.remove_range(from.as_str(), to.as_str(), seqno);
                log.push(ScanSinceEvent::RangeTombstone {
                    start_key: from.as_str().into(),
                    end_key: to.as_str().into(),
                    seqno,
                });
            }
            74..=79 => {
                // A batch: several keys at one seqno.
                let mut batch = WriteBatch::new();
                let first = rng.below(35);
                for idx in first..first + 3 {
                    batch.insert(key(idx), value.as_str());
                    log.push(ScanSinceEvent::Insert {
                        key: key(idx).as_str().into(),
                        value: value.as_str().into(),
                        seqno,
                    });
                }
                tree.apply_batch(batch, seqno).unwrap();
            }
            80..=91 => {
                tree.flush_active_memtable(0).unwrap();
                continue;
            }
            _ => {
                let strategy = Arc::new(
                    Leveled::default()
                        .with_l0_threshold(2)
                        .with_table_target_size(1 << 10),
                );
                tree.compact(strategy, 0).unwrap();
                continue;
            }
        }
        seqno += 1;
    }
    sort(&mut log);
    log
}

#[test]
fn every_change_since_a_target_comes_back_in_seqno_order() {
    let mut scans = 0;
    for separated in [false, true] {
        for seed in 0..6 {
            let dir = tempfile::tempdir().unwrap();
            let tree = open(dir.path(), separated);
            let log = workload(&tree, seed);
            assert!(tree.table_count() > 1, "the changes live in tables too");
            let last = log.last().unwrap().seqno();
            for target in [0, 1, last / 3, last / 2, last - 5, last, last + 1] {
                let expected: Vec<_> = log
                    .iter()
                    .filter(|e| e.seqno() >= target)
                    .cloned()
                    .collect();
                let got: Vec<_> = tree.scan_since_seqno(target).unwrap().collect();
                assert_eq!(
                    got, expected,
                    "seed {seed}, separated {separated}, target {target}"
                );
                let full: Vec<_> = tree.scan_since_seqno_full_scan(target).unwrap().collect();
                assert_eq!(full, expected);
                scans += 2;
            }
            assert_eq!(tree.oldest_exact_seqno(), 0, "nothing was collapsed");
        }
    }
    assert!(scans > 100);
}

#[test]
fn a_gc_watermark_raises_the_floor_and_replay_from_it_stays_exact() {
    let dir = tempfile::tempdir().unwrap();
    let tree = open(dir.path(), false);
    for seqno in 0..100 {
        tree.insert(key(seqno % 10), format!("v{seqno}"), seqno);
        if seqno % 25 == 24 {
            tree.flush_active_memtable(0).unwrap();
        }
    }
    tree.remove(key(3), 100);
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.oldest_exact_seqno(), 0);
    // Everything below 60 may now be collapsed.
    tree.major_compact(64 << 20, 60).unwrap();
    assert_eq!(tree.oldest_exact_seqno(), 60);
    let events: Vec<_> = tree.scan_since_seqno(60).unwrap().collect();
    assert_eq!(events.len(), 41, "40 inserts and the delete");
    assert!(
        events
            .windows(2)
            .all(|pair| pair[0].seqno() < pair[1].seqno())
    );
    // Below the floor, the collapsed versions are gone.
    let all: Vec<_> = tree.scan_since_seqno(0).unwrap().collect();
    assert!(all.len() < 101);
    // The manifest keeps the floor across a reopen.
    drop(tree);
    let tree = open(dir.path(), false);
    assert_eq!(tree.oldest_exact_seqno(), 60);
    assert_eq!(tree.scan_since_seqno(60).unwrap().count(), 41);
}

#[test]
fn changes_of_one_seqno_come_in_the_tree_s_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Config::new(
        dir.path(),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .comparator(
        lsm_testkit::orders::TestOrder::Reversed
            .comparator()
            .unwrap(),
    )
    .open()
    .unwrap();
    let mut batch = WriteBatch::new();
    for k in ["a", "c", "b"] {
        batch.insert(k, "v");
    }
    tree.apply_batch(batch, 7).unwrap();
    let keys: Vec<_> = tree
        .scan_since_seqno(0)
        .unwrap()
        .map(|event| match event {
            ScanSinceEvent::Insert { key, .. } => key.to_vec(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(keys, vec![b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]);
}
