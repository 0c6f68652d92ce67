//! Reopening: flushed writes are back, unflushed ones are not (no write-ahead log at
//! this layer), seqno counters move past every persisted seqno, orphan tables go, and a
//! second opener of a live tree gets a typed error.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

use lsm::{AbstractTree, Config, Error, Fs, SequenceNumberCounter, StdFs};

fn config(path: &Path, seqno: &SequenceNumberCounter) -> Config {
    Config::new(path, seqno.clone(), SequenceNumberCounter::default())
}

/// A tree at `path` holding `a` = `1` in one flushed table, closed again.
fn write_one_flushed_key(path: &Path, seqno: &SequenceNumberCounter) {
    let tree = config(path, seqno).open().unwrap();
    tree.insert("a", "1", seqno.next());
    tree.flush_active_memtable(0).unwrap();
}

fn write_file(path: &Path, bytes: &[u8]) {
    let file = StdFs
        .open(path, lsm_core::OpenOptions::create_new())
        .unwrap();
    file.write_all_at(bytes, 0).unwrap();
}

#[test]
fn flushed_writes_survive_a_reopen_and_unflushed_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    {
        let tree = config(dir.path(), &seqno).open().unwrap();
        for i in 0..1_000_u32 {
            tree.insert(format!("key{i:05}"), i.to_le_bytes(), seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
        tree.insert("unflushed", "lost", seqno.next());
    }
    let fresh_counter = SequenceNumberCounter::default();
    let tree = config(dir.path(), &fresh_counter).open().unwrap();
    assert_eq!(
        fresh_counter.get(),
        1_000,
        "the counter moved past the persisted seqnos"
    );
    assert_eq!(tree.get_highest_persisted_seqno(), Some(999));
    assert_eq!(tree.len(lsm::SeqNo::MAX, None).unwrap(), 1_000);
    assert_eq!(tree.get("unflushed", lsm::SeqNo::MAX).unwrap(), None);
    assert_eq!(
        tree.get("key00500", lsm::SeqNo::MAX).unwrap().as_deref(),
        Some(&500_u32.to_le_bytes()[..])
    );
}

#[test]
fn orphan_tables_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    write_one_flushed_key(dir.path(), &seqno);
    // A table a crashed flush left behind, and a file the tree does not own.
    let tables = dir.path().join(lsm::layout::TABLES_DIR);
    write_file(&tables.join("77"), b"half a table");
    write_file(&tables.join("notes.txt"), b"mine");
    let tree = config(dir.path(), &seqno).open().unwrap();
    assert!(!StdFs.exists(&tables.join("77")).unwrap());
    assert!(StdFs.exists(&tables.join("notes.txt")).unwrap());
    assert_eq!(
        tree.get("a", lsm::SeqNo::MAX).unwrap().as_deref(),
        Some(&b"1"[..])
    );
}

#[test]
fn a_second_opener_gets_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = config(dir.path(), &seqno).open().unwrap();
    let second = config(dir.path(), &seqno).open();
    assert!(matches!(second, Err(Error::Locked(_))), "{second:?}");
    drop(tree);
    config(dir.path(), &seqno).open().unwrap();
}

#[test]
fn a_missing_table_fails_the_open_with_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    write_one_flushed_key(dir.path(), &seqno);
    let tables = dir.path().join(lsm::layout::TABLES_DIR);
    for entry in StdFs.read_dir(&tables).unwrap() {
        StdFs.remove_file(&entry.path).unwrap();
    }
    let error = config(dir.path(), &seqno).open().unwrap_err();
    assert!(matches!(error, Error::Table(_)), "{error}");
}
