//! Repositionable range iterators and multi-interval scans through the facade: every
//! seek, peek and interval checked against an ordered map of what was written, over
//! memtables, tables and deletes; one snapshot throughout; clamping to the range; a
//! custom key order; separated values.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lsm::{
    AbstractTree, AnyTree, Config, Guard, KvSeparationOptions, SeqNo, SequenceNumberCounter,
};
use lsm_testkit::orders::Reversed;
use lsm_testkit::rng::Rng;

#[path = "support/common.rs"]
mod common;
use common::temp_tree;

fn key(i: u64) -> String {
    format!("key{i:04}")
}

/// A tree of three tables and a memtable, keys interleaved, some overwritten and some
/// deleted; returns it with what it holds.
fn filled() -> (tempfile::TempDir, AnyTree, BTreeMap<String, String>) {
    let (dir, tree, seqno) = temp_tree();
    let mut oracle = BTreeMap::new();
    let mut rng = Rng::new(7);
    for round in 0..4 {
        for _ in 0..300 {
            let k = key(rng.below(500));
            let value = format!("{round}-{k}");
            tree.insert(k.as_str(), value.as_str(), seqno.next());
            oracle.insert(k, value);
        }
        for _ in 0..20 {
            let k = key(rng.below(500));
            tree.remove(k.as_str(), seqno.next());
            oracle.remove(&k);
        }
        if round < 3 {
            tree.flush_active_memtable(0).unwrap();
        }
    }
    (dir, tree, oracle)
}

fn keys(items: impl Iterator<Item = lsm::IterGuardImpl>) -> Vec<String> {
    items
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect()
}

fn expected(
    oracle: &BTreeMap<String, String>,
    range: (Bound<String>, Bound<String>),
) -> Vec<String> {
    let past_each_other = match &range {
        (Bound::Included(start), Bound::Excluded(end)) => start >= end,
        (Bound::Included(start), Bound::Included(end)) => start > end,
        _ => false,
    };
    if past_each_other {
        return Vec::new();
    }
    oracle.range(range).map(|(k, _)| k.clone()).collect()
}

/// The keys of each interval `lo..hi` of `bounds`, one interval after the other.
fn expected_intervals(oracle: &BTreeMap<String, String>, bounds: &[(u64, u64)]) -> Vec<String> {
    bounds
        .iter()
        .flat_map(|&(lo, hi)| {
            expected(oracle, (Bound::Included(key(lo)), Bound::Excluded(key(hi))))
        })
        .collect()
}

#[test]
fn seeks_and_peeks_match_the_written_keys() {
    let (_dir, tree, oracle) = filled();
    let (low, high) = (key(100), key(400));
    let mut iter = tree.range_seekable(low.as_str()..high.as_str(), SeqNo::MAX, None);
    let mut rng = Rng::new(11);
    for _ in 0..200 {
        let target = key(rng.below(520));
        if rng.below(2) == 0 {
            iter.seek_to(target.as_bytes());
            let start = target.clone().max(low.clone());
            let want = expected(
                &oracle,
                (Bound::Included(start), Bound::Excluded(high.clone())),
            );
            let peeked = iter
                .peek_key()
                .map(|k| String::from_utf8(k.unwrap().to_vec()).unwrap());
            assert_eq!(
                peeked.as_ref(),
                want.first(),
                "peek after seek_to({target})"
            );
            let take = usize::try_from(rng.below(20)).unwrap();
            let got = keys(iter.by_ref().take(take));
            assert_eq!(
                got,
                want.iter().take(take).cloned().collect::<Vec<_>>(),
                "seek_to({target})"
            );
        } else {
            iter.seek_to_for_prev(target.as_bytes());
            let end = if target < high {
                Bound::Included(target.clone())
            } else {
                Bound::Excluded(high.clone())
            };
            let want = expected(&oracle, (Bound::Included(low.clone()), end));
            let take = usize::try_from(rng.below(20)).unwrap();
            let got = keys(iter.by_ref().rev().take(take));
            let want: Vec<_> = want.iter().rev().take(take).cloned().collect();
            assert_eq!(got, want, "seek_to_for_prev({target})");
        }
    }
    // A seek below the range starts at its start; past its end, nothing is left.
    iter.seek_to(b"a");
    assert_eq!(
        keys(iter.by_ref()),
        expected(
            &oracle,
            (Bound::Included(low.clone()), Bound::Excluded(high.clone()))
        )
    );
    iter.seek_to(b"zzz");
    assert!(iter.peek_key().is_none());
    assert!(iter.next().is_none());
    iter.seek_to_for_prev(b"a");
    assert!(iter.next_back().is_none());
}

