//! `clear` and `drop_range` are version changes: reads below their mark keep their
//! answers until a flush's GC watermark passes it, and their files are deleted once
//! nothing can read them.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

use lsm::{AbstractTree, AnyTree, Config, Fs, SequenceNumberCounter, StdFs};

fn tree(path: &Path, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new(path, seqno.clone(), SequenceNumberCounter::default())
        .open()
        .unwrap()
}

/// Files of the tree's `tables/` whose names `kind` accepts.
fn files_named(path: &Path, kind: fn(&str) -> bool) -> usize {
    StdFs
        .read_dir(&path.join(lsm::layout::TABLES_DIR))
        .unwrap()
        .iter()
        .filter(|entry| entry.file_name().is_some_and(kind))
        .count()
}

/// Table files (not drop markers) in the tree's `tables/`.
fn table_files(path: &Path) -> usize {
    files_named(path, |name| {
        lsm::layout::parse_table_file_name(name).is_some()
    })
}

/// Drop markers in the tree's `tables/`.
fn drop_markers(path: &Path) -> usize {
    files_named(path, lsm::layout::is_drop_marker_name)
}

#[test]
fn clear_keeps_older_snapshots_until_the_watermark_passes() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = tree(dir.path(), &seqno);
    tree.insert("flushed", "1", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    tree.insert("in-memory", "2", seqno.next());
    let before = seqno.get();
    tree.clear().unwrap();
    assert_eq!(tree.table_count(), 0);
    assert!(tree.is_empty(seqno.get(), None).unwrap());
    // A read older than the clear sees the state before it, memtable included.
    assert_eq!(
        tree.get("flushed", before).unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        tree.get("in-memory", before).unwrap().as_deref(),
        Some(&b"2"[..])
    );
    assert_eq!(tree.len(before, None).unwrap(), 2);
    assert_eq!(
        table_files(dir.path()),
        1,
        "the file stays while old reads may need it"
    );
    assert_eq!(drop_markers(dir.path()), 1, "and its drop marker with it");
    // A flush whose watermark passes the clear forgets the old state and its file.
    tree.insert("new", "3", seqno.next());
    tree.flush_active_memtable(seqno.get()).unwrap();
    assert_eq!(table_files(dir.path()), 1, "only the new table");
    assert_eq!(
        drop_markers(dir.path()),
        0,
        "the marker goes with the last table it names"
    );
    assert_eq!(
        tree.get("new", seqno.get()).unwrap().as_deref(),
        Some(&b"3"[..])
    );
    drop(tree);
    let tree = self::tree(dir.path(), &seqno);
    assert_eq!(tree.len(seqno.get(), None).unwrap(), 1);
}

#[test]
fn drop_range_removes_only_tables_wholly_inside() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = tree(dir.path(), &seqno);
    for keys in [["a1", "a9"], ["b1", "b9"], ["a5", "c1"]] {
        for key in keys {
            tree.insert(key, "v", seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
    }
    tree.insert("a3", "memtable", seqno.next());
    let before = seqno.get();
    tree.drop_range("a".."b~").unwrap();
    let now = seqno.get();
    let keys: Vec<_> = tree
        .iter(now, None)
        .map(|item| lsm::Guard::key(item).unwrap())
        .collect();
    // The third table reaches "c1", so it stays; the memtable is untouched.
    assert_eq!(keys, ["a3", "a5", "c1"]);
    assert_eq!(tree.table_count(), 1);
    assert_eq!(tree.len(before, None).unwrap(), 7);
    // An empty or disjoint range drops nothing.
    tree.drop_range("x".."z").unwrap();
    assert_eq!(tree.table_count(), 1);
}
