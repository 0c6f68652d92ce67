//! Merge operators: operands fold onto their base in every read path (get, multi_get,
//! iterators in both directions), across memtables, flushes and compactions; tombstones
//! end the fold; without an operator the newest operand reads raw; an operator error is
//! a read error and aborts a compaction without loss.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::{
    AbstractTree, AnyTree, Config, Error, Guard, MemFs, MergeOperator, SeqNo,
    SequenceNumberCounter, UserValue,
};

/// Sums little-endian u64 operands onto a little-endian u64 base; fails on other sizes.
struct Counter;

impl MergeOperator for Counter {
    fn merge(
        &self,
        _key: &[u8],
        base: Option<&[u8]>,
        operands: &[&[u8]],
    ) -> lsm::Result<UserValue> {
        let parse = |bytes: &[u8]| {
            bytes
                .try_into()
                .map(u64::from_le_bytes)
                .map_err(|_| Error::MergeOperator)
        };
        let mut sum = base.map(parse).transpose()?.unwrap_or(0);
        for operand in operands {
            sum += parse(operand)?;
        }
        Ok(sum.to_le_bytes().to_vec().into())
    }
}

fn tree(operator: bool) -> (AnyTree, SequenceNumberCounter) {
    let seqno = SequenceNumberCounter::default();
    let config =
        Config::new("/db", seqno.clone(), SequenceNumberCounter::default()).with_fs(MemFs::new());
    let config = if operator {
        config.with_merge_operator(Some(Arc::new(Counter)))
    } else {
        config
    };
    (config.open().unwrap(), seqno)
}

fn count(tree: &AnyTree, key: &str, read_seqno: SeqNo) -> Option<u64> {
    tree.get(key, read_seqno)
        .unwrap()
        .map(|value| u64::from_le_bytes((*value).try_into().unwrap()))
}

#[test]
fn operands_fold_in_every_read_path_and_through_compaction() {
    let (tree, seqno) = tree(true);
    tree.insert("hits", 10_u64.to_le_bytes(), seqno.next());
    tree.merge("hits", 1_u64.to_le_bytes(), seqno.next());
    let after_one = seqno.get();
    tree.flush_active_memtable(0).unwrap();
    tree.merge("hits", 2_u64.to_le_bytes(), seqno.next());
    tree.merge("fresh", 5_u64.to_le_bytes(), seqno.next());
    let now = seqno.get();
    assert_eq!(count(&tree, "hits", now), Some(13));
    assert_eq!(count(&tree, "hits", after_one), Some(11));
    assert_eq!(count(&tree, "fresh", now), Some(5));
    let many = tree.multi_get(["hits", "fresh", "none"], now).unwrap();
    assert_eq!(many[0].as_deref(), Some(&13_u64.to_le_bytes()[..]));
    assert_eq!(many[2], None);
    let forward: Vec<_> = tree
        .iter(now, None)
        .map(|item| item.into_inner().unwrap())
        .collect();
    let mut backward: Vec<_> = tree
        .iter(now, None)
        .rev()
        .map(|item| item.into_inner().unwrap())
        .collect();
    backward.reverse();
    assert_eq!(forward, backward);
    assert_eq!(forward[1].1, 13_u64.to_le_bytes());
    // Compaction folds the chain below the watermark; reads are unchanged.
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(1 << 20, now).unwrap();
    assert_eq!(count(&tree, "hits", now), Some(13));
    assert_eq!(tree.approximate_len(), 2, "one folded value per key");
    // A tombstone ends the fold.
    tree.remove("hits", seqno.next());
    tree.merge("hits", 7_u64.to_le_bytes(), seqno.next());
    assert_eq!(count(&tree, "hits", seqno.get()), Some(7));
}

#[test]
fn without_an_operator_the_newest_operand_reads_raw() {
    let (tree, seqno) = tree(false);
    tree.insert("k", "base", seqno.next());
    tree.merge("k", "op1", seqno.next());
    tree.merge("k", "op2", seqno.next());
    tree.flush_active_memtable(seqno.get()).unwrap();
    assert_eq!(
        tree.get("k", seqno.get()).unwrap().as_deref(),
        Some(&b"op2"[..])
    );
    // Nothing below the operands was dropped: an operator opened later still folds them.
    assert_eq!(tree.approximate_len(), 3);
}

#[test]
fn an_operator_error_fails_the_read_and_the_compaction_keeps_its_inputs() {
    let (tree, seqno) = tree(true);
    tree.insert("bad", "not a number", seqno.next());
    tree.merge("bad", 1_u64.to_le_bytes(), seqno.next());
    assert!(matches!(
        tree.get("bad", seqno.get()),
        Err(Error::MergeOperator)
    ));
    assert!(tree.iter(seqno.get(), None).next().unwrap().key().is_err());
    tree.flush_active_memtable(0).unwrap();
    assert!(matches!(
        tree.major_compact(1 << 20, seqno.get()),
        Err(Error::MergeOperator)
    ));
    assert_eq!(tree.table_count(), 1);
}