#[test]
fn a_peeked_item_is_yielded_once_from_either_end() {
    let (_dir, tree, seqno) = temp_tree();
    tree.insert("a", "1", seqno.next());
    tree.insert("b", "2", seqno.next());
    let mut iter = tree.range_seekable::<&str, _>(.., SeqNo::MAX, None);
    assert_eq!(&*iter.peek_key().unwrap().unwrap(), b"a");
    assert_eq!(
        &*iter.peek_key().unwrap().unwrap(),
        b"a",
        "a peek does not advance"
    );
    assert_eq!(&*iter.next_back().unwrap().key().unwrap(), b"b");
    // The back end reaches the peeked item: it is the last one, yielded once.
    assert_eq!(&*iter.next_back().unwrap().key().unwrap(), b"a");
    assert!(iter.next().is_none());
    assert!(iter.peek_key().is_none());
}

#[test]
fn every_seek_reads_the_snapshot_taken_at_creation() {
    let (_dir, tree, seqno) = temp_tree();
    for i in 0..100 {
        tree.insert(key(i), "old", seqno.next());
    }
    let mut iter = tree.range_seekable::<&str, _>(.., seqno.get(), None);
    for i in 0..100 {
        tree.insert(key(i), "new", seqno.next());
    }
    tree.insert(key(50), "new", seqno.next());
    tree.remove(key(60), seqno.next());
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(64 << 20, seqno.get()).unwrap();
    iter.seek_to(key(60).as_bytes());
    let (k, v) = iter.next().unwrap().into_inner().unwrap();
    assert_eq!((&*k, &*v), (key(60).as_bytes(), &b"old"[..]));
    iter.seek_to_for_prev(key(50).as_bytes());
    let (k, v) = iter.next_back().unwrap().into_inner().unwrap();
    assert_eq!((&*k, &*v), (key(50).as_bytes(), &b"old"[..]));
    assert_eq!(
        keys(iter.rev()).len(),
        50,
        "key0000 to key0049 are left behind it"
    );
}

#[test]
fn intervals_are_read_in_order_and_drawn_lazily() {
    let (_dir, tree, oracle) = filled();
    let bounds: Vec<(u64, u64)> = vec![(0, 30), (90, 91), (100, 100), (200, 260), (480, 600)];
    let intervals = bounds
        .iter()
        .map(|&(lo, hi)| key(lo)..key(hi))
        .collect::<Vec<_>>();
    let got = keys(tree.batch_range_scan(intervals, SeqNo::MAX, None));
    let want = expected_intervals(&oracle, &bounds);
    assert_eq!(got, want);
    // Only the intervals the scan reached were drawn.
    let drawn = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&drawn);
    let lazy = (0..10_u64).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        key(i * 50)..key(i * 50 + 50)
    });
    let mut scan = tree.batch_range_scan(lazy, SeqNo::MAX, None);
    assert!(scan.next().is_some());
    assert_eq!(drawn.load(Ordering::SeqCst), 1);
}

#[test]
fn a_custom_order_clamps_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .comparator(Arc::new(Reversed))
        .open()
        .unwrap();
    for i in 0..10 {
        tree.insert(key(i), "v", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    // In the reversed order "key0008" comes before "key0002".
    let mut iter = tree.range_seekable(key(8).as_str()..=key(2).as_str(), SeqNo::MAX, None);
    iter.seek_to(key(9).as_bytes()); // before the range's start: clamped to it
    assert_eq!(keys(iter.by_ref()), [8, 7, 6, 5, 4, 3, 2].map(key));
    iter.seek_to(key(5).as_bytes());
    assert_eq!(keys(iter.by_ref()), [5, 4, 3, 2].map(key));
    iter.seek_to_for_prev(key(0).as_bytes()); // past the range's end: clamped to it
    assert_eq!(keys(iter.rev()), [2, 3, 4, 5, 6, 7, 8].map(key));
}

#[test]
fn separated_values_are_read_after_a_seek() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .with_kv_separation(Some(
            KvSeparationOptions::default().separation_threshold(16),
        ))
        .open()
        .unwrap();
    assert!(matches!(tree, AnyTree::Blob(_)));
    for i in 0..50 {
        tree.insert(
            key(i),
            format!("a long value of key {i:04}, separated"),
            seqno.next(),
        );
    }
    tree.flush_active_memtable(0).unwrap();
    let mut iter = tree.range_seekable::<&str, _>(.., SeqNo::MAX, None);
    iter.seek_to(key(42).as_bytes());
    let (k, v) = iter.next().unwrap().into_inner().unwrap();
    assert_eq!(&*k, key(42).as_bytes());
    assert_eq!(&*v, b"a long value of key 0042, separated");
    let values: Vec<_> = tree
        .batch_range_scan(vec![key(10)..key(12)], SeqNo::MAX, None)
        .map(|item| item.value().unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    assert_eq!(&*values[1], b"a long value of key 0011, separated");
}

/// A tree whose last level is a run of many small tables, with a level-0 table over it,
/// range deletes in tables and in the memtable, and a memtable; returns it with what it
/// holds.
fn layered() -> (tempfile::TempDir, AnyTree, BTreeMap<String, String>) {
    let (dir, tree, seqno) = temp_tree();
    let mut oracle = BTreeMap::new();
    let mut rng = Rng::new(23);
    for i in 0..1_500 {
        let k = key(i);
        let value = format!("base-{k}");
        tree.insert(k.as_str(), value.as_str(), seqno.next());
        oracle.insert(k, value);
    }
    tree.flush_active_memtable(0).unwrap();
    // Small tables: the last level becomes a run of dozens of them.
    tree.major_compact(1 << 10, seqno.get()).unwrap();
    assert!(tree.table_count() > 10, "{} tables", tree.table_count());
    let remove_range = |tree: &AnyTree, oracle: &mut BTreeMap<String, String>, start, end| {
        tree.remove_range(key(start), key(end), seqno.next());
        let doomed: Vec<_> = oracle
            .range(key(start)..key(end))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            oracle.remove(&k);
        }
    };
    remove_range(&tree, &mut oracle, 300, 420);
    for round in 0..2 {
        for _ in 0..200 {
            let k = key(rng.below(1_600));
            let value = format!("{round}-{k}");
            tree.insert(k.as_str(), value.as_str(), seqno.next());
            oracle.insert(k, value);
        }
        if round == 0 {
            tree.flush_active_memtable(0).unwrap();
        }
    }
    remove_range(&tree, &mut oracle, 900, 960);
    (dir, tree, oracle)
}

