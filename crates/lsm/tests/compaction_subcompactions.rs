//! Sub-compactions: a large merge runs as parallel key-range slices installed in one
//! edit; a failure in any slice leaves no output of any slice, and the inputs answer.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::io;
use std::path::Path;
use std::sync::Arc;

use lsm::compaction::CompactionAction;
use lsm::{AbstractTree, AnyTree, Config, Fs, SeqNo, SequenceNumberCounter};
use lsm_testkit::sim_fs::SimFs;

const KEYS: u32 = 6_000;

fn open(fs: &SimFs, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::new(fs.clone()))
        .compaction_threads(2)
        .subcompaction_min_bytes(64 << 10)
        .compaction_rate_limit(1 << 40)
        .open()
        .unwrap()
}

fn fill(tree: &AnyTree, seqno: &SequenceNumberCounter) {
    for round in 0..3 {
        for i in (round..KEYS).step_by(2) {
            tree.insert(
                format!("key{i:06}"),
                format!("{round}-{}", "v".repeat(80)),
                seqno.next(),
            );
        }
        tree.flush_active_memtable(0).unwrap();
    }
}

/// Every key and value of `tree`, in order.
fn contents(tree: &AnyTree) -> Vec<lsm::KvPair> {
    tree.iter(SeqNo::MAX, None)
        .map(|item| lsm::Guard::into_inner(item).unwrap())
        .collect()
}

fn table_files(fs: &SimFs) -> usize {
    fs.read_dir(Path::new("/db/tables")).unwrap().len()
}

#[test]
fn a_large_merge_runs_in_slices_and_installs_them_together() {
    let fs = SimFs::new();
    let seqno = SequenceNumberCounter::default();
    let tree = open(&fs, &seqno);
    fill(&tree, &seqno);
    let expected = contents(&tree);
    // Outputs far below the target size: one table per slice.
    let result = tree.major_compact(64 << 20, seqno.get()).unwrap();
    assert_eq!(result.action, CompactionAction::Merged);
    assert_eq!(result.tables_in, 3);
    assert!(result.tables_out >= 2, "{} slices", result.tables_out);
    let after = contents(&tree);
    assert_eq!(after, expected);
    assert_eq!(tree.approximate_len(), KEYS as usize);
    assert_eq!(table_files(&fs), tree.table_count());
}

#[test]
fn a_failed_slice_leaves_nothing_behind() {
    let probe = SimFs::new();
    let seqno = SequenceNumberCounter::default();
    let tree = open(&probe, &seqno);
    fill(&tree, &seqno);
    let before = probe.op_count();
    tree.major_compact(64 << 20, seqno.get()).unwrap();
    let merge_ops = probe.op_count() - before;
    drop(tree);
    let mut failures = 0;
    for op in (0..merge_ops).step_by(3) {
        let fs = SimFs::new();
        let seqno = SequenceNumberCounter::default();
        let tree = open(&fs, &seqno);
        fill(&tree, &seqno);
        fs.fail_op(fs.op_count() + op, io::ErrorKind::Other);
        match tree.major_compact(64 << 20, seqno.get()) {
            Ok(_) => {
                // The failure hit the deletion of an obsolete input: an orphan until the
                // next open removes it.
                assert!(table_files(&fs) >= tree.table_count());
                drop(tree);
                let tree = open(&fs, &seqno);
                assert_eq!(tree.table_count(), table_files(&fs));
                assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), KEYS as usize);
                continue;
            }
            Err(lsm::Error::Unrecoverable | lsm::Error::Manifest(_)) => {
                // The manifest failed: only a reopen can tell, and it must agree.
                drop(tree);
                let tree = open(&fs, &seqno);
                assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), KEYS as usize);
                assert_eq!(tree.table_count(), table_files(&fs));
                continue;
            }
            Err(error) => {
                failures += 1;
                assert_eq!(
                    tree.table_count(),
                    3,
                    "op {op}: the inputs stay after {error:?}"
                );
                assert_eq!(table_files(&fs), 3, "op {op}: no slice's output is left");
            }
        }
        assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), KEYS as usize);
    }
    assert!(failures > 0);
}

/// With several compaction threads, compressed blocks are compressed on them: by a
/// flush and a one-slice merge (writer off the pool, compressing ahead), and by the
/// slices of a split merge (writers on the pool's own threads). Every answer stays.
#[test]
fn compressed_blocks_are_compressed_on_the_compaction_threads() {
    for min_slice_bytes in [4 << 10, 1 << 40] {
        let fs = SimFs::new();
        let seqno = SequenceNumberCounter::default();
        let tree = Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
            .with_shared_fs(Arc::new(fs.clone()))
            .compaction_threads(2)
            .subcompaction_min_bytes(min_slice_bytes)
            .data_block_compression_policy(lsm::config::CompressionPolicy::all(
                lsm::CompressionType::Zstd(3),
            ))
            .open()
            .unwrap();
        fill(&tree, &seqno);
        let expected = contents(&tree);
        let result = tree.major_compact(64 << 20, seqno.get()).unwrap();
        assert_eq!(result.action, CompactionAction::Merged);
        let sliced = result.tables_out >= 2;
        assert_eq!(
            sliced,
            min_slice_bytes < 1 << 20,
            "{} outputs",
            result.tables_out
        );
        let after = contents(&tree);
        assert_eq!(after, expected);
        assert!(tree.verify_checksum().is_ok());
        // The values compress: the tables are well below their raw size.
        let raw: u64 = expected
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        assert!(
            tree.disk_space() < raw / 2,
            "{} of {raw}",
            tree.disk_space()
        );
    }
}
