//! Two wrong behaviours a new user met first.
//!
//! `try_insert` with an empty key, or with a 70 KB key, panicked on an `assert!` in the
//! write path although the `try_*` calls exist to return an error instead; now every
//! `try_*` write and `apply_batch` returns `Error::InvalidArgument` and writes nothing.
//!
//! Reads through an overlay memtable (`index`) ignored its range tombstones: with `a`..`e`
//! in the tree and an overlay deleting `[b, d)`, `iter` and `range` still returned `b`
//! and `c`. Now the overlay's range tombstones hide keys of every source, at the
//! overlay's own seqno, in every read that takes an overlay.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::{
    AbstractTree, AnyTree, Argument, Config, Error, Guard, KvSeparationOptions, MAX_SEQNO, MemFs,
    Memtable, SeqNo, SequenceNumberCounter, ValueType, WriteBatch,
};
use lsm_core::limits::USER_KEY_LEN_MAX;
use lsm_core::{InternalEntry, RangeTombstone};
use proptest::prelude::*;

fn tree() -> (AnyTree, SequenceNumberCounter) {
    tree_with(None)
}

fn tree_with(separation: Option<KvSeparationOptions>) -> (AnyTree, SequenceNumberCounter) {
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_fs(MemFs::new())
        .with_kv_separation(separation)
        .open()
        .unwrap();
    (tree, seqno)
}

