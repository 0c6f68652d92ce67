//! Configuration choices: a shared block cache and open-file table, another `Fs`, the
//! directory-lock switch, and per-level policies that change what tables look like.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::config::{
    BlockSizePolicy, CompressionPolicy, CompressionType, FilterPolicy, PinningPolicy,
};
use lsm::{AbstractTree, Cache, Config, DescriptorTable, MemFs, SequenceNumberCounter};

fn fill(tree: &lsm::AnyTree, seqno: &SequenceNumberCounter, prefix: &str) {
    for i in 0..2_000_u32 {
        tree.insert(format!("{prefix}{i:05}"), vec![b'v'; 100], seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
}

#[test]
fn trees_share_one_cache_and_one_descriptor_table() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(Cache::with_capacity_bytes(1 << 20));
    let descriptors = Arc::new(DescriptorTable::new(1));
    let seqno = SequenceNumberCounter::default();
    let trees: Vec<_> = ["one", "two"]
        .iter()
        .map(|name| {
            Config::new(
                dir.path().join(name),
                seqno.clone(),
                SequenceNumberCounter::default(),
            )
            .use_cache(Arc::clone(&cache))
            .use_descriptor_table(Some(Arc::clone(&descriptors)))
            .open()
            .unwrap()
        })
        .collect();
    for (tree, prefix) in trees.iter().zip(["a", "b"]) {
        fill(tree, &seqno, prefix);
    }
    for (tree, prefix) in trees.iter().zip(["a", "b"]) {
        for i in (0..2_000).step_by(97) {
            assert!(
                tree.contains_key(format!("{prefix}{i:05}"), seqno.get())
                    .unwrap()
            );
        }
    }
    assert!(cache.size() > 0 && cache.size() <= cache.capacity());
    assert!(
        descriptors.open_count() <= 1,
        "both trees stay within one open file"
    );
    assert!(cache.stats().hits + cache.stats().misses > 0);
}

#[test]
fn an_in_memory_file_system_and_no_directory_lock() {
    let fs = Arc::new(MemFs::new());
    let seqno = SequenceNumberCounter::default();
    let open = |lock| {
        Config::new("/mem/db", seqno.clone(), SequenceNumberCounter::default())
            .with_shared_fs(fs.clone())
            .with_directory_lock(lock)
            .open()
    };
    let tree = open(true).unwrap();
    fill(&tree, &seqno, "k");
    assert!(matches!(open(true), Err(lsm::Error::Locked(_))));
    // Without the lock a second opener is let in (the caller guarantees exclusion).
    let second = open(false).unwrap();
    assert_eq!(second.len(seqno.get(), None).unwrap(), 2_000);
}

#[test]
fn per_level_policies_shape_the_tables() {
    let seqno = SequenceNumberCounter::default();
    let open = |config: Config| {
        let tree = config.with_fs(MemFs::new()).open().unwrap();
        fill(&tree, &seqno, "k");
        tree
    };
    let plain = open(
        Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
            .filter_policy(FilterPolicy::disabled()),
    );
    let compressed = open(
        Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
            .data_block_compression_policy(CompressionPolicy::all(
                CompressionType::zstd(3).unwrap(),
            ))
            .data_block_size_policy(BlockSizePolicy::all(16 << 10))
            .filter_block_pinning_policy(PinningPolicy::disabled()),
    );
    assert!(
        compressed.disk_space() * 4 < plain.disk_space(),
        "zstd shrinks repetitive values: {} vs {}",
        compressed.disk_space(),
        plain.disk_space()
    );
    assert!(compressed.contains_key("k01999", seqno.get()).unwrap());
    assert!(!plain.contains_key("k99999", seqno.get()).unwrap());
    // Filter sizes: none without a filter; about the designed bits per key with one,
    // held in memory while the filter is pinned, whatever the index pinning.
    assert_eq!(plain.filter_size(), 0);
    assert_eq!(plain.pinned_filter_size(), 0);
    let pinned = open(Config::new(
        "/db",
        seqno.clone(),
        SequenceNumberCounter::default(),
    ));
    let bits_per_key = pinned.filter_size() as f64 * 8.0 / 2_000.0;
    assert!(
        (8.0..14.0).contains(&bits_per_key),
        "10 bits per key designed, {bits_per_key:.2} stored"
    );
    assert!(pinned.pinned_filter_size() > 0);
    let unpinned = open(
        Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
            .index_block_pinning_policy(PinningPolicy::disabled())
            .filter_block_pinning_policy(PinningPolicy::disabled()),
    );
    assert_eq!(unpinned.filter_size(), pinned.filter_size());
    assert_eq!(unpinned.pinned_filter_size(), 0);
    // Index and filter pinning are set apart: pinning the index alone holds no filter.
    let index_only = open(
        Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
            .index_block_pinning_policy(PinningPolicy::all(true))
            .filter_block_pinning_policy(PinningPolicy::disabled()),
    );
    assert_eq!(index_only.pinned_filter_size(), 0);
    let filter_only = open(
        Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
            .index_block_pinning_policy(PinningPolicy::disabled())
            .filter_block_pinning_policy(PinningPolicy::all(true)),
    );
    assert_eq!(
        filter_only.pinned_filter_size(),
        pinned.pinned_filter_size()
    );
    // The filters count what they do for point reads of absent keys (between present
    // ones, so that only the filter rules them out): at 10 bits per key, few pass.
    let before = pinned.filter_counters();
    for i in 0..1_000_u32 {
        assert!(
            !pinned
                .contains_key(format!("k{i:05}~"), seqno.get())
                .unwrap()
        );
    }
    let after = pinned.filter_counters();
    let rejected = after.rejected - before.rejected;
    let passed_absent = after.passed_absent - before.passed_absent;
    assert_eq!(rejected + passed_absent, 1_000, "one table, one probe each");
    assert!(passed_absent < 20, "{passed_absent} of 1,000 passed");
    assert!(pinned.contains_key("k00042", seqno.get()).unwrap());
    assert_eq!(pinned.filter_counters().passed_absent, after.passed_absent);
    assert_eq!(plain.filter_counters(), lsm::FilterCounters::default());
}
