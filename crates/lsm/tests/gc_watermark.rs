//! Garbage collection at a flush's watermark `w` never changes a read at a seqno at or
//! above `w`: the newest version below `w` survives when newer versions exist above it
//! (dropping it would make a read at `w` see nothing, or an older value).

#![allow(clippy::unwrap_used, reason = "tests")]

use lsm::{AbstractTree, Config, SequenceNumberCounter};

#[test]
fn the_newest_version_below_the_watermark_survives() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .open()
        .unwrap();
    tree.insert("k", "v0", seqno.next()); // 0
    tree.insert("k", "v1", seqno.next()); // 1
    tree.insert("k", "v2", seqno.next()); // 2
    tree.insert("k", "v3", seqno.next()); // 3
    tree.remove("gone", seqno.next()); // 4
    let watermark = 3;
    tree.flush_active_memtable(watermark).unwrap();
    for (read_seqno, expected) in [(3, "v2"), (4, "v3"), (5, "v3")] {
        assert_eq!(
            tree.get("k", read_seqno).unwrap().as_deref(),
            Some(expected.as_bytes()),
            "read at {read_seqno}"
        );
    }
    // v0 and v1 are gone (nothing at or above the watermark can see them).
    assert_eq!(tree.approximate_len(), 3);
}
