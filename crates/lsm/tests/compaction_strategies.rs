//! Compaction through the tree: leveled merges and moves, size-tiered merges, FIFO
//! drops, major compaction to the last level, garbage collection at the watermark, and
//! a custom strategy whose wrong choice is refused; flushes that share no key joining
//! one level-0 run.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::HashSet;
use std::sync::Arc;

use lsm::compaction::{
    Choice, CompactionAction, CompactionState, CompactionStrategy, Fifo, Input, Leveled,
    SizeTiered, Version,
};
use lsm::{AbstractTree, AnyTree, Config, Error, MemFs, SeqNo, SequenceNumberCounter};

fn tree() -> (AnyTree, SequenceNumberCounter) {
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_fs(MemFs::new())
        .open()
        .unwrap();
    (tree, seqno)
}

/// `rounds` flushes of `keys` keys each, every round overwriting the same keys.
fn fill(tree: &AnyTree, seqno: &SequenceNumberCounter, rounds: usize, keys: u32) {
    for round in 0..rounds {
        for i in 0..keys {
            tree.insert(
                format!("key{i:05}"),
                format!("{round}:{i}:{}", "v".repeat(64)),
                seqno.next(),
            );
        }
        tree.flush_active_memtable(0).unwrap();
    }
}

fn check_latest(tree: &AnyTree, keys: u32, round: usize) {
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), keys as usize);
    for i in (0..keys).step_by(37) {
        let value = tree.get(format!("key{i:05}"), SeqNo::MAX).unwrap().unwrap();
        assert!(
            value.starts_with(format!("{round}:{i}:").as_bytes()),
            "key {i}: {}",
            String::from_utf8_lossy(&value[..8])
        );
    }
}

#[test]
fn leveled_compaction_empties_level0_and_keeps_every_answer() {
    let (tree, seqno) = tree();
    fill(&tree, &seqno, 4, 2_000);
    assert_eq!(tree.l0_run_count(), 4);
    let strategy = Arc::new(Leveled::default().with_table_target_size(64 << 10));
    let result = tree.compact(strategy.clone(), seqno.get()).unwrap();
    assert_eq!(result.action, CompactionAction::Merged);
    assert_eq!(result.dest_level, Some(1));
    assert_eq!(tree.l0_run_count(), 0);
    assert!(
        tree.level_table_count(1).unwrap() > 1,
        "outputs cut at the target size"
    );
    // The watermark passed every overwrite: one version per key is left.
    assert_eq!(tree.approximate_len(), 2_000);
    check_latest(&tree, 2_000, 3);
    // Level 1 is far below its target: nothing more to do.
    assert_eq!(
        tree.compact(strategy, seqno.get()).unwrap().action,
        CompactionAction::Nothing
    );
}

#[test]
fn flushes_in_key_order_share_one_level0_run_and_go_down_at_the_table_trigger() {
    let (tree, seqno) = tree();
    // Four flushes of ascending, disjoint keys; the snapshot is taken after the first.
    let mut snapshot = 0;
    for flush in 0..4_u32 {
        for i in 0..500 {
            let key = format!("key{:05}", flush * 500 + i);
            tree.insert(key, format!("v{flush}"), seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
        if flush == 0 {
            snapshot = seqno.get();
        }
    }
    assert_eq!(tree.l0_run_count(), 1, "disjoint flushes join one run");
    assert_eq!(tree.level_table_count(0), Some(4));
    // A flush overlapping them starts a run of its own, newest first.
    tree.insert("key00001", "newer", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.l0_run_count(), 2);
    assert_eq!(
        &*tree.get("key00001", SeqNo::MAX).unwrap().unwrap(),
        b"newer"
    );
    assert_eq!(&*tree.get("key01999", SeqNo::MAX).unwrap().unwrap(), b"v3");
    assert_eq!(&*tree.get("key00001", snapshot).unwrap().unwrap(), b"v0");
    assert!(tree.get("key01999", snapshot).unwrap().is_none());
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 2_000);
    // Five tables in two runs reach the trigger of four tables: level 0 goes down.
    let strategy = Arc::new(Leveled::default().with_table_target_size(64 << 10));
    let result = tree.compact(strategy, snapshot).unwrap();
    assert_ne!(result.action, CompactionAction::Nothing);
    assert_eq!(tree.l0_run_count(), 0);
    assert_eq!(
        &*tree.get("key00001", SeqNo::MAX).unwrap().unwrap(),
        b"newer"
    );
    assert_eq!(&*tree.get("key00001", snapshot).unwrap().unwrap(), b"v0");
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 2_000);
}

