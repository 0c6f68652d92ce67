//! `Config::comparator` through the facade: keys come back in the comparator's order
//! from memtables, tables and every level; the order's name is stored with the tree and
//! another comparator (or none) is refused at open with `ComparatorMismatch`; a
//! comparator's name must have 1 to 256 bytes; `remove_prefix` deletes exactly the keys
//! with the prefix although they are not contiguous in the order.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::cmp::Ordering;
use std::sync::Arc;

use lsm::{
    AbstractTree, AnyTree, Config, Error, Fs, Guard, MemFs, SeqNo, SequenceNumberCounter,
    UserComparator,
};
use lsm_testkit::orders::{Numeric, Reversed};

fn config(fs: &Arc<dyn Fs>, comparator: Option<Arc<dyn UserComparator>>) -> Config {
    let config = Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs));
    match comparator {
        Some(comparator) => config.comparator(comparator),
        None => config,
    }
}

fn keys(tree: &AnyTree) -> Vec<String> {
    tree.iter(SeqNo::MAX, None)
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn numeric_keys_come_back_in_numeric_order_from_every_source() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, Some(Arc::new(Numeric))).open().unwrap();
    let mut seqno = 0;
    let mut write = |numbers: &[u64]| {
        for number in numbers {
            tree.insert(number.to_string(), "v", seqno);
            seqno += 1;
        }
    };
    write(&[1000, 7, 55]);
    tree.flush_active_memtable(0).unwrap();
    write(&[9, 100, 12_345]);
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(1 << 20, 0).unwrap();
    write(&[3, 99_999, 10]);
    let expected = ["3", "7", "9", "10", "55", "100", "1000", "12345", "99999"];
    assert_eq!(keys(&tree), expected);
    let backwards: Vec<_> = tree
        .iter(SeqNo::MAX, None)
        .rev()
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(
        backwards,
        expected.iter().rev().copied().collect::<Vec<_>>()
    );
    // Ranges and range deletes are in numeric order too: 10..1000 holds 10, 55, 100.
    let in_range: Vec<_> = tree
        .range("10".as_bytes().."1000".as_bytes(), SeqNo::MAX, None)
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(in_range, ["10", "55", "100"]);
    tree.remove_range("10", "1000", 100);
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(keys(&tree), ["3", "7", "9", "1000", "12345", "99999"]);
    assert_eq!(tree.get("55", SeqNo::MAX).unwrap(), None);
    assert!(tree.get("1000", SeqNo::MAX).unwrap().is_some());
    drop(tree);
    let reopened = config(&fs, Some(Arc::new(Numeric))).open().unwrap();
    assert_eq!(keys(&reopened), ["3", "7", "9", "1000", "12345", "99999"]);
}

#[test]
fn another_comparator_or_none_is_refused_at_open() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, Some(Arc::new(Reversed))).open().unwrap();
    tree.insert("a", "1", 0);
    tree.insert("b", "2", 1);
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(keys(&tree), ["b", "a"]);
    drop(tree);
    for (comparator, supplied) in [
        (None, "lexicographic"),
        (
            Some(Arc::new(Numeric) as Arc<dyn UserComparator>),
            "test.numeric",
        ),
    ] {
        match config(&fs, comparator).open() {
            Err(Error::ComparatorMismatch {
                stored,
                supplied: given,
            }) => {
                assert_eq!(stored, "test.reversed");
                assert_eq!(given, supplied);
            }
            other => panic!("expected a comparator mismatch, got {:?}", other.err()),
        }
    }
    assert_eq!(
        keys(&config(&fs, Some(Arc::new(Reversed))).open().unwrap()),
        ["b", "a"]
    );
    // A tree made without a comparator refuses one.
    let plain: Arc<dyn Fs> = Arc::new(MemFs::new());
    drop(config(&plain, None).open().unwrap());
    assert!(matches!(
        config(&plain, Some(Arc::new(Reversed))).open(),
        Err(Error::ComparatorMismatch { .. })
    ));
}

struct Nameless;

impl UserComparator for Nameless {
    fn name(&self) -> &'static str {
        ""
    }

    fn compare(&self, left: &[u8], right: &[u8]) -> Ordering {
        left.cmp(right)
    }
}

#[test]
fn a_comparator_without_a_name_is_an_invalid_config() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    assert!(matches!(
        config(&fs, Some(Arc::new(Nameless))).open(),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn remove_prefix_deletes_keys_that_are_not_contiguous() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, Some(Arc::new(Numeric))).open().unwrap();
    // In numeric order the keys starting with "1" are 1, 10, 12, 100, 150, 1000: others
    // (2, 20, 200) lie between them.
    for (seqno, key) in ["1", "2", "10", "12", "20", "100", "150", "200", "1000"]
        .iter()
        .enumerate()
    {
        tree.insert(*key, "v", seqno as SeqNo);
    }
    tree.flush_active_memtable(0).unwrap();
    let prefixed: Vec<_> = tree
        .prefix("1", SeqNo::MAX, None)
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(prefixed, ["1", "10", "12", "100", "150", "1000"]);
    assert!(tree.remove_prefix("1", 20) > 0);
    assert_eq!(keys(&tree), ["2", "20", "200"]);
}

#[test]
fn an_overlay_in_another_order_is_refused() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, Some(Arc::new(Reversed))).open().unwrap();
    tree.insert("a", "1", 0);
    let wrong = Arc::new(lsm::Memtable::new(7));
    let mut read = tree.iter(SeqNo::MAX, Some((wrong, SeqNo::MAX)));
    assert!(matches!(
        read.next().unwrap().key(),
        Err(Error::ComparatorMismatch { .. })
    ));
    assert!(read.next().is_none());
    let right = Arc::new(lsm::Memtable::new_in(
        7,
        &lsm::KeyOrder::new(Arc::new(Reversed)),
    ));
    right.insert(lsm_core::InternalEntry::new(
        "b",
        "2",
        5,
        lsm::ValueType::Value,
    ));
    let keys: Vec<_> = tree
        .iter(SeqNo::MAX, Some((right, SeqNo::MAX)))
        .map(|item| item.key().unwrap().to_vec())
        .collect();
    assert_eq!(keys, [b"b".to_vec(), b"a".to_vec()]);
}
