//! The `Database` when the file system fails: an I/O error at every mutating operation
//! of a workload (the log's appends, syncs and segment changes, the registry, and the
//! flushes and compactions behind it), and a disk that fills up at every size. Errors
//! are typed, nothing acknowledged is lost (in the process, and after reopening), and
//! once space returns the database takes writes again.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io;
use std::sync::Arc;

use lsm::{Database, Durability, Error, Guard, KeyspaceCreateOptions};
use lsm_testkit::sim_fs::SimFs;

fn open(fs: &SimFs) -> lsm::Result<Database> {
    Database::builder("/db")
        .with_fs(Arc::new(fs.clone()))
        .journal_segment_size(2 << 10)
        .max_write_buffer_size(8 << 10)
        .open()
}

/// Writes batches (`i` sets `k{i % 7}` to `i` in both keyspaces; every other one
/// synced) until one fails; returns how many succeeded and the error.
fn workload(fs: &SimFs) -> (usize, Option<Error>) {
    let db = match open(fs) {
        Ok(db) => db,
        Err(error) => return (0, Some(error)),
    };
    let keyspaces = ["a", "b"].map(|name| db.keyspace(name, KeyspaceCreateOptions::default));
    let [Ok(a), Ok(b)] = keyspaces else {
        let [a, b] = keyspaces;
        return (0, a.and(b).err());
    };
    for i in 0..80_usize {
        let durability = if i % 2 == 0 {
            Durability::Sync
        } else {
            Durability::Flush
        };
        let mut batch = db.batch().durability(durability);
        let value = format!("{i:0150}");
        batch.insert(&a, format!("k{}", i % 7), value.clone());
        batch.insert(&b, format!("k{}", i % 7), value);
        if let Err(error) = batch.commit() {
            return (i, Some(error));
        }
        // What a commit acknowledged reads back in the process.
        assert!(a.get(format!("k{}", i % 7)).unwrap().is_some());
    }
    (80, None)
}

/// The value of each key after the first `count` batches.
fn expected(count: usize) -> Vec<(String, String)> {
    let mut state: Vec<(String, String)> = (0..7)
        .filter_map(|key| {
            let last = (0..count).rev().find(|i| i % 7 == key)?;
            Some((format!("k{key}"), format!("{last:0150}")))
        })
        .collect();
    state.sort();
    state
}

fn read(db: &Database, name: &str) -> Vec<(String, String)> {
    if !db.keyspace_exists(name) {
        return Vec::new();
    }
    db.keyspace(name, KeyspaceCreateOptions::default)
        .unwrap()
        .iter()
        .map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (
                String::from_utf8(key.to_vec()).unwrap(),
                String::from_utf8(value.to_vec()).unwrap(),
            )
        })
        .collect()
}

/// Reopens and checks that the state is that of some prefix of at least `acknowledged`
/// batches, whole in both keyspaces.
fn check_recovery(fs: &SimFs, acknowledged: usize, context: &str) {
    let db = open(fs).unwrap_or_else(|error| panic!("{context}: reopening: {error}"));
    let (a, b) = (read(&db, "a"), read(&db, "b"));
    assert_eq!(a, b, "{context}: a batch came back in part");
    assert!(
        (acknowledged..=80).any(|count| expected(count) == a),
        "{context}: {acknowledged} batches acknowledged, {a:?} came back"
    );
    // Writable again.
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
        assert_eq!(workload(&fs).0, 80);
        fs.op_count()
    };
    let mut refused = 0;
    for kind in [io::ErrorKind::Other, io::ErrorKind::StorageFull] {
        for fail_at in 0..total_ops {
            let fs = SimFs::new();
            fs.fail_op(fail_at, kind);
            let (acknowledged, error) = workload(&fs);
            let context = format!("{kind:?} at operation {fail_at}");
            if let Some(error) = &error {
                assert!(is_typed(error), "{context}: {error:?}");
                refused += 1;
            }
            // A fault the workload did not reach (background work varies run to run)
            // must not strike the recovery instead.
            fs.fail_op(u64::MAX, kind);
            check_recovery(&fs, acknowledged, &context);
        }
    }
    // Most failures reach a writer (the log's own operations); the rest strike
    // background flushes and compactions, which retry.
    assert!(
        refused > total_ops / 2,
        "{refused} of {} runs saw an error",
        2 * total_ops
    );
}

#[test]
fn a_full_disk_refuses_writes_and_space_returning_brings_them_back() {
    // From too small to open, past where the workload's flushes and compactions run.
    let mut refused = 0;
    for quota in (1 << 10..28 << 10).step_by(1 << 10) {
        let fs = SimFs::new();
        fs.set_quota_bytes(Some(quota));
        let (acknowledged, error) = workload(&fs);
        let context = format!("quota {quota}");
        if let Some(error) = &error {
            assert!(is_typed(error), "{context}: {error:?}");
            refused += 1;
        }
        fs.set_quota_bytes(None);
        check_recovery(&fs, acknowledged, &context);
    }
    assert!(refused > 10, "only {refused} of 27 quotas were reached");
}
