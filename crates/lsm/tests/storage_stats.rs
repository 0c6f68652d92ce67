//! Storage introspection through the facade: `storage_stats` against what was written
//! and the file system's free space, per-level and per-table figures with their read
//! counts, and range estimates against exact counts.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::{AbstractTree, AnyTree, Config, MemFs, SeqNo, SequenceNumberCounter, StorageStatus};

fn open(fs: MemFs) -> AnyTree {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::new(fs))
    .open()
    .unwrap()
}

fn key(i: u32) -> String {
    format!("key{i:05}")
}

/// Flushes `flushes` tables of `per_flush` keys each, key `i` in table `i % flushes`.
fn fill(tree: &AnyTree, flushes: u32, per_flush: u32) {
    let mut seqno = 1;
    for flush in 0..flushes {
        for i in 0..per_flush {
            tree.insert(key(i * flushes + flush), "0123456789", seqno);
            seqno += 1;
        }
        tree.flush_active_memtable(0).unwrap();
    }
}

#[test]
fn an_empty_tree_has_no_averages() {
    let tree = open(MemFs::new());
    let stats = tree.storage_stats().unwrap();
    assert_eq!(
        (stats.used_bytes, stats.item_count, stats.table_count),
        (0, 0, 0)
    );
    assert_eq!((stats.avg_key_bytes, stats.avg_value_bytes), (None, None));
    assert_eq!(stats.estimated_remaining_entries(1 << 20), 0);
    assert!(stats.compaction_possible);
    assert_eq!(stats.status, StorageStatus::FullCompactionAvailable);
    let levels = tree.level_segment_stats().unwrap();
    assert!(levels.iter().all(|level| level.segment_count == 0));
}

#[test]
fn the_figures_match_what_was_written() {
    let tree = open(MemFs::new());
    fill(&tree, 3, 1_000);
    let stats = tree.storage_stats().unwrap();
    assert_eq!(stats.used_bytes, tree.disk_space());
    assert_eq!((stats.item_count, stats.table_count), (3_000, 3));
    assert_eq!(stats.avg_key_bytes, Some(8));
    assert_eq!(stats.avg_value_bytes, Some(10));
    assert_eq!(stats.avg_entry_on_disk_bytes, stats.used_bytes / 3_000);
    assert_eq!(
        stats.estimated_remaining_entries(stats.used_bytes),
        stats.used_bytes / stats.avg_entry_on_disk_bytes
    );
    assert_eq!(stats.reclaimable_bytes_estimate, 0);
    assert!(stats.tight_compaction_bytes > 0);
    assert_eq!(
        stats.full_compaction_bytes, stats.used_bytes,
        "all in level 0"
    );

    let levels = tree.level_segment_stats().unwrap();
    let level0 = &levels[0];
    assert_eq!(level0.segment_count, 3);
    assert_eq!(level0.used_bytes, stats.used_bytes);
    assert_eq!(level0.item_count, 3_000);
    assert_eq!(level0.reads, 0);
    assert_eq!(level0.last_access_secs, 0);

    // Key 4 lives in the table of flush 1: 20 reads of it consult that table only (the
    // others' filters rule it out, or let a rare one through).
    for _ in 0..20 {
        assert!(tree.get(key(4), SeqNo::MAX).unwrap().is_some());
    }
    let levels = tree.level_segment_stats().unwrap();
    let reads: Vec<u64> = levels[0]
        .segments
        .iter()
        .map(|segment| segment.reads)
        .collect();
    assert_eq!(reads.iter().sum::<u64>(), levels[0].reads);
    assert!(reads.contains(&20), "{reads:?}");
    assert!(levels[0].reads <= 22, "{reads:?}");
    assert!(levels[0].last_access_secs > 1_700_000_000);

    // Deleting a third of the keys makes room a compaction could take back.
    for (seqno, i) in (10_000..).zip(0..1_000) {
        tree.remove(key(i), seqno);
    }
    tree.flush_active_memtable(0).unwrap();
    let stats = tree.storage_stats().unwrap();
    assert!(stats.reclaimable_bytes_estimate > 0);
    assert!(stats.reclaimable_bytes_estimate <= stats.used_bytes);
}

#[test]
fn the_status_follows_the_free_space() {
    let fs = MemFs::with_capacity(1 << 30);
    let tree = open(fs.clone());
    fill(&tree, 2, 2_000);
    let stats = tree.storage_stats().unwrap();
    assert_eq!(stats.status, StorageStatus::FullCompactionAvailable);
    let available = stats.available_bytes.unwrap();
    assert_eq!(stats.capacity_bytes, Some(stats.used_bytes + available));

    // Fill the disk with a file of the test's own until less than one table is free.
    let filler = lsm::fs::Fs::open(
        &fs,
        std::path::Path::new("/filler"),
        lsm::fs::OpenOptions::create_new(),
    )
    .unwrap();
    filler
        .set_len(available - stats.tight_compaction_bytes / 2)
        .unwrap();
    let stats = tree.storage_stats().unwrap();
    assert!(!stats.compaction_possible);
    assert_eq!(stats.status, StorageStatus::CompactionLacksRoom);
    assert!(stats.available_bytes.unwrap() < stats.tight_compaction_bytes);

    // Between the largest table and the largest level: only a tight compaction fits.
    filler
        .set_len(available - stats.full_compaction_bytes + 1)
        .unwrap();
    let stats = tree.storage_stats().unwrap();
    assert!(stats.compaction_possible);
    assert_eq!(stats.status, StorageStatus::TightCompactionAvailable);
}

#[test]
fn range_estimates_come_close_to_the_exact_counts() {
    let tree = open(MemFs::new());
    fill(&tree, 4, 5_000);
    let all = tree
        .approximate_range_stats::<&str, _>(.., SeqNo::MAX)
        .unwrap();
    assert_eq!(all.key_count, 20_000);
    assert_eq!(all.bytes, tree.disk_space());

    // A quarter of the keys: within a block of each table of the exact count.
    let quarter = tree
        .approximate_range_stats(key(5_000)..key(10_000), SeqNo::MAX)
        .unwrap();
    let error = quarter.key_count.abs_diff(5_000);
    assert!(error <= 1_000, "estimated {} of 5000", quarter.key_count);
    assert!(quarter.bytes > 0 && quarter.bytes < all.bytes / 2);

    let cardinality = tree
        .approximate_range_cardinality(key(5_000)..key(10_000), SeqNo::MAX)
        .unwrap();
    assert_eq!(cardinality.rows, quarter.key_count);
    assert!((cardinality.selectivity - 0.25).abs() < 0.05);
    let everything = tree
        .approximate_range_cardinality::<&str, _>(.., SeqNo::MAX)
        .unwrap();
    assert!((everything.selectivity - 1.0).abs() < 1e-9);

    // Past every key, and before every table's writes: nothing.
    let none = tree
        .approximate_range_stats("zzz".."zzzz", SeqNo::MAX)
        .unwrap();
    assert_eq!((none.key_count, none.bytes), (0, 0));
    let before = tree.approximate_range_stats::<&str, _>(.., 1).unwrap();
    assert_eq!(before.key_count, 0);

    // Memtable entries count exactly.
    for i in 0..100 {
        tree.insert(format!("mem{i:03}"), "v", 100_000 + i);
    }
    let memtable = tree
        .approximate_range_stats("mem".."men", SeqNo::MAX)
        .unwrap();
    assert_eq!(memtable.key_count, 100);
    assert_eq!(memtable.bytes, 100 * 7);
}
