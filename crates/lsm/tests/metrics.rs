//! The tree's counters through the facade: block loads from files and from the cache,
//! filter answers, prefix-filter skips, blob reads, flushes, compactions and write
//! slowdowns, each checked against what the test made the tree do.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::background::MaintenanceOptions;
use lsm::config::FixedPrefix;
use lsm::{
    AbstractTree, AnyTree, Cache, Config, KvSeparationOptions, MemFs, PrefixExtractor, SeqNo,
    SequenceNumberCounter,
};

fn config() -> Config {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::new(MemFs::new()))
    .use_cache(Arc::new(Cache::with_capacity_bytes(8 << 20)))
}

fn fill(tree: &AnyTree, keys: u32, seqno: &mut SeqNo) {
    for i in 0..keys {
        tree.insert(format!("key{i:05}"), format!("value{i:05}"), *seqno);
        *seqno += 1;
    }
    tree.flush_active_memtable(0).unwrap();
}

#[test]
fn reads_count_block_loads_from_files_then_from_the_cache() {
    let tree = config().open().unwrap();
    let mut seqno = 1;
    fill(&tree, 2_000, &mut seqno);
    let metrics = Arc::clone(tree.metrics());
    let before = metrics.read_counts();

    assert!(tree.get("key00042", SeqNo::MAX).unwrap().is_some());
    let first = metrics.read_counts();
    let data = first.kind(lsm::BlockKind::Data);
    assert_eq!(
        data.loads_io - before.kind(lsm::BlockKind::Data).loads_io,
        1
    );
    assert!(data.bytes_io > 0);

    // The same block again: from the cache, no file read.
    assert!(tree.get("key00043", SeqNo::MAX).unwrap().is_some());
    let second = metrics.read_counts();
    assert_eq!(second.kind(lsm::BlockKind::Data).loads_io, data.loads_io);
    assert_eq!(
        second.kind(lsm::BlockKind::Data).loads_cached,
        data.loads_cached + 1
    );
    assert!(metrics.data_block_cache_hit_rate() > 0.0);
    assert!(metrics.block_cache_hit_rate() > 0.0 && metrics.block_cache_hit_rate() <= 1.0);
    assert_eq!(
        metrics.block_loads(),
        metrics.block_load_io_count() + metrics.block_load_cached_count()
    );
    assert_eq!(
        metrics.data_block_io(),
        second.kind(lsm::BlockKind::Data).bytes_io
    );
    assert!(metrics.block_io() >= metrics.data_block_io());

    let cache = tree.cache_stats();
    assert!(cache.hits >= 1 && cache.misses >= 1);
    assert!(cache.size_bytes > 0 && cache.capacity_bytes == 8 << 20);
    assert!(cache.hit_rate > 0.0 && cache.hit_rate < 1.0);

    // A full scan reads every data block once more (from the cache or the file).
    let loads = metrics.data_block_load_count() + metrics.data_block_load_cached_count();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 2_000);
    assert!(metrics.data_block_load_count() + metrics.data_block_load_cached_count() > loads);
}

#[test]
fn filters_count_queries_rejections_and_prefix_skips() {
    let extractor: Arc<dyn PrefixExtractor> = Arc::new(FixedPrefix::new(3));
    let tree = config().prefix_extractor(extractor).open().unwrap();
    let mut seqno = 1;
    fill(&tree, 500, &mut seqno);
    let metrics = tree.metrics();
    assert_eq!(metrics.filter_queries(), 0);

    for i in 0..100 {
        assert!(
            tree.get(format!("key{i:05}x"), SeqNo::MAX)
                .unwrap()
                .is_none()
        );
    }
    assert!(tree.get("key00001", SeqNo::MAX).unwrap().is_some());
    assert_eq!(metrics.filter_queries(), 101);
    let skipped = metrics.io_skipped_by_filter();
    // BuRR at its default rate lets about 1 in 128 absent keys through.
    assert!(
        (90..=100).contains(&skipped),
        "{skipped} of 100 absent keys skipped"
    );
    assert_eq!(metrics.filter_false_positives(), (100 - skipped) as u64);
    assert!((metrics.filter_efficiency() - skipped as f64 / 101.0).abs() < 1e-9);

    // A table of prefixes `a00`, `a02`, ... `a18`: a scan of `a05` (inside its key
    // range) is answered by the prefix filter alone.
    for i in 0..200_u32 {
        tree.insert(format!("a{:02}-{i:03}", (i % 10) * 2), "v", seqno);
        seqno += 1;
    }
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(metrics.prefix_bloom_skips(), 0);
    assert_eq!(tree.prefix("a05", SeqNo::MAX, None).count(), 0);
    assert_eq!(metrics.prefix_bloom_skips(), 1);
    assert_eq!(tree.prefix("a04", SeqNo::MAX, None).count(), 20);
    assert_eq!(metrics.prefix_bloom_skips(), 1);
}

#[test]
fn separated_values_count_blob_reads() {
    let tree = config()
        .with_kv_separation(Some(
            KvSeparationOptions::default().separation_threshold(64),
        ))
        .open()
        .unwrap();
    for i in 0..50_u32 {
        tree.insert(format!("key{i:02}"), vec![b'v'; 1_000], u64::from(i) + 1);
    }
    tree.flush_active_memtable(0).unwrap();
    let metrics = tree.metrics();
    assert_eq!(metrics.blob_read_count(), 0);
    for i in 0..10 {
        assert_eq!(
            tree.get(format!("key{i:02}"), SeqNo::MAX)
                .unwrap()
                .unwrap()
                .len(),
            1_000
        );
    }
    assert_eq!(metrics.blob_read_count(), 10);
    assert!(metrics.blob_read_bytes() >= 10 * 1_000 / 100);
}

#[test]
fn flushes_and_compactions_count_their_work() {
    let tree = config().open().unwrap();
    let metrics = Arc::clone(tree.metrics());
    let mut seqno = 1;
    for _ in 0..3 {
        fill(&tree, 300, &mut seqno);
    }
    assert_eq!(metrics.flush_count(), 3);
    assert_eq!(metrics.bytes_flushed(), tree.disk_space());
    // Flushing an empty memtable writes nothing and counts nothing.
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(metrics.flush_count(), 3);

    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert_eq!(metrics.compactions_merged(), 1);
    assert_eq!(metrics.bytes_compacted_read(), metrics.bytes_flushed());
    assert_eq!(metrics.bytes_compacted_written(), tree.disk_space());
    assert_eq!(
        metrics.compactions_moved() + metrics.compactions_dropped(),
        0
    );
}

#[test]
fn paced_writes_count_their_slowdown() {
    let maintenance = MaintenanceOptions {
        memtable_size_bytes: 1 << 20,
        // Every write is paced to 1 MB/s: the debt reaches a millisecond every ten
        // writes of 100 bytes.
        sealed_slowdown: 0,
        slowdown_rate: Some(1_000_000),
        ..MaintenanceOptions::default()
    };
    let tree = config()
        .with_background_maintenance(Some(maintenance))
        .open()
        .unwrap();
    for i in 0..100_u32 {
        tree.insert(format!("key{i:03}"), vec![b'v'; 94], u64::from(i) + 1);
    }
    let metrics = tree.metrics();
    assert!(
        metrics.slowdown_count() >= 5,
        "{}",
        metrics.slowdown_count()
    );
    assert!(metrics.slowdown_time() >= std::time::Duration::from_millis(5));
    assert_eq!(metrics.stall_count(), 0);
}
