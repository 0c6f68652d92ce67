//! Tables read through a shared block cache and a descriptor cache: answers stay exact,
//! the block cache serves repeated reads, and no more files stay open than allowed.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::sync::Arc;

use lsm_core::{InternalEntry, MemFs, SeqNo, ValueType};
use lsm_table::{
    BlockCache, DescriptorCache, PinBudget, ReadOptions, Table, TableOptions, TableWriter,
};

fn write_table(fs: &MemFs, file_id: u64, keys: std::ops::Range<u64>) {
    let path = format!("/t{file_id}");
    let options = TableOptions {
        block_size: 512,
        ..TableOptions::default()
    };
    let mut writer = TableWriter::create(fs, path.as_ref(), file_id, options).unwrap();
    for idx in keys {
        writer
            .add(&InternalEntry::new(
                format!("k{idx:06}"),
                format!("v{idx}"),
                1,
                ValueType::Value,
            ))
            .unwrap();
    }
    writer.finish().unwrap();
}

#[test]
fn shared_caches_serve_many_tables_exactly() {
    let fs = Arc::new(MemFs::new());
    for file_id in 0..5 {
        write_table(&fs, file_id, file_id * 1000..file_id * 1000 + 1000);
    }
    let block_cache = Arc::new(BlockCache::with_capacity_bytes(1 << 20));
    let descriptors = Arc::new(DescriptorCache::new(fs.clone(), 2));
    let options = ReadOptions {
        block_cache: Some(block_cache.clone()),
        descriptor_cache: Some(descriptors.clone()),
        ..ReadOptions::default()
    };
    let tables: Vec<Table> = (0..5)
        .map(|file_id| {
            Table::open(
                fs.as_ref(),
                format!("/t{file_id}").as_ref(),
                file_id,
                &options,
            )
            .unwrap()
        })
        .collect();
    for round in 0..3 {
        for idx in (0..5000).step_by(37) {
            let table = &tables[(idx / 1000) as usize];
            let entry = table
                .get(format!("k{idx:06}").as_bytes(), SeqNo::MAX)
                .unwrap()
                .unwrap();
            assert_eq!(entry.value, format!("v{idx}").as_str(), "round {round}");
            assert!(descriptors.open_count() <= 2);
        }
    }
    let stats = block_cache.stats();
    assert!(stats.hits > stats.misses, "{stats:?}");
    assert!(stats.used_bytes <= 1 << 20);
    assert_eq!(stats.evictions, 0);
    for table in &tables {
        assert_eq!(table.iter(SeqNo::MAX).count(), 1000);
        assert!(table.verify().unwrap().is_ok());
    }
    drop(tables);
    assert_eq!(
        descriptors.open_count(),
        0,
        "dropped tables close their files"
    );
}

#[test]
fn unpinned_metadata_is_read_through_the_cache() {
    let fs = MemFs::new();
    write_table(&fs, 1, 0..2000);
    let block_cache = Arc::new(BlockCache::with_capacity_bytes(1 << 20));
    let pinned = Table::open(&fs, "/t1".as_ref(), 1, &ReadOptions::default()).unwrap();
    let unpinned_options = ReadOptions {
        block_cache: Some(block_cache.clone()),
        pin_index: false,
        pin_filter: false,
        ..ReadOptions::default()
    };
    let unpinned = Table::open(&fs, "/t1".as_ref(), 1, &unpinned_options).unwrap();
    assert!(pinned.pinned_bytes() > 0);
    assert_eq!(unpinned.pinned_bytes(), 0);
    for idx in (0..2000).step_by(13) {
        let key = format!("k{idx:06}");
        assert_eq!(
            pinned.get(key.as_bytes(), SeqNo::MAX).unwrap(),
            unpinned.get(key.as_bytes(), SeqNo::MAX).unwrap()
        );
    }
    assert!(unpinned.get(b"absent", SeqNo::MAX).unwrap().is_none());
    assert_eq!(
        unpinned.filter_stats().unwrap(),
        pinned.filter_stats().unwrap()
    );
    assert!(block_cache.stats().hits > 100);
}