#[test]
fn a_watermark_keeps_what_snapshots_above_it_read() {
    let (tree, seqno) = tree();
    fill(&tree, &seqno, 2, 500);
    let snapshot = seqno.get();
    fill(&tree, &seqno, 2, 500);
    tree.major_compact(64 << 20, snapshot).unwrap();
    assert_eq!(tree.level_table_count(6), Some(1));
    // Reads at the snapshot still see round 1.
    let value = tree.get("key00007", snapshot).unwrap().unwrap();
    assert!(value.starts_with(b"1:7:"));
    // The second fill's rounds are numbered 0 and 1 again.
    check_latest(&tree, 500, 1);
    assert_eq!(
        tree.approximate_len(),
        1_500,
        "three versions of each key are left"
    );
}

#[test]
fn deletes_vanish_at_the_bottom() {
    let (tree, seqno) = tree();
    fill(&tree, &seqno, 1, 1_000);
    for i in 0..500_u32 {
        tree.remove(format!("key{i:05}"), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    let result = tree.major_compact(64 << 20, seqno.get()).unwrap();
    assert_eq!(result.tables_in, 2);
    assert_eq!(
        tree.approximate_len(),
        500,
        "tombstones and what they hid are gone"
    );
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 500);
}

#[test]
fn size_tiered_merges_similar_runs_in_level0() {
    let (tree, seqno) = tree();
    fill(&tree, &seqno, 4, 300);
    let strategy = Arc::new(SizeTiered::default().with_min_merge_width(4));
    let result = tree.compact(strategy, 0).unwrap();
    assert_eq!(result.action, CompactionAction::Merged);
    assert_eq!(result.dest_level, Some(0));
    assert_eq!(tree.l0_run_count(), 1);
    assert_eq!(
        tree.approximate_len(),
        1_200,
        "watermark 0 keeps every version"
    );
    check_latest(&tree, 300, 3);
}

#[test]
fn fifo_drops_the_oldest_tables_past_its_limit() {
    let (tree, seqno) = tree();
    fill(&tree, &seqno, 3, 1_000);
    let size = tree.disk_space();
    let result = tree
        .compact(Arc::new(Fifo::new(size / 2, None)), 0)
        .unwrap();
    assert_eq!(result.action, CompactionAction::Dropped);
    assert!(tree.disk_space() <= size / 2);
    check_latest(&tree, 1_000, 2);
    assert_eq!(tree.compaction_debt(&Fifo::new(size / 2, None)), 0);
}

/// A strategy that moves level 0's newest run alone below the older ones.
struct Broken;

impl CompactionStrategy for Broken {
    fn get_name(&self) -> &'static str {
        "Broken"
    }

    fn choose(&self, version: &Version, _state: &CompactionState) -> Choice {
        let newest = &version.levels()[0].runs()[0];
        Choice::Move(Input {
            table_ids: newest
                .tables()
                .iter()
                .map(|table| table.id)
                .collect::<HashSet<_>>(),
            dest_level: 1,
            canonical_level: 0,
            target_size: 1 << 20,
        })
    }
}

#[test]
fn a_wrong_choice_is_refused_and_changes_nothing() {
    let (tree, seqno) = tree();
    fill(&tree, &seqno, 2, 100);
    let error = tree.compact(Arc::new(Broken), 0).unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidCompactionChoice {
                strategy: "Broken",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(tree.l0_run_count(), 2);
    check_latest(&tree, 100, 1);
}
