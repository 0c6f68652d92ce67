//! The storage gate and live settings through the facade: a quota and a full disk
//! refuse `try_*` writes with a typed error while reads go on, room coming back reopens
//! the gate by itself, a merge that might not fit is deferred, what was acknowledged
//! survives a flush and a reopen, and runtime settings validate, apply at once and reset
//! on reopen.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "tests"
)]

#[path = "support/common.rs"]
mod common;

use std::sync::Arc;

use lsm::compaction::CompactionAction;
use lsm::fs::{Fs, OpenOptions};
use lsm::{
    AbstractTree, AnyTree, Config, Error, MemFs, RuntimeConfig, SeqNo, SequenceNumberCounter,
};
use lsm_testkit::sim_fs::SimFs;

fn gated(limit: Option<u64>) -> RuntimeConfig {
    let mut runtime = RuntimeConfig::default();
    runtime.storage_admission_check = true;
    runtime.storage_limit_bytes = limit;
    runtime
}

fn open(fs: Arc<dyn Fs>, runtime: RuntimeConfig) -> AnyTree {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(fs)
    .with_runtime_config(runtime)
    .open()
    .unwrap()
}

fn key(i: u64) -> String {
    format!("key{i:06}")
}

/// Writes with `try_insert` from `from` until the gate refuses; returns the first key
/// not written and the error.
fn write_until_refused(tree: &AnyTree, from: u64) -> (u64, Error) {
    for i in from..from + 1_000_000 {
        if let Err(error) = tree.try_insert(key(i), vec![b'v'; 100], i + 1) {
            return (i, error);
        }
    }
    panic!("never refused");
}

#[test]
fn a_quota_refuses_writes_keeps_reads_and_a_raised_quota_admits_them_at_once() {
    let tree = open(Arc::new(MemFs::new()), gated(Some(200_000)));
    assert!(!tree.is_read_only());
    let (written, error) = write_until_refused(&tree, 0);
    let Error::StorageFull { used, limit } = error else {
        panic!("{error:?}");
    };
    assert_eq!(limit, 200_000);
    assert!(used > limit);
    assert!(written > 500, "{written} writes before the quota");
    assert!(tree.is_read_only());
    let stats = tree.storage_stats().unwrap();
    assert_eq!(stats.status, lsm::StorageStatus::ReadOnlyOutOfSpace);
    assert!(stats.capacity_bytes.unwrap() <= 200_000);
    // Reads go on; the batch path is gated alike.
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), written as usize);
    let batch = lsm::WriteBatch::default();
    assert!(matches!(
        tree.apply_batch(batch, written + 1),
        Err(Error::StorageFull { .. })
    ));

    tree.update_runtime_config(|runtime| runtime.storage_limit_bytes = Some(10 << 20))
        .unwrap();
    assert!(!tree.is_read_only());
    tree.try_insert(key(written), "after", written + 1).unwrap();

    // Everything acknowledged is there after a flush.
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), written as usize + 1);
}

#[test]
fn a_full_disk_refuses_writes_until_space_is_freed_elsewhere() {
    let fs = MemFs::with_capacity(4 << 20);
    let tree = open(Arc::new(fs.clone()), gated(None));
    // Another file takes most of the disk.
    let filler_path = std::path::Path::new("/filler");
    let filler = fs.open(filler_path, OpenOptions::create_new()).unwrap();
    filler.set_len(3 << 20).unwrap();
    drop(filler);
    tree.update_runtime_config(|_| {}).unwrap();
    let (written, error) = write_until_refused(&tree, 0);
    assert!(matches!(error, Error::StorageFull { .. }), "{error:?}");
    // The gate kept room for the memtable: its flush fits.
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), written as usize);

    // Freed elsewhere, with no call on the tree but its writes: they are admitted again
    // once the gate measures anew.
    let (_, error) = write_until_refused(&tree, written);
    assert!(matches!(error, Error::StorageFull { .. }));
    fs.remove_file(filler_path).unwrap();
    common::eventually("writes are admitted again", || {
        tree.try_insert("back", "again", 10_000_000).is_ok()
    });
    assert!(!tree.is_read_only());
}

#[test]
fn without_the_gate_nothing_is_refused_and_a_quota_alone_does_nothing() {
    let mut runtime = RuntimeConfig::default();
    runtime.storage_limit_bytes = Some(1_000);
    let tree = open(Arc::new(MemFs::new()), runtime);
    for i in 0..1_000 {
        tree.try_insert(key(i), vec![b'v'; 100], i + 1).unwrap();
    }
    assert!(!tree.is_read_only());
}