#[test]
fn index_and_filter_are_pinned_independently() {
    let fs = MemFs::new();
    write_table(&fs, 1, 0..2000);
    let block_cache = Arc::new(BlockCache::with_capacity_bytes(1 << 20));
    let open = |pin_index, pin_filter| {
        let options = ReadOptions {
            block_cache: Some(block_cache.clone()),
            pin_index,
            pin_filter,
            ..ReadOptions::default()
        };
        Table::open(&fs, "/t1".as_ref(), 1, &options).unwrap()
    };
    let both = open(true, true);
    let index_only = open(true, false);
    let filter_only = open(false, true);
    let neither = open(false, false);
    let filter_bytes = both.pinned_filter_bytes();
    let index_bytes = both.pinned_bytes() - filter_bytes;
    assert!(filter_bytes > 0 && index_bytes > 0);
    assert_eq!(index_only.pinned_filter_bytes(), 0);
    assert_eq!(index_only.pinned_bytes(), index_bytes);
    assert_eq!(filter_only.pinned_filter_bytes(), filter_bytes);
    assert_eq!(filter_only.pinned_bytes(), filter_bytes);
    assert_eq!(neither.pinned_bytes(), 0);
    for idx in (0..2000).step_by(7) {
        let key = format!("k{idx:06}");
        let expected = both.get(key.as_bytes(), SeqNo::MAX).unwrap();
        assert!(expected.is_some());
        for table in [&index_only, &filter_only, &neither] {
            assert_eq!(table.get(key.as_bytes(), SeqNo::MAX).unwrap(), expected);
        }
    }
    for table in [&both, &index_only, &filter_only, &neither] {
        assert!(table.get(b"absent", SeqNo::MAX).unwrap().is_none());
    }
}

#[test]
fn a_pin_budget_bounds_what_tables_pin_and_is_given_back() {
    let fs = MemFs::new();
    write_table(&fs, 1, 0..2000);
    let full = Table::open(&fs, "/t1".as_ref(), 1, &ReadOptions::default()).unwrap();
    let filter_bytes = full.pinned_filter_bytes();
    let index_bytes = full.pinned_bytes() - filter_bytes;
    // Room for one table's index and filter and a second table's index only.
    let budget = PinBudget::new(2 * index_bytes + filter_bytes);
    let options = ReadOptions {
        block_cache: Some(Arc::new(BlockCache::with_capacity_bytes(1 << 20))),
        pin_budget: Some(Arc::clone(&budget)),
        ..ReadOptions::default()
    };
    let open = || Table::open(&fs, "/t1".as_ref(), 1, &options).unwrap();
    let first = open();
    assert_eq!(first.pinned_bytes(), index_bytes + filter_bytes);
    let second = open();
    assert_eq!(
        second.pinned_bytes(),
        index_bytes,
        "the filter no longer fits"
    );
    let third = open();
    assert_eq!(third.pinned_bytes(), 0, "nothing fits");
    assert_eq!(budget.used(), 2 * index_bytes + filter_bytes);
    // What is not pinned is read through the cache: the answers are the same.
    for idx in (0..2000).step_by(11) {
        let key = format!("k{idx:06}");
        let expected = full.get(key.as_bytes(), SeqNo::MAX).unwrap();
        for table in [&first, &second, &third] {
            assert_eq!(table.get(key.as_bytes(), SeqNo::MAX).unwrap(), expected);
        }
    }
    assert!(third.get(b"absent", SeqNo::MAX).unwrap().is_none());
    drop(first);
    assert_eq!(budget.used(), index_bytes);
    let reopened = open();
    assert_eq!(reopened.pinned_bytes(), index_bytes + filter_bytes);
    drop((second, third, reopened));
    assert_eq!(budget.used(), 0);
}

#[test]
fn a_sequential_scan_leaves_what_point_reads_cached_in_place() {
    let fs = MemFs::new();
    write_table(&fs, 1, 0..20_000);
    let cache = Arc::new(BlockCache::with_capacity_bytes(64 << 10));
    let options = ReadOptions {
        block_cache: Some(cache.clone()),
        ..ReadOptions::default()
    };
    let table = Table::open(&fs, "/t1".as_ref(), 1, &options).unwrap();
    let hot: Vec<String> = (0..20_000)
        .step_by(1_000)
        .map(|idx| format!("k{idx:06}"))
        .collect();
    for key in &hot {
        assert!(table.get(key.as_bytes(), SeqNo::MAX).unwrap().is_some());
    }
    let warm = cache.stats();
    assert_eq!(table.iter(SeqNo::MAX).count(), 20_000);
    let scanned = cache.stats();
    // Only the blocks read before the read-ahead started went in.
    assert!(scanned.insertions - warm.insertions <= 3, "{scanned:?}");
    assert!(
        scanned.misses - warm.misses > 100,
        "the scan read its blocks: {scanned:?}"
    );
    for key in &hot {
        assert!(table.get(key.as_bytes(), SeqNo::MAX).unwrap().is_some());
    }
    assert_eq!(
        cache.stats().misses,
        scanned.misses,
        "the point reads' blocks stayed"
    );
}