/// Seeks from both sides, mixed with steps from both ends, over a run of many tables,
/// range deletes and a memtable: each step is the model's (a window over the written
/// keys, restarted at both ends by each seek).
#[test]
fn seeks_over_runs_of_many_tables_match_a_cursor_model() {
    let (_dir, tree, oracle) = layered();
    let (low, high) = (key(50), key(1_450));
    let mut iter = tree.range_seekable(low.as_str()..high.as_str(), SeqNo::MAX, None);
    let mut rng = Rng::new(31);
    let mut window = expected(
        &oracle,
        (Bound::Included(low.clone()), Bound::Excluded(high.clone())),
    );
    let (mut front, mut back) = (0, window.len());
    for step in 0..3_000 {
        match rng.below(6) {
            0 => {
                let target = key(rng.below(1_600));
                iter.seek_to(target.as_bytes());
                let start = target.max(low.clone());
                window = expected(
                    &oracle,
                    (Bound::Included(start), Bound::Excluded(high.clone())),
                );
                (front, back) = (0, window.len());
            }
            1 => {
                let target = key(rng.below(1_600));
                iter.seek_to_for_prev(target.as_bytes());
                let end = if target < high {
                    Bound::Included(target)
                } else {
                    Bound::Excluded(high.clone())
                };
                window = expected(&oracle, (Bound::Included(low.clone()), end));
                (front, back) = (0, window.len());
            }
            2 | 3 => {
                let want = (front < back).then(|| {
                    front += 1;
                    window[front - 1].clone()
                });
                assert_eq!(keys(iter.next().into_iter()).pop(), want, "step {step}");
            }
            4 => {
                let want = (front < back).then(|| {
                    back -= 1;
                    window[back].clone()
                });
                assert_eq!(
                    keys(iter.next_back().into_iter()).pop(),
                    want,
                    "step {step}"
                );
            }
            _ => {
                let want = (front < back).then(|| window[front].clone());
                let peeked = iter
                    .peek_key()
                    .map(|k| String::from_utf8(k.unwrap().to_vec()).unwrap());
                assert_eq!(peeked, want, "peek at step {step}");
            }
        }
    }
}

/// Many intervals over a run of many tables, some empty, some overlapping, some out of
/// order: each is read as a range scan of it would be.
#[test]
fn intervals_over_runs_of_many_tables_read_as_range_scans() {
    let (_dir, tree, oracle) = layered();
    let mut rng = Rng::new(41);
    let bounds: Vec<(u64, u64)> = (0..300)
        .map(|_| {
            let lo = rng.below(1_600);
            (lo, lo + rng.below(40))
        })
        .collect();
    let intervals: Vec<_> = bounds.iter().map(|&(lo, hi)| key(lo)..key(hi)).collect();
    let got = keys(tree.batch_range_scan(intervals, SeqNo::MAX, None));
    let want = expected_intervals(&oracle, &bounds);
    assert_eq!(got, want);
    // And each item's value is the newest one written.
    let values: Vec<_> = tree
        .batch_range_scan(vec![key(0)..key(1_600)], SeqNo::MAX, None)
        .map(|item| {
            let (k, v) = item.into_inner().unwrap();
            (
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(values, oracle.into_iter().collect::<Vec<_>>());
}
