//! Iterators: `'static`, pinned to their snapshot across flushes and `clear`, and
//! mixing `next` and `next_back` yields every item once, in order, until the ends meet.

#![allow(clippy::unwrap_used, reason = "tests")]

use lsm::{AbstractTree, Guard};

#[path = "support/common.rs"]
mod common;
use common::temp_tree;

fn key(i: usize) -> String {
    format!("key{i:04}")
}

#[test]
fn mixed_ends_meet_exactly_once_over_memtables_and_tables() {
    let (_dir, tree, seqno) = temp_tree();
    // Three tables and a memtable, with keys interleaved and some overwritten or deleted.
    for round in 0..4 {
        for i in (round..400).step_by(4) {
            tree.insert(key(i), format!("{round}"), seqno.next());
        }
        tree.remove(key(round * 7), seqno.next());
        if round < 3 {
            tree.flush_active_memtable(0).unwrap();
        }
    }
    let now = seqno.get();
    let expected: Vec<_> = tree
        .iter(now, None)
        .map(|item| item.key().unwrap())
        .collect();
    // key0000, key0014 and key0021 stay deleted; key0007 is written again after its delete.
    assert_eq!(expected.len(), 400 - 3);
    for pattern in [1_usize, 2, 3, 7] {
        let mut iter = tree.iter(now, None);
        let (mut front, mut back) = (Vec::new(), Vec::new());
        for step in 0.. {
            let item = if step % pattern == 0 {
                iter.next_back()
            } else {
                iter.next()
            };
            let Some(item) = item else { break };
            if step % pattern == 0 {
                back.push(item.key().unwrap());
            } else {
                front.push(item.key().unwrap());
            }
        }
        back.reverse();
        front.extend(back);
        assert_eq!(front, expected, "pattern {pattern}");
    }
    assert_eq!(
        tree.first_key_value(now, None).unwrap().key().unwrap(),
        expected[0]
    );
    assert_eq!(
        tree.last_key_value(now, None).unwrap().key().unwrap(),
        *expected.last().unwrap()
    );
    assert_eq!(tree.len(now, None).unwrap(), expected.len());
    let ranged: Vec<_> = tree
        .range(key(10)..key(20), now, None)
        .rev()
        .map(|item| item.key().unwrap())
        .collect();
    assert_eq!(ranged.len(), 10 - 1, "key0014 was deleted");
    assert_eq!(tree.prefix("key00", now, None).count(), 100 - 3);
}

#[test]
fn an_iterator_keeps_its_snapshot_across_flush_and_clear() {
    let (_dir, tree, seqno) = temp_tree();
    for i in 0..100 {
        tree.insert(key(i), "old", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    let snapshot = seqno.get();
    let mut iter = tree.iter(snapshot, None);
    let first = iter.next().unwrap().key().unwrap();
    for i in 0..100 {
        tree.insert(key(i), "new", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    tree.clear().unwrap();
    assert!(tree.is_empty(seqno.get(), None).unwrap());
    // The open iterator still reads the cleared tables' files.
    let rest: Vec<_> = iter.map(|item| item.into_inner().unwrap()).collect();
    assert_eq!(first, key(0).as_bytes());
    assert_eq!(rest.len(), 99);
    assert!(rest.iter().all(|(_, value)| value == "old"));
}

#[test]
fn an_extra_memtable_is_read_at_its_own_seqno() {
    let (_dir, tree, seqno) = temp_tree();
    tree.insert("a", "tree", seqno.next());
    let overlay = std::sync::Arc::new(lsm::Memtable::new(99));
    overlay.insert(lsm::InternalEntry::new(
        "b",
        "pending",
        50,
        lsm::ValueType::Value,
    ));
    let keys: Vec<_> = tree
        .iter(seqno.get(), Some((overlay, 51)))
        .map(|item| item.into_inner().unwrap())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1].1, "pending");
}