#[test]
fn a_merge_that_might_not_fit_is_deferred_and_runs_once_there_is_room() {
    let fs = MemFs::with_capacity(64 << 20);
    let tree = open(Arc::new(fs.clone()), gated(None));
    for flush in 0..4 {
        for i in 0..2_000 {
            tree.insert(key(i * 4 + flush), vec![b'v'; 100], i * 4 + flush + 1);
        }
        tree.flush_active_memtable(0).unwrap();
    }
    let used = tree.disk_space();
    // Less free space than the four tables a major compaction reads.
    fs.set_capacity(Some(used + used / 2));
    let result = tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert_eq!(result.action, CompactionAction::Nothing);
    assert_eq!(tree.metrics().compactions_deferred_for_space(), 1);
    assert_eq!(tree.table_count(), 4);
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 8_000);

    fs.set_capacity(Some(used * 3));
    let result = tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert_eq!(result.action, CompactionAction::Merged);
    assert_eq!(tree.table_count(), 1);
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 8_000);
}

#[test]
fn a_quota_on_a_simulated_disk_loses_nothing_acknowledged() {
    let fs = SimFs::new();
    fs.set_quota_bytes(Some(2 << 20));
    let tree = open(Arc::new(fs.clone()), gated(None));
    let mut written = 0;
    for _ in 0..3 {
        let (next, error) = write_until_refused(&tree, written);
        assert!(matches!(error, Error::StorageFull { .. }));
        written = next;
        // Room was kept for what the memtables hold.
        tree.flush_active_memtable(0).unwrap();
    }
    drop(tree);
    let image = fs.crash(
        lsm_testkit::sim_fs::CrashModel::DropUnsynced,
        &mut lsm_testkit::rng::Rng::new(3),
    );
    image.set_quota_bytes(None);
    let tree = open(Arc::new(image), RuntimeConfig::default());
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), written as usize);
    assert_eq!(
        tree.get(key(written - 1), SeqNo::MAX)
            .unwrap()
            .map(|value| value.len()),
        Some(100)
    );
}

#[test]
fn runtime_settings_validate_apply_at_once_and_reset_on_reopen() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = open(Arc::clone(&fs), RuntimeConfig::default());
    assert_eq!(*tree.runtime_config(), RuntimeConfig::default());
    let refused = tree.update_runtime_config(|runtime| runtime.storage_limit_bytes = Some(0));
    assert!(matches!(refused, Err(Error::InvalidConfig(_))));
    let refused = tree.update_runtime_config(|runtime| runtime.compaction_rate_limit = Some(0));
    assert!(matches!(refused, Err(Error::InvalidConfig(_))));
    assert_eq!(*tree.runtime_config(), RuntimeConfig::default());

    tree.update_runtime_config(|runtime| {
        runtime.compaction_rate_limit = Some(1 << 30);
        runtime.storage_admission_check = true;
    })
    .unwrap();
    assert_eq!(tree.runtime_config().compaction_rate_limit, Some(1 << 30));
    assert!(tree.runtime_config().storage_admission_check);
    drop(tree);

    let tree = open(fs, RuntimeConfig::default());
    assert_eq!(*tree.runtime_config(), RuntimeConfig::default());
    // A rate set on the Config seeds the runtime one.
    let seeded = Config::new(
        "/other",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::new(MemFs::new()))
    .compaction_rate_limit(5_000_000)
    .open()
    .unwrap();
    assert_eq!(
        seeded.runtime_config().compaction_rate_limit,
        Some(5_000_000)
    );
    drop(tree);
}

#[test]
fn a_database_keyspace_with_the_gate_refuses_commits_and_takes_them_again() {
    let db = lsm::Database::builder("/db")
        .with_fs(Arc::new(MemFs::new()))
        .open()
        .unwrap();
    let gated_options = || {
        lsm::KeyspaceCreateOptions::default()
            .with_config(|config| config.with_runtime_config(gated(Some(100_000))))
    };
    let limited = db.keyspace("limited", gated_options).unwrap();
    let free = db
        .keyspace("free", lsm::KeyspaceCreateOptions::default)
        .unwrap();
    let mut refused = None;
    for i in 0..100_000_u64 {
        if let Err(error) = limited.insert(key(i), vec![b'v'; 100]) {
            refused = Some((i, error));
            break;
        }
    }
    let (written, error) = refused.expect("the quota refuses a write");
    assert!(matches!(error, Error::StorageFull { .. }), "{error:?}");
    // A batch touching the gated keyspace is refused whole; the other keyspace writes.
    let mut batch = db.batch();
    batch.insert(&free, "a", "1");
    batch.insert(&limited, "b", "2");
    assert!(matches!(batch.commit(), Err(Error::StorageFull { .. })));
    assert_eq!(free.get("a").unwrap(), None);
    free.insert("a", "1").unwrap();
    assert_eq!(limited.len().unwrap(), written as usize);

    limited
        .tree()
        .update_runtime_config(|runtime| runtime.storage_limit_bytes = None)
        .unwrap();
    limited.insert("after", "raised").unwrap();
}
