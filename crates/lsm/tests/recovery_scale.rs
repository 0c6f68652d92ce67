//! Recovery of a large directory (goal G12 of the reliability spec): a tree of 10,000
//! table files on the real file system reopens and answers; the time the open took is
//! recorded for the reliability program, which holds it against the goal (5 s).

#![allow(clippy::unwrap_used, reason = "tests")]

use std::time::Instant;

use lsm::{AbstractTree, Config, SeqNo, SequenceNumberCounter};

const TABLES: usize = 10_000;
/// Keys written: tables hold about nine each at the smallest target.
const KEYS: usize = 100_000;

fn key(i: usize) -> String {
    format!("key{i:06}")
}

fn value(i: usize) -> String {
    format!("value-{i}-{}", "v".repeat(64))
}

#[test]
fn a_tree_of_ten_thousand_tables_reopens_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        Config::new(
            dir.path(),
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        // Small blocks: a table is cut at a block's end.
        .data_block_size_policy(lsm::config::BlockSizePolicy::all(64))
    };
    {
        let tree = config().open().unwrap();
        for i in 0..KEYS {
            tree.insert(key(i), value(i), i as u64);
        }
        tree.flush_active_memtable(0).unwrap();
        // Tables of a few keys each: the smallest target cuts after a block or two.
        tree.major_compact(1, SeqNo::MAX).unwrap();
        assert!(
            tree.table_count() >= TABLES,
            "{} tables",
            tree.table_count()
        );
    }
    let files = lsm::fs::Fs::read_dir(&lsm::fs::StdFs, &dir.path().join(lsm::layout::TABLES_DIR))
        .unwrap()
        .len();
    assert!(files >= TABLES, "{files} files");
    let started = Instant::now();
    let tree = config().open().unwrap();
    let opened_in = started.elapsed();
    println!("{files} table files reopened in {opened_in:.2?}");
    lsm_testkit::reliability::record(
        "G12",
        "recovery_scale: reopening a tree of 10,000 table files",
        files as u64,
        "files",
        started,
    );
    assert_eq!(tree.table_count(), files);
    for i in (0..KEYS).step_by(997) {
        assert_eq!(
            tree.get(key(i), SeqNo::MAX).unwrap().as_deref(),
            Some(value(i).as_bytes())
        );
    }
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), KEYS);
}
