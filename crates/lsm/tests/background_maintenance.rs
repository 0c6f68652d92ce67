//! Background maintenance: full memtables are flushed and level 0 is compacted on
//! background threads, a failure there reaches the next `try_*` write, and dropping the
//! tree stops the threads and keeps what was in memory.

#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "support/common.rs"]
mod common;

use std::io;
use std::sync::Arc;

use lsm::background::MaintenanceOptions;
use lsm::compaction::Leveled;
use lsm::{AbstractTree, AnyTree, Config, SeqNo, SequenceNumberCounter};
use lsm_testkit::sim_fs::SimFs;

fn options() -> MaintenanceOptions {
    MaintenanceOptions {
        memtable_size_bytes: 64 << 10,
        strategy: Arc::new(
            Leveled::default()
                .with_l0_threshold(4)
                .with_table_target_size(64 << 10),
        ),
        l0_slowdown_runs: 6,
        l0_stop_runs: 10,
        ..MaintenanceOptions::default()
    }
}

fn open(fs: &SimFs, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::new(fs.clone()))
        .with_background_maintenance(Some(options()))
        .open()
        .unwrap()
}

#[test]
fn writes_are_flushed_and_compacted_in_the_background() {
    let fs = SimFs::new();
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &seqno);
    for i in 0..20_000_u32 {
        tree.insert(
            format!("key{:06}", i.wrapping_mul(7_919) % 20_000),
            vec![b'v'; 100],
            seqno.next(),
        );
    }
    common::eventually("the sealed memtables are flushed", || {
        tree.sealed_memtable_count() == 0
    });
    assert!(tree.table_count() > 0);
    common::eventually("level 0 is compacted below its trigger", || {
        tree.l0_run_count() < 4
    });
    assert!(tree.level_table_count(1).unwrap() > 0);
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 20_000);
    tree.try_insert("last", "write", seqno.next()).unwrap();
    // Dropping stops the threads and flushes the active memtable.
    drop(tree);
    let tree = open(&fs, &seqno);
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 20_001);
    assert_eq!(
        tree.get("last", SeqNo::MAX).unwrap().as_deref(),
        Some(&b"write"[..])
    );
}

#[test]
fn a_background_failure_reaches_the_next_write_and_is_retried() {
    let fs = SimFs::new();
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &seqno);
    // The next write the file system sees fails: the first background flush's table.
    fs.fail_op(fs.op_count(), io::ErrorKind::Other);
    for i in 0..2_000_u32 {
        tree.insert(format!("key{i:06}"), vec![b'v'; 100], seqno.next());
    }
    let mut surfaced = false;
    common::eventually("the failure reaches a write", || {
        surfaced = tree.write_admission().is_err();
        surfaced
    });
    common::eventually("the retried flush empties the sealed memtables", || {
        tree.sealed_memtable_count() == 0
    });
    tree.write_admission().unwrap();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 2_000);
}
