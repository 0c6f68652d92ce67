//! The row cache through the facade: a hot key is answered without a block load, and
//! every answer stays right across new versions, deletions, flushes, compactions and
//! snapshots.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::{AbstractTree, AnyTree, Cache, Config, MemFs, SeqNo, SequenceNumberCounter};

fn open(cache: &Arc<Cache>) -> AnyTree {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::new(MemFs::new()))
    .use_cache(Arc::clone(cache))
    .open()
    .unwrap()
}

fn text(value: Option<lsm::UserValue>) -> Option<String> {
    value.map(|value| String::from_utf8(value.to_vec()).unwrap())
}

#[test]
fn a_hot_key_is_answered_from_the_row_cache() {
    let cache = Arc::new(Cache::with_capacity_bytes(8 << 20).with_row_cache(true));
    assert!(cache.row_cache_enabled() && cache.metadata_priority());
    let tree = open(&cache);
    for i in 0..2_000_u64 {
        tree.insert(format!("key{i:05}"), format!("value{i}"), i + 1);
    }
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(
        text(tree.get("key00042", SeqNo::MAX).unwrap()).as_deref(),
        Some("value42")
    );
    let loads = tree.metrics().block_loads();
    for _ in 0..100 {
        assert_eq!(
            text(tree.get("key00042", SeqNo::MAX).unwrap()).as_deref(),
            Some("value42")
        );
        assert_eq!(tree.get("key00042x", SeqNo::MAX).unwrap(), None);
    }
    // The first miss of the absent key may load blocks; the 99 after it do not.
    assert!(tree.metrics().block_loads() <= loads + 2);
    let rows = cache.row_stats().unwrap();
    assert!(rows.hits >= 198, "{rows:?}");
}

#[test]
fn answers_stay_right_across_versions_deletes_compactions_and_snapshots() {
    for row_cache in [false, true] {
        let tree = open(&Arc::new(
            Cache::with_capacity_bytes(1 << 20).with_row_cache(row_cache),
        ));
        tree.insert("k", "v1", 1);
        tree.insert("other", "x", 2);
        tree.flush_active_memtable(0).unwrap();
        assert_eq!(
            text(tree.get("k", SeqNo::MAX).unwrap()).as_deref(),
            Some("v1")
        );
        assert_eq!(tree.get("absent", SeqNo::MAX).unwrap(), None);

        tree.insert("k", "v2", 3);
        tree.insert("absent", "now here", 4);
        assert_eq!(
            text(tree.get("k", SeqNo::MAX).unwrap()).as_deref(),
            Some("v2")
        );
        tree.flush_active_memtable(0).unwrap();
        assert_eq!(
            text(tree.get("k", SeqNo::MAX).unwrap()).as_deref(),
            Some("v2")
        );
        assert_eq!(
            text(tree.get("absent", SeqNo::MAX).unwrap()).as_deref(),
            Some("now here")
        );
        // A snapshot from before the second flush's writes reads the first table.
        assert_eq!(text(tree.get("k", 3).unwrap()).as_deref(), Some("v1"));
        assert_eq!(tree.get("absent", 4).unwrap(), None);

        tree.remove("k", 5);
        tree.flush_active_memtable(0).unwrap();
        assert_eq!(tree.get("k", SeqNo::MAX).unwrap(), None);
        assert_eq!(text(tree.get("k", 5).unwrap()).as_deref(), Some("v2"));

        tree.major_compact(64 << 20, 0).unwrap();
        assert_eq!(tree.get("k", SeqNo::MAX).unwrap(), None);
        assert_eq!(text(tree.get("k", 5).unwrap()).as_deref(), Some("v2"));
        assert_eq!(text(tree.get("k", 2).unwrap()).as_deref(), Some("v1"));
        assert_eq!(
            text(tree.get("absent", SeqNo::MAX).unwrap()).as_deref(),
            Some("now here")
        );
    }
}
