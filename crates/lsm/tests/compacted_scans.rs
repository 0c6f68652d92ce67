//! Scans of a tree whose data sits in one run of plain tables (one value per key, no
//! tombstone, operand or separated value: read without the newest-version stream) give
//! the same answers as scans of the same data in any other shape: forward, backward,
//! both ends at once, ranges, prefixes and older snapshots.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;

use lsm::{AbstractTree, AnyTree, Guard, SeqNo};
use lsm_testkit::rng::Rng;

#[path = "support/common.rs"]
mod common;
use common::temp_tree;

fn pairs(items: impl Iterator<Item = lsm::IterGuardImpl>) -> Vec<(Vec<u8>, Vec<u8>)> {
    items
        .map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

fn check(tree: &AnyTree, oracle: &BTreeMap<Vec<u8>, Vec<u8>>, seqno: SeqNo) {
    let all: Vec<_> = oracle.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(pairs(tree.iter(seqno, None)), all);
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(pairs(tree.iter(seqno, None).rev()), reversed);
    let range: Vec<_> = oracle
        .range(b"k0100".to_vec()..b"k0300".to_vec())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(pairs(tree.range("k0100".."k0300", seqno, None)), range);
    let prefix: Vec<_> = oracle
        .iter()
        .filter(|(k, _)| k.starts_with(b"k02"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(pairs(tree.prefix("k02", seqno, None)), prefix);
    // Both ends at once meet exactly.
    let mut iter = tree.iter(seqno, None);
    let (mut front, mut back) = (Vec::new(), Vec::new());
    loop {
        let Some(item) = iter.next() else { break };
        front.push(item.key().unwrap().to_vec());
        let Some(item) = iter.next_back() else { break };
        back.push(item.key().unwrap().to_vec());
    }
    back.reverse();
    front.extend(back);
    assert_eq!(
        front,
        all.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn a_compacted_tree_scans_as_every_other_shape_of_the_same_data() {
    let (_dir, tree, seqno) = temp_tree();
    let mut oracle = BTreeMap::new();
    let mut rng = Rng::new(3);
    for round in 0..3 {
        for _ in 0..400 {
            let key = format!("k{:04}", rng.below(500)).into_bytes();
            let value = format!("{round}-{}", rng.below(1000)).into_bytes();
            tree.insert(key.clone(), value.clone(), seqno.next());
            oracle.insert(key, value);
        }
        for _ in 0..30 {
            let key = format!("k{:04}", rng.below(500)).into_bytes();
            tree.remove(key.clone(), seqno.next());
            oracle.remove(&key);
        }
        tree.flush_active_memtable(0).unwrap();
    }
    // Several runs with versions and tombstones: the newest-version stream answers.
    check(&tree, &oracle, SeqNo::MAX);
    // One run of plain tables.
    tree.major_compact(64 << 20, seqno.get()).unwrap();
    assert_eq!(tree.l0_run_count(), 0);
    check(&tree, &oracle, SeqNo::MAX);
    // Writes on top bring the stream back; the answers stay exact.
    tree.insert("k0001", "on top", seqno.next());
    oracle.insert(b"k0001".to_vec(), b"on top".to_vec());
    tree.remove("k0002", seqno.next());
    oracle.remove(b"k0002".as_slice());
    check(&tree, &oracle, SeqNo::MAX);
}

#[test]
fn a_plain_run_still_hides_what_the_read_seqno_cannot_see() {
    let (_dir, tree, seqno) = temp_tree();
    for i in 0..100 {
        tree.insert(format!("k{i:04}"), format!("v{i}"), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    // A watermark below every write keeps each version's seqno: one plain run whose
    // entries are visible from their own seqno on.
    tree.major_compact(64 << 20, 0).unwrap();
    assert_eq!(tree.l0_run_count(), 0);
    for read in [0, 1, 50, 99, 100, SeqNo::MAX] {
        let expected = usize::try_from(read.min(100)).unwrap();
        assert_eq!(tree.iter(read, None).count(), expected, "read at {read}");
        assert_eq!(
            tree.iter(read, None).rev().count(),
            expected,
            "read at {read}"
        );
    }
    let keys: Vec<_> = tree
        .range("k0010".."k0020", 15, None)
        .map(|item| item.key().unwrap().to_vec())
        .collect();
    assert_eq!(
        keys,
        (10..15)
            .map(|i| format!("k{i:04}").into_bytes())
            .collect::<Vec<_>>()
    );
}

#[test]
fn an_ingested_run_reads_at_its_one_seqno() {
    let (_dir, tree, seqno) = temp_tree();
    seqno.next();
    let mut ingestion = tree.ingestion().unwrap();
    for i in 0..100 {
        ingestion
            .write(format!("k{i:04}"), format!("v{i}"))
            .unwrap();
    }
    ingestion.finish().unwrap();
    assert_eq!(
        tree.l0_run_count(),
        0,
        "an empty tree's load lands below level 0"
    );
    let global = tree.get_highest_seqno().unwrap();
    assert_eq!(
        tree.iter(global, None).count(),
        0,
        "not visible below its seqno"
    );
    assert_eq!(tree.iter(global + 1, None).count(), 100);
    assert_eq!(tree.iter(global + 1, None).rev().count(), 100);
    assert_eq!(tree.range("k0010".."k0020", SeqNo::MAX, None).count(), 10);
}
