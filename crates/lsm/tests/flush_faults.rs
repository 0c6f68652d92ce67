//! An I/O error at any operation of a flush: the caller gets a typed error, every
//! acknowledged write stays readable in the process, a failure before the manifest edit
//! leaves the tree usable (the next flush retries), a failure of the manifest poisons it
//! (`Unrecoverable` until reopened), and a reopen finds a consistent tree.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::io;

use lsm::{AbstractTree, AnyTree, Error, SequenceNumberCounter};
use lsm_testkit::sim_fs::SimFs;

#[path = "support/common.rs"]
mod common;
use common::sim_tree;

fn fill(tree: &AnyTree, seqno: &SequenceNumberCounter, round: u32) {
    for i in 0..200_u32 {
        tree.insert(format!("key{i:03}"), format!("{round}-{i}"), seqno.next());
    }
}

#[test]
fn an_error_at_any_flush_operation_is_typed_and_loses_nothing() {
    // Count the operations of one flush.
    let probe = SimFs::new();
    let seqno = SequenceNumberCounter::default();
    let tree = sim_tree(&probe, &seqno);
    fill(&tree, &seqno, 0);
    let before = probe.op_count();
    tree.flush_active_memtable(0).unwrap();
    let flush_ops = probe.op_count() - before;
    drop(tree);
    assert!(flush_ops >= 4, "{flush_ops} operations");

    let started = std::time::Instant::now();
    let (mut retried, mut poisoned) = (0, 0);
    for op in 0..flush_ops {
        let fs = SimFs::new();
        let seqno = SequenceNumberCounter::default();
        let tree = sim_tree(&fs, &seqno);
        fill(&tree, &seqno, 0);
        fs.fail_op(fs.op_count() + op, io::ErrorKind::Other);
        let error = tree.flush_active_memtable(0).unwrap_err();
        assert!(
            matches!(error, Error::Table(_) | Error::Manifest(_) | Error::Io(_)),
            "{error}"
        );
        // Nothing acknowledged is lost in the process.
        assert_eq!(tree.len(seqno.get(), None).unwrap(), 200, "op {op}");
        match tree.flush_active_memtable(0) {
            Ok(()) => {
                retried += 1;
                assert_eq!(tree.sealed_memtable_count(), 0);
            }
            Err(Error::Unrecoverable) => {
                poisoned += 1;
                assert!(matches!(
                    tree.try_insert("x", "y", seqno.next()),
                    Err(Error::Unrecoverable)
                ));
            }
            Err(other) => panic!("op {op}: {other}"),
        }
        assert_eq!(tree.len(seqno.get(), None).unwrap(), 200, "op {op}");
        drop(tree);
        // Reopen: either the flush is durable or it is not; never a half.
        let tree = sim_tree(&fs, &seqno);
        let len = tree.len(seqno.get(), None).unwrap();
        assert!(len == 0 || len == 200, "op {op}: {len} keys after reopen");
        fill(&tree, &seqno, 1);
        tree.flush_active_memtable(0).unwrap();
        assert_eq!(tree.len(seqno.get(), None).unwrap(), 200);
    }
    assert!(
        retried > 0 && poisoned > 0,
        "retried {retried}, poisoned {poisoned}"
    );
    println!("{flush_ops} flush operations: {retried} retried, {poisoned} poisoned");
    lsm_testkit::reliability::record(
        "G6",
        "flush_faults: EIO at every operation of a flush",
        flush_ops,
        "runs",
        started,
    );
}
