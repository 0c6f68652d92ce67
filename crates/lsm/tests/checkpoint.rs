//! Checkpoints hold every write made before them and open on their own.

#![allow(clippy::unwrap_used, reason = "tests")]

use lsm::{AbstractTree, Config, Error, SequenceNumberCounter};

#[test]
fn a_checkpoint_opens_alone_and_does_not_follow_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(
        dir.path().join("db"),
        seqno.clone(),
        SequenceNumberCounter::default(),
    )
    .open()
    .unwrap();
    for i in 0..500_u32 {
        tree.insert(format!("k{i:04}"), i.to_le_bytes(), seqno.next());
        if i == 250 {
            tree.flush_active_memtable(0).unwrap();
        }
    }
    let target = dir.path().join("checkpoint");
    let info = tree.create_checkpoint(&target).unwrap();
    assert_eq!(info.sst_files, 2);
    assert_eq!(info.seqno, 500);
    assert!(info.total_bytes > 0);
    assert!(matches!(
        tree.create_checkpoint(&target),
        Err(Error::CheckpointTargetExists(_))
    ));
    tree.clear().unwrap();
    drop(tree);
    let copy = Config::new(
        &target,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .open()
    .unwrap();
    assert_eq!(copy.len(lsm::SeqNo::MAX, None).unwrap(), 500);
    assert_eq!(
        copy.get("k0499", lsm::SeqNo::MAX).unwrap().as_deref(),
        Some(&499_u32.to_le_bytes()[..])
    );
}
