//! Write batches: one seqno, all-or-nothing visibility at the visible seqno, repeated
//! merges folded in batch order, mixed kinds on one key refused; weak-delete counters.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use lsm::{
    AbstractTree, AnyTree, Config, Error, Guard, MemFs, SeqNo, SequenceNumberCounter, WriteBatch,
};

#[path = "support/common.rs"]
mod common;
use common::Concat;

fn tree() -> (AnyTree, SequenceNumberCounter, SequenceNumberCounter) {
    let seqno = SequenceNumberCounter::default();
    let visible = SequenceNumberCounter::default();
    let tree = Config::new("/db", seqno.clone(), visible.clone())
        .with_fs(MemFs::new())
        .with_merge_operator(Some(Arc::new(Concat)))
        .open()
        .unwrap();
    (tree, seqno, visible)
}

#[test]
fn a_batch_lands_at_one_seqno_and_folds_repeated_merges_in_order() {
    let (tree, seqno, visible) = tree();
    tree.insert("m", "base-", seqno.next());
    let mut batch = WriteBatch::with_capacity(4);
    batch.insert("a", "1");
    batch.merge("m", "x");
    batch.merge("m", "y");
    batch.remove("gone");
    assert_eq!(batch.len(), 4);
    let at = seqno.next();
    tree.apply_batch(batch, at).unwrap();
    assert_eq!(visible.get(), at + 1);
    assert_eq!(
        tree.get("a", at).unwrap(),
        None,
        "nothing before the batch's seqno"
    );
    assert_eq!(tree.get("a", at + 1).unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(
        tree.get("m", at + 1).unwrap().as_deref(),
        Some(&b"base-xy"[..])
    );
    let backward: Vec<_> = tree
        .iter(at + 1, None)
        .rev()
        .map(|item| item.into_inner().unwrap())
        .collect();
    assert_eq!(backward[0].1, "base-xy");
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(1 << 20, seqno.get()).unwrap();
    assert_eq!(
        tree.get("m", SeqNo::MAX).unwrap().as_deref(),
        Some(&b"base-xy"[..])
    );
}

#[test]
fn mixed_kinds_on_one_key_are_refused_and_nothing_is_written() {
    let (tree, seqno, _) = tree();
    let mut batch = WriteBatch::new();
    batch.insert("ok", "1");
    batch.insert("k", "v");
    batch.merge("k", "m");
    assert!(matches!(
        tree.apply_batch(batch, seqno.next()),
        Err(Error::MixedOperationBatch)
    ));
    assert!(tree.is_empty(SeqNo::MAX, None).unwrap());
    let mut batch = WriteBatch::new();
    batch.insert("k", "old");
    batch.insert("k", "new");
    tree.apply_batch(batch, seqno.next()).unwrap();
    assert_eq!(
        tree.get("k", SeqNo::MAX).unwrap().as_deref(),
        Some(&b"new"[..])
    );
}

#[test]
fn readers_at_the_visible_seqno_never_see_half_a_batch() {
    const KEYS: usize = 200;
    let (tree, seqno, visible) = tree();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (tree, visible, done) = (tree.clone(), visible, Arc::clone(&done));
        thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Acquire) || reads < 10 {
                let count = tree.len(visible.get(), None).unwrap();
                assert_eq!(
                    count % KEYS,
                    0,
                    "a batch was seen half applied: {count} keys"
                );
                reads += 1;
            }
        })
    };
    for round in 0..50 {
        let mut batch = WriteBatch::with_capacity(KEYS);
        for i in 0..KEYS {
            batch.insert(format!("r{round:03}-{i:04}"), "v");
        }
        tree.apply_batch(batch, seqno.next()).unwrap();
        if round % 10 == 9 {
            tree.flush_active_memtable(0).unwrap();
        }
    }
    done.store(true, Ordering::Release);
    reader.join().unwrap();
}

#[test]
fn weak_delete_counters() {
    let (tree, seqno, _) = tree();
    tree.insert("a", "1", seqno.next());
    tree.insert("b", "1", seqno.next());
    tree.remove_weak("a", seqno.next());
    tree.remove_weak("never-written", seqno.next());
    tree.remove("b", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.tombstone_count(), 3);
    assert_eq!(tree.weak_tombstone_count(), 2);
    assert_eq!(tree.weak_tombstone_reclaimable_count(), 1);
    tree.major_compact(1 << 20, seqno.get()).unwrap();
    assert_eq!(tree.tombstone_count(), 0);
    assert_eq!(tree.weak_tombstone_reclaimable_count(), 0);
    assert!(tree.is_empty(SeqNo::MAX, None).unwrap());
}
