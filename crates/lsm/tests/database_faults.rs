//! The `Database` when the file system fails: an I/O error at every mutating operation
//! of a workload (the log's appends, syncs and segment changes, the registry, and the
//! flushes and compactions behind it), and a disk that fills up at every size. Errors
//! are typed, nothing acknowledged is lost (in the process, and after reopening), and
//! once space returns the database takes writes again.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "support/db_batches.rs"]
mod db_batches;

use std::io;

use db_batches::{Batches, Run};
use lsm::{Durability, Error, KeyspaceCreateOptions};
use lsm_testkit::sim_fs::SimFs;

/// 80 batches, every other one synced, the others handed to the OS.
const WORKLOAD: Batches = Batches {
    batches: 80,
    keys: 7,
    width: 150,
};

/// Runs [`WORKLOAD`] until a write fails; what each commit acknowledged reads back in
/// the process.
fn workload(fs: &SimFs) -> Run {
    let durability = |i: usize| {
        if i.is_multiple_of(2) {
            Durability::Sync
        } else {
            Durability::Flush
        }
    };
    WORKLOAD.run(fs, durability, |i, a| {
        assert!(a.get(WORKLOAD.key(i)).unwrap().is_some());
        Ok(())
    })
}

/// Reopens and checks that the state is that of some prefix of at least `acknowledged`
/// batches, whole in both keyspaces, and that the database takes writes again.
fn check_recovery(fs: &SimFs, acknowledged: usize, context: &str) {
    let db = WORKLOAD
        .open(fs)
        .unwrap_or_else(|error| panic!("{context}: reopening: {error}"));
    WORKLOAD.check(&db, acknowledged, context);
    let keyspace = db.keyspace("a", KeyspaceCreateOptions::default).unwrap();
    keyspace.insert("after", "x").unwrap();
}

fn is_typed(error: &Error) -> bool {
    matches!(
        error,
        Error::Io(_) | Error::Wal(_) | Error::Table(_) | Error::Manifest(_) | Error::Unrecoverable
    )
}

#[test]
fn an_io_error_at_any_operation_is_typed_and_loses_nothing_acknowledged() {
    let total_ops = {
        let fs = SimFs::new();
        assert_eq!(workload(&fs).committed.len(), 80);
        fs.op_count()
    };
    let started = std::time::Instant::now();
    let mut refused = 0;
    for kind in [io::ErrorKind::Other, io::ErrorKind::StorageFull] {
        for fail_at in 0..total_ops {
            let fs = SimFs::new();
            fs.fail_op(fail_at, kind);
            let run = workload(&fs);
            let context = format!("{kind:?} at operation {fail_at}");
            if let Some(error) = &run.error {
                assert!(is_typed(error), "{context}: {error:?}");
                refused += 1;
            }
            // A fault the workload did not reach (background work varies run to run)
            // must not strike the recovery instead.
            fs.fail_op(u64::MAX, kind);
            check_recovery(&fs, run.committed.len(), &context);
        }
    }
    // Most failures reach a writer (the log's own operations); the rest strike
    // background flushes and compactions, which retry.
    assert!(
        refused > total_ops / 2,
        "{refused} of {} runs saw an error",
        2 * total_ops
    );
    lsm_testkit::reliability::record(
        "G6",
        "database_faults: EIO once and ENOSPC at every operation of a logged workload",
        2 * total_ops,
        "runs",
        started,
    );
}

#[test]
fn a_full_disk_refuses_writes_and_space_returning_brings_them_back() {
    // From too small to open, past where the workload's flushes and compactions run.
    let started = std::time::Instant::now();
    let mut refused = 0;
    for quota in (1 << 10..28 << 10).step_by(1 << 10) {
        let fs = SimFs::new();
        fs.set_quota_bytes(Some(quota));
        let run = workload(&fs);
        let context = format!("quota {quota}");
        if let Some(error) = &run.error {
            assert!(is_typed(error), "{context}: {error:?}");
            refused += 1;
        }
        fs.set_quota_bytes(None);
        check_recovery(&fs, run.committed.len(), &context);
    }
    assert!(refused > 10, "only {refused} of 27 quotas were reached");
    lsm_testkit::reliability::record(
        "G6",
        "database_faults: a quota that runs out, then room again",
        27,
        "runs",
        started,
    );
}
