//! Pieces the integration tests share (included with `#[path]`; each test uses some).

#![allow(dead_code, reason = "each test file uses a part of this module")]

use std::sync::Arc;

use lsm::{AbstractTree, AnyTree, Config, SequenceNumberCounter, UserValue};
use lsm_testkit::ops::concat;
use lsm_testkit::sim_fs::SimFs;

/// A merge operator that appends operands to the base: the model's merge function.
pub struct Concat;

impl lsm::MergeOperator for Concat {
    fn merge(
        &self,
        _key: &[u8],
        base: Option<&[u8]>,
        operands: &[&[u8]],
    ) -> lsm::Result<UserValue> {
        Ok(concat(base, operands).into())
    }
}

/// A tree with the default configuration in a fresh temporary directory.
pub fn temp_tree() -> (tempfile::TempDir, AnyTree, SequenceNumberCounter) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .open()
        .expect("the tree opens");
    assert!(
        tree.is_empty(lsm::SeqNo::MAX, None)
            .expect("a new tree reads")
    );
    (dir, tree, seqno)
}

/// A tree with the default configuration at `/db` on a simulated file system.
pub fn sim_tree(fs: &SimFs, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::new(fs.clone()))
        .open()
        .expect("the tree opens")
}
