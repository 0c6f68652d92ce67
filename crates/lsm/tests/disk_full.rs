//! Disk full: a flush or compaction that runs out of space fails with a typed error,
//! loses nothing acknowledged (reads go on from memory), and succeeds once space returns
//! (after a reopen when the manifest itself could not be written).

#![allow(clippy::unwrap_used, reason = "tests")]

use std::io;

use lsm::{AbstractTree, Error, SeqNo, SequenceNumberCounter};
use lsm_testkit::sim_fs::SimFs;

#[path = "support/common.rs"]
mod common;
use common::sim_tree;

fn is_storage_full(error: &Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::StorageFull
        {
            return true;
        }
        source = current.source();
    }
    false
}

#[test]
fn running_out_of_space_is_typed_and_loses_nothing() {
    let started = std::time::Instant::now();
    let mut outcomes = (0, 0);
    // Quotas from "no room for the first table" to "no room for the manifest edit".
    for quota_kib in [1_u64, 8, 16, 24, 32, 40, 48, 64] {
        let fs = SimFs::new();
        let seqno = SequenceNumberCounter::default();
        let tree = sim_tree(&fs, &seqno);
        for i in 0..1_000_u32 {
            tree.insert(format!("key{i:05}"), vec![b'v'; 40], seqno.next());
        }
        fs.set_quota_bytes(Some(quota_kib << 10));
        match tree.flush_active_memtable(0) {
            Ok(()) => {}
            Err(error) => {
                assert!(
                    is_storage_full(&error) || matches!(error, Error::Unrecoverable),
                    "{error}"
                );
                assert_eq!(
                    tree.len(SeqNo::MAX, None).unwrap(),
                    1_000,
                    "quota {quota_kib} KiB"
                );
                fs.set_quota_bytes(None);
                match tree.flush_active_memtable(0) {
                    Ok(()) => outcomes.0 += 1,
                    Err(Error::Unrecoverable) => {
                        // The manifest failed: reopen finds the flush durable or not.
                        outcomes.1 += 1;
                        drop(tree);
                        let tree = sim_tree(&fs, &seqno);
                        let len = tree.len(SeqNo::MAX, None).unwrap();
                        assert!(len == 0 || len == 1_000, "{len}");
                        continue;
                    }
                    Err(other) => panic!("quota {quota_kib} KiB: {other}"),
                }
            }
        }
        fs.set_quota_bytes(None);
        assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 1_000);
        drop(tree);
        assert_eq!(sim_tree(&fs, &seqno).len(SeqNo::MAX, None).unwrap(), 1_000);
    }
    assert!(outcomes.0 + outcomes.1 > 0, "some quota stopped a flush");
    lsm_testkit::reliability::record(
        "G6",
        "disk_full: a quota running out in a flush",
        8,
        "runs",
        started,
    );
}
