//! Writes and point reads: values, tombstones, weak tombstones, `multi_get`,
//! `contains_key`, `size_of`, `get_pinned`, and the key and value limits.

#![allow(clippy::unwrap_used, reason = "tests")]

use lsm::AbstractTree;

#[path = "support/common.rs"]
mod common;
use common::temp_tree;

#[test]
fn reads_see_the_newest_version_below_the_read_seqno() {
    let (_dir, tree, seqno) = temp_tree();
    tree.insert("a", "1", seqno.next()); // 0
    tree.insert("a", "2", seqno.next()); // 1
    tree.remove("a", seqno.next()); // 2
    tree.insert("b", "x", seqno.next()); // 3
    tree.remove_weak("b", seqno.next()); // 4
    for flushed in [false, true] {
        assert_eq!(tree.get("a", 0).unwrap(), None, "flushed {flushed}");
        assert_eq!(tree.get("a", 1).unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(tree.get("a", 2).unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(tree.get("a", 3).unwrap(), None);
        assert_eq!(tree.get("b", 4).unwrap().as_deref(), Some(&b"x"[..]));
        assert_eq!(tree.get("b", 5).unwrap(), None);
        assert!(!tree.contains_key("a", lsm::SeqNo::MAX).unwrap());
        tree.flush_active_memtable(0).unwrap();
    }
    assert_eq!(tree.table_count(), 1);
}

#[test]
fn multi_get_and_sizes_and_pinning() {
    let (_dir, tree, seqno) = temp_tree();
    tree.insert("disk", vec![7_u8; 300], seqno.next());
    tree.flush_active_memtable(0).unwrap();
    tree.insert("memory", "small", seqno.next());
    let now = seqno.get();
    let values = tree.multi_get(["disk", "memory", "absent"], now).unwrap();
    assert_eq!(values[0].as_deref(), Some(&[7_u8; 300][..]));
    assert_eq!(values[1].as_deref(), Some(&b"small"[..]));
    assert_eq!(values[2], None);
    assert_eq!(tree.size_of("disk", now).unwrap(), Some(300));
    assert_eq!(tree.size_of("absent", now).unwrap(), None);
    let pinned = tree.get_pinned("disk", now).unwrap().unwrap();
    assert!(pinned.is_pinned());
    assert_eq!(pinned.len(), 300);
    let owned = tree.get_pinned("memory", now).unwrap().unwrap();
    assert!(!owned.is_pinned());
    assert_eq!(owned.as_ref(), b"small");
    assert_eq!(tree.approximate_len(), 2);
    assert!(tree.disk_space() > 300);
    assert_eq!(tree.get_highest_seqno(), Some(1));
    assert_eq!(tree.get_highest_memtable_seqno(), Some(1));
    assert_eq!(tree.get_highest_persisted_seqno(), Some(0));
    assert_eq!(tree.tree_type(), lsm::TreeType::Standard);
}

#[test]
fn the_longest_key_round_trips() {
    let (_dir, tree, seqno) = temp_tree();
    let key = vec![b'k'; 65_535];
    tree.insert(key.clone(), "v", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(
        tree.get(&key, seqno.get()).unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
#[should_panic(expected = "key length 0 is below the minimum of 1")]
fn an_empty_key_is_a_caller_bug() {
    let (_dir, tree, seqno) = temp_tree();
    tree.insert("", "v", seqno.next());
}

#[test]
#[should_panic(expected = "key length 65536 is above the maximum of 65535")]
fn an_oversize_key_is_a_caller_bug() {
    let (_dir, tree, seqno) = temp_tree();
    tree.insert(vec![0_u8; 65_536], "v", seqno.next());
}
