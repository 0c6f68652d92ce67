//! Range deletes: `remove_range` and `remove_prefix` hide every older version in their
//! range in point reads, `multi_get` and scans from both ends, through flushes,
//! compactions across levels and reopens; older snapshots still read the data; merge
//! folds stop at them; a memtable of only range tombstones flushes and persists.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::compaction::Leveled;
use lsm::{AbstractTree, AnyTree, Config, Guard, MemFs, SeqNo, SequenceNumberCounter};

#[path = "support/common.rs"]
mod common;
use common::Concat;

fn open(fs: &Arc<MemFs>, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(fs.clone())
        .with_merge_operator(Some(Arc::new(Concat)))
        .open()
        .unwrap()
}

fn keys(tree: &AnyTree, read_seqno: SeqNo) -> Vec<String> {
    let forward: Vec<String> = tree
        .iter(read_seqno, None)
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect();
    let mut backward: Vec<String> = tree
        .iter(read_seqno, None)
        .rev()
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect();
    backward.reverse();
    assert_eq!(forward, backward);
    forward
}

#[test]
fn a_range_delete_hides_older_versions_everywhere() {
    let fs = Arc::new(MemFs::new());
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &seqno);
    for key in ["a", "b", "c", "d", "e", "f"] {
        tree.insert(key, "v", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    let before = seqno.get();
    assert!(tree.remove_range("b", "e", seqno.next()) > 0);
    assert_eq!(
        tree.remove_range("x", "x", seqno.next()),
        0,
        "an empty range writes nothing"
    );
    tree.insert("c", "new", seqno.next());
    let now = seqno.get();
    for flushed in [false, true] {
        assert_eq!(keys(&tree, now), ["a", "c", "e", "f"], "flushed {flushed}");
        assert_eq!(keys(&tree, before), ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(tree.get("b", now).unwrap(), None);
        assert_eq!(tree.get("c", now).unwrap().as_deref(), Some(&b"new"[..]));
        assert_eq!(tree.get("d", before).unwrap().as_deref(), Some(&b"v"[..]));
        let many = tree.multi_get(["b", "d", "e"], now).unwrap();
        assert_eq!(many, [None, None, Some("v".into())]);
        tree.flush_active_memtable(0).unwrap();
    }
    drop(tree);
    let tree = open(&fs, &seqno);
    assert_eq!(keys(&tree, now), ["a", "c", "e", "f"]);
}

#[test]
fn a_range_delete_across_levels_survives_compaction_and_goes_at_the_bottom() {
    let fs = Arc::new(MemFs::new());
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &seqno);
    let strategy = Arc::new(
        Leveled::default()
            .with_l0_threshold(2)
            .with_table_target_size(4 << 10),
    );
    for round in 0..6_u32 {
        for i in 0..300_u32 {
            tree.insert(
                format!("k{:04}", i * 6 + round),
                vec![b'v'; 40],
                seqno.next(),
            );
        }
        tree.flush_active_memtable(0).unwrap();
        tree.compact(strategy.clone(), 0).unwrap();
    }
    assert!(tree.level_table_count(1).unwrap() > 1);
    let before = seqno.get();
    tree.remove_range("k0100", "k1500", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    let expected = 1_800 - 1_400;
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), expected);
    // Leveled steps carry the tombstone down without losing what it covers elsewhere.
    for _ in 0..4 {
        tree.compact(strategy.clone(), 0).unwrap();
        assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), expected);
        assert_eq!(tree.len(before, None).unwrap(), 1_800);
    }
    // A major compaction past the tombstone drops it and everything it hid.
    tree.major_compact(1 << 20, seqno.get()).unwrap();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), expected);
    assert_eq!(
        tree.approximate_len(),
        expected,
        "the hidden versions are gone"
    );
    assert_eq!(tree.table_count(), 1);
}

#[test]
fn prefixes_empty_starts_and_tombstone_only_memtables() {
    let fs = Arc::new(MemFs::new());
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &seqno);
    for key in ["a1", "a2", "b1", "b2", "c1"] {
        tree.insert(key, "v", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.remove_prefix("", seqno.next()), 0);
    assert_eq!(tree.remove_prefix([0xFF, 0xFF], seqno.next()), 0);
    assert!(tree.remove_prefix("b", seqno.next()) > 0);
    assert!(tree.remove_range("", "a2", seqno.next()) > 0);
    // The memtable holds only range tombstones; it still flushes, as a table of them.
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.sealed_memtable_count(), 0);
    assert_eq!(tree.table_count(), 2);
    assert_eq!(keys(&tree, SeqNo::MAX), ["a2", "c1"]);
    drop(tree);
    let tree = open(&fs, &seqno);
    assert_eq!(keys(&tree, SeqNo::MAX), ["a2", "c1"]);
    tree.major_compact(1 << 20, seqno.get()).unwrap();
    assert_eq!(keys(&tree, SeqNo::MAX), ["a2", "c1"]);
    assert_eq!(tree.approximate_len(), 2);
}

#[test]
fn a_merge_fold_stops_at_a_range_delete() {
    let fs = Arc::new(MemFs::new());
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &seqno);
    tree.insert("k", "base", seqno.next());
    tree.merge("k", "+1", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    tree.remove_range("a", "z", seqno.next());
    tree.merge("k", "+2", seqno.next());
    tree.merge("k", "+3", seqno.next());
    let now = seqno.get();
    assert_eq!(tree.get("k", now).unwrap().as_deref(), Some(&b"+2+3"[..]));
    let reversed: Vec<_> = tree
        .iter(now, None)
        .rev()
        .map(|item| item.value().unwrap())
        .collect();
    assert_eq!(reversed, ["+2+3"]);
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(1 << 20, now).unwrap();
    assert_eq!(tree.get("k", now).unwrap().as_deref(), Some(&b"+2+3"[..]));
    assert_eq!(tree.approximate_len(), 1);
}