/// The argument an error names, or `None` for success.
fn refused<T: std::fmt::Debug>(result: lsm::Result<T>) -> Option<(Argument, u64, u64)> {
    match result {
        Ok(_) => None,
        Err(Error::InvalidArgument { what, len, limit }) => Some((what, len, limit)),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// Every version, tombstone and table the tree holds, as a count that any write moves.
fn footprint(tree: &AnyTree) -> (usize, Option<SeqNo>) {
    (tree.approximate_len(), tree.get_highest_seqno())
}

#[test]
fn try_writes_refuse_an_empty_and_an_oversize_key_and_write_nothing() {
    let (tree, seqno) = tree();
    let before = footprint(&tree);
    let long = vec![b'k'; 70_000];
    let max = USER_KEY_LEN_MAX as u64;
    let at = seqno.next();
    assert_eq!(
        refused(tree.try_insert("", "v", at)),
        Some((Argument::KeyLength, 0, 1))
    );
    assert_eq!(
        refused(tree.try_insert(long.clone(), "v", at)),
        Some((Argument::KeyLength, 70_000, max))
    );
    assert_eq!(
        refused(tree.try_remove("", at)),
        Some((Argument::KeyLength, 0, 1))
    );
    assert_eq!(
        refused(tree.try_remove_weak(long.clone(), at)),
        Some((Argument::KeyLength, 70_000, max))
    );
    assert_eq!(
        refused(tree.try_merge("", "+1", at)),
        Some((Argument::KeyLength, 0, 1))
    );
    assert_eq!(
        refused(tree.try_remove_range(long, b"z".to_vec(), at)),
        Some((Argument::RangeBoundLength, 70_000, max))
    );
    assert_eq!(
        refused(tree.try_insert("k", "v", MAX_SEQNO + 1)),
        Some((Argument::Seqno, MAX_SEQNO + 1, MAX_SEQNO))
    );
    assert_eq!(
        refused(tree.try_remove_range("a", "b", SeqNo::MAX)),
        Some((Argument::Seqno, SeqNo::MAX, MAX_SEQNO))
    );
    assert_eq!(footprint(&tree), before, "a refused write wrote something");

    // The limits themselves are fine, and the empty start bound of a range is valid.
    tree.try_insert(vec![b'k'; USER_KEY_LEN_MAX], "v", seqno.next())
        .unwrap();
    tree.try_remove_range("", "b", seqno.next()).unwrap();
    tree.try_insert("k", "v", MAX_SEQNO).unwrap();
    assert_eq!(
        tree.get("k", SeqNo::MAX).unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn the_error_says_what_broke_which_limit() {
    let (tree, seqno) = tree();
    let error = tree.try_insert("", "v", seqno.next()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid argument: key length 0 is below the minimum of 1"
    );
    let error = tree
        .try_insert(vec![0; 70_000], "v", seqno.next())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid argument: key length 70000 is above the maximum of 65535"
    );
}

#[test]
fn a_batch_with_one_bad_entry_writes_none_of_them() {
    for separation in [
        None,
        Some(KvSeparationOptions::default().separation_threshold(1)),
    ] {
        let (tree, seqno) = tree_with(separation);
        tree.insert("before", "1", seqno.next());
        let before = footprint(&tree);
        for bad in [Vec::new(), vec![b'x'; USER_KEY_LEN_MAX + 1]] {
            let mut batch = WriteBatch::new();
            batch.insert("a", "1");
            batch.merge("m", "+1");
            batch.insert(bad.clone(), "2");
            batch.remove("before");
            let at = seqno.next();
            let error = tree.apply_batch(batch, at).unwrap_err();
            assert!(matches!(
                error,
                Error::InvalidArgument {
                    what: Argument::KeyLength,
                    ..
                }
            ));
            assert_eq!(footprint(&tree), before);
            assert_eq!(tree.get("a", SeqNo::MAX).unwrap(), None);
            assert!(tree.get("before", SeqNo::MAX).unwrap().is_some());
        }
        let mut batch = WriteBatch::new();
        batch.insert("a", "1");
        assert!(matches!(
            tree.apply_batch(batch, MAX_SEQNO + 1),
            Err(Error::InvalidArgument {
                what: Argument::Seqno,
                ..
            })
        ));
        assert!(matches!(
            tree.apply_batch(WriteBatch::new(), SeqNo::MAX),
            Err(Error::InvalidArgument {
                what: Argument::Seqno,
                ..
            })
        ));
        assert_eq!(footprint(&tree), before);
    }
}

/// The lengths at and around a limit.
fn around(limit: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0_usize),
        Just(1),
        Just(limit - 1),
        Just(limit),
        Just(limit + 1),
        Just(limit + 2),
        0..=limit + 2,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every `try_*` write accepts exactly the keys within the limits, and a refused one
    /// changes nothing a reader can see.
    #[test]
    fn try_writes_accept_exactly_the_lengths_within_the_limits(
        key_len in around(USER_KEY_LEN_MAX),
        bound_len in around(USER_KEY_LEN_MAX),
        seqno_step in prop_oneof![Just(0_u64), Just(1), Just(2)],
        which in 0..5_u8,
    ) {
        let (tree, seqno) = tree();
        tree.insert("z-marker", "1", seqno.next());
        let before = footprint(&tree);
        let key = vec![b'k'; key_len];
        // MAX_SEQNO - 1, MAX_SEQNO, or one past it.
        let at = MAX_SEQNO - 1 + seqno_step;
        let seqno_ok = at <= MAX_SEQNO;
        let key_ok = (1..=USER_KEY_LEN_MAX).contains(&key_len);
        let (result, ok) = match which {
            0 => (tree.try_insert(key, "v", at).map(|_| ()), key_ok && seqno_ok),
            1 => (tree.try_remove(key, at).map(|_| ()), key_ok && seqno_ok),
            2 => (tree.try_remove_weak(key, at).map(|_| ()), key_ok && seqno_ok),
            3 => (tree.try_merge(key, "+", at).map(|_| ()), key_ok && seqno_ok),
            _ => {
                let end = vec![0xFF; bound_len];
                let result = tree.try_remove_range(key, end, at).map(|_| ());
                let ok = key_len <= USER_KEY_LEN_MAX && bound_len <= USER_KEY_LEN_MAX && seqno_ok;
                (result, ok)
            }
        };
        match result {
            Ok(()) => prop_assert!(ok, "accepted a write out of the limits"),
            Err(Error::InvalidArgument { .. }) => {
                prop_assert!(!ok, "refused a write within the limits");
                prop_assert_eq!(footprint(&tree), before);
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
        // The tree still works either way.
        tree.try_insert("after", "1", seqno.next()).unwrap();
    }
}

/// A tree holding `a`..`e`, some in a table and some in the memtable.
fn five_keys() -> (AnyTree, SequenceNumberCounter) {
    let (tree, seqno) = tree();
    for key in ["a", "b", "c"] {
        tree.insert(key, format!("{key}-tree"), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    for key in ["d", "e"] {
        tree.insert(key, format!("{key}-tree"), seqno.next());
    }
    (tree, seqno)
}

/// An overlay deleting `[b, d)` at seqno 100 and writing `c2` at 101, read at `at`.
fn overlay(at: SeqNo) -> lsm::Index {
    let order = lsm_core::KeyOrder::lexicographic();
    let memtable = Arc::new(Memtable::new_in(1_000, &order));
    memtable
        .insert_range_tombstone(RangeTombstone::new(&order, "b".into(), "d".into(), 100).unwrap());
    memtable.insert(InternalEntry::new("c2", "overlay", 101, ValueType::Value));
    Some((memtable, at))
}

fn keys(iter: impl Iterator<Item = lsm::IterGuardImpl>) -> Vec<String> {
    iter.map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn an_overlay_range_tombstone_hides_keys_in_every_read() {
    let (tree, seqno) = five_keys();
    let read = seqno.get();
    let index = || overlay(200);
    assert_eq!(keys(tree.iter(read, index())), ["a", "c2", "d", "e"]);
    assert_eq!(keys(tree.iter(read, index()).rev()), ["e", "d", "c2", "a"]);
    assert_eq!(keys(tree.range("b"..="d", read, index())), ["c2", "d"]);
    assert_eq!(keys(tree.range("b".."d", read, index()).rev()), ["c2"]);
    assert_eq!(keys(tree.prefix("c", read, index())), ["c2"]);
    assert_eq!(
        keys(tree.prefix("b", read, index()).rev()),
        Vec::<String>::new()
    );
    assert_eq!(tree.len(read, index()).unwrap(), 4);
    assert!(tree.is_empty(read, overlay_deleting_everything()).unwrap());
    assert_eq!(tree.len(read, overlay_deleting_everything()).unwrap(), 0);
    assert!(
        tree.first_key_value(read, overlay_deleting_everything())
            .is_none()
    );
    assert!(
        tree.last_key_value(read, overlay_deleting_everything())
            .is_none()
    );

    let first_only = Some((overlay_deleting("a", "b"), 200));
    let first = tree.first_key_value(read, first_only).unwrap();
    assert_eq!(first.key().unwrap(), "b");
    let last_only = Some((overlay_deleting("e", "f"), 200));
    let last = tree.last_key_value(read, last_only).unwrap();
    assert_eq!(last.key().unwrap(), "d");
}

#[test]
fn an_overlay_range_tombstone_counts_at_the_overlays_own_seqno() {
    let (tree, seqno) = five_keys();
    let read = seqno.get();
    // Read at 100, the overlay's tombstone (at 100) and its write are not visible yet.
    assert_eq!(
        keys(tree.iter(read, overlay(100))),
        ["a", "b", "c", "d", "e"]
    );
    // At 101 the tombstone is, the write (at 101) not.
    assert_eq!(keys(tree.iter(read, overlay(101))), ["a", "d", "e"]);
    // Without the overlay the tree is unchanged.
    assert_eq!(keys(tree.iter(read, None)), ["a", "b", "c", "d", "e"]);
}

#[test]
fn an_overlay_range_tombstone_hides_only_older_versions() {
    let (tree, seqno) = tree();
    // "b" written after the overlay's tombstone seqno is not hidden by it.
    let memtable = overlay_deleting("a", "z");
    let tombstone_seqno = 100;
    while seqno.get() <= tombstone_seqno {
        seqno.next();
    }
    tree.insert("a", "old", 5);
    tree.insert("b", "new", seqno.next());
    assert_eq!(
        keys(tree.iter(SeqNo::MAX, Some((memtable, 500)))),
        ["b"],
        "the tombstone hides the older version only"
    );
}

fn overlay_deleting(start: &str, end: &str) -> Arc<Memtable> {
    let order = lsm_core::KeyOrder::lexicographic();
    let memtable = Arc::new(Memtable::new_in(1_001, &order));
    memtable.insert_range_tombstone(
        RangeTombstone::new(&order, start.into(), end.into(), 100).unwrap(),
    );
    memtable
}

fn overlay_deleting_everything() -> lsm::Index {
    Some((overlay_deleting("", "zz"), 200))
}
