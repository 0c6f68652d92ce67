//! Bulk ingestion through the facade (N1, B6): ascending keys registered at one seqno,
//! newer than everything written before `finish` and invisible to older snapshots;
//! placement in the deepest level free of overlap; unsorted and duplicate keys as typed
//! errors that register nothing and leave no file; reopen, compaction, change scans,
//! blob trees, and repair with and without the old manifest.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

use lsm::{
    AbstractTree, AnyIngestion, AnyTree, Config, Error, Guard, KvSeparationOptions, SeqNo,
    SequenceNumberCounter,
};

#[path = "support/common.rs"]
mod common;
use common::disk;

fn key(idx: u32) -> String {
    format!("key-{idx:06}")
}

fn open(dir: &Path, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new(dir, seqno.clone(), SequenceNumberCounter::default())
        .open()
        .unwrap()
}

fn ingest(tree: &AnyTree, keys: impl IntoIterator<Item = u32>, tag: &str) {
    let mut ingestion = tree.ingestion().unwrap();
    for idx in keys {
        ingestion.write(key(idx), format!("{tag}-{idx}")).unwrap();
    }
    ingestion.finish().unwrap();
}

fn value(tree: &AnyTree, idx: u32, seqno: SeqNo) -> Option<String> {
    tree.get(key(idx), seqno)
        .unwrap()
        .map(|value| String::from_utf8(value.to_vec()).unwrap())
}

fn table_files(dir: &Path) -> usize {
    disk::list(&dir.join("tables"))
        .into_iter()
        .filter(|(path, _)| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(lsm::layout::parse_table_file_name)
                .is_some()
        })
        .count()
}

#[test]
fn an_empty_tree_loads_into_its_last_level() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = open(dir.path(), &seqno);
    ingest(&tree, 0..20_000, "loaded");
    assert_eq!(
        value(&tree, 12_345, SeqNo::MAX).as_deref(),
        Some("loaded-12345")
    );
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 20_000);
    // No table anywhere overlaps: the run goes straight to the last level.
    let last = tree.current_version().levels().len() - 1;
    assert_eq!(tree.level_table_count(last), Some(tree.table_count()));
    assert_eq!(tree.level_table_count(0), Some(0));
    // The seqno came from the tree's generator and was published as visible.
    assert_eq!(seqno.get(), 1);
    assert_eq!(tree.get_highest_persisted_seqno(), Some(0));
    let first: Vec<_> = tree
        .range(key(10)..key(13), SeqNo::MAX, None)
        .map(|guard| guard.key().unwrap())
        .collect();
    assert_eq!(first.len(), 3);

    drop(tree);
    let tree = open(dir.path(), &seqno);
    assert_eq!(
        value(&tree, 19_999, SeqNo::MAX).as_deref(),
        Some("loaded-19999")
    );
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 20_000);
}

#[test]
fn ingested_keys_are_newer_than_writes_before_finish_and_older_than_writes_after() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = open(dir.path(), &seqno);
    for idx in 0..100 {
        tree.insert(key(idx), format!("old-{idx}"), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    // Written while the ingestion streams: still in the memtable at `finish`.
    let mut ingestion = tree.ingestion().unwrap();
    for idx in (0..100).step_by(2) {
        ingestion.write(key(idx), format!("new-{idx}")).unwrap();
    }
    tree.insert(key(4), "during", seqno.next());
    ingestion.write_tombstone(key(101)).unwrap();
    let snapshot = seqno.get();
    ingestion.finish().unwrap();
    tree.insert(key(6), "after", seqno.next());

    assert_eq!(value(&tree, 2, SeqNo::MAX).as_deref(), Some("new-2"));
    assert_eq!(value(&tree, 3, SeqNo::MAX).as_deref(), Some("old-3"));
    assert_eq!(value(&tree, 4, SeqNo::MAX).as_deref(), Some("new-4"));
    assert_eq!(value(&tree, 6, SeqNo::MAX).as_deref(), Some("after"));
    // A snapshot from before `finish` keeps its answers.
    assert_eq!(value(&tree, 2, snapshot).as_deref(), Some("old-2"));
    assert_eq!(value(&tree, 4, snapshot).as_deref(), Some("during"));
    // Keys overlap level-0 data: the ingested run is the newest of level 0.
    assert!(tree.level_table_count(0).unwrap() >= 2);

    // The same after a full compaction and after a reopen.
    let check = |tree: &AnyTree| {
        assert_eq!(value(tree, 2, SeqNo::MAX).as_deref(), Some("new-2"));
        assert_eq!(value(tree, 3, SeqNo::MAX).as_deref(), Some("old-3"));
        assert_eq!(value(tree, 4, SeqNo::MAX).as_deref(), Some("new-4"));
        assert_eq!(value(tree, 6, SeqNo::MAX).as_deref(), Some("after"));
        assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 100);
    };
    tree.major_compact(u64::MAX, 0).unwrap();
    check(&tree);
    // The write after `finish` is in the memtable: a flush makes it durable.
    tree.flush_active_memtable(0).unwrap();
    drop(tree);
    check(&open(dir.path(), &seqno));
}

#[test]
fn ingested_tombstones_hide_older_versions() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = open(dir.path(), &seqno);
    for idx in 0..10 {
        tree.insert(key(idx), "v", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    let AnyIngestion::Standard(mut ingestion) = tree.ingestion().unwrap() else {
        panic!("a standard tree ingests as standard");
    };
    ingestion.write_tombstone(key(3)).unwrap();
    ingestion.write_weak_tombstone(key(5)).unwrap();
    ingestion.finish().unwrap();
    assert_eq!(value(&tree, 3, SeqNo::MAX), None);
    assert_eq!(value(&tree, 5, SeqNo::MAX), None);
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 8);
}

#[test]
fn unsorted_or_duplicate_keys_register_nothing_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = open(dir.path(), &seqno);
    tree.insert(key(1), "kept", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    let tables_before = table_files(dir.path());

    for (second, what) in [(key(4), "duplicate"), (key(2), "unsorted")] {
        let mut ingestion = tree.ingestion().unwrap();
        // Enough keys that the writer thread has written a table already.
        for idx in 0..5 {
            ingestion.write(key(idx), "x".repeat(100)).unwrap();
        }
        let error = ingestion.write(second.clone(), "y").unwrap_err();
        assert!(
            matches!(&error, Error::UnsortedIngestion { key } if key.as_bytes() == second.as_bytes()),
            "{what}: {error:?}"
        );
        assert!(matches!(
            ingestion.write(key(9), "z"),
            Err(Error::IngestionAborted)
        ));
        assert!(matches!(ingestion.finish(), Err(Error::IngestionAborted)));
        assert_eq!(
            value(&tree, 1, SeqNo::MAX).as_deref(),
            Some("kept"),
            "{what}"
        );
        assert_eq!(value(&tree, 0, SeqNo::MAX), None, "{what}");
        assert_eq!(table_files(dir.path()), tables_before, "{what}");
    }

    // A duplicate of the last key of a chunk already handed to the writer thread.
    let mut ingestion = tree.ingestion().unwrap();
    for idx in 100..1_124 {
        ingestion.write(key(idx), "v").unwrap();
    }
    assert!(matches!(
        ingestion.write(key(1_123), "v"),
        Err(Error::UnsortedIngestion { .. })
    ));
    drop(ingestion);
    assert_eq!(table_files(dir.path()), tables_before);

    // Out of the limits: a typed error, and the same clean end.
    let mut ingestion = tree.ingestion().unwrap();
    assert!(matches!(
        ingestion.write("", "v"),
        Err(Error::InvalidArgument { .. })
    ));
    drop(ingestion);

    // Dropped without `finish`: nothing registered, the files gone.
    let mut ingestion = tree.ingestion().unwrap();
    for idx in 10..5_000 {
        ingestion.write(key(idx), "v".repeat(200)).unwrap();
    }
    drop(ingestion);
    assert_eq!(table_files(dir.path()), tables_before);
    assert_eq!(value(&tree, 10, SeqNo::MAX), None);
    assert_eq!(tree.table_count(), tables_before);

    // An empty ingestion registers nothing and succeeds.
    tree.ingestion().unwrap().finish().unwrap();
    assert_eq!(tree.table_count(), tables_before);
}

#[test]
fn a_blob_tree_separates_ingested_values() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let config = || {
        Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default()).with_kv_separation(
            Some(KvSeparationOptions::default().separation_threshold(64)),
        )
    };
    let tree = config().open().unwrap();
    assert!(matches!(tree.ingestion().unwrap(), AnyIngestion::Blob(_)));
    let big = |idx: u32| format!("{idx:04}").repeat(50);
    let mut ingestion = tree.ingestion().unwrap();
    for idx in 0..2_000 {
        if idx % 2 == 0 {
            ingestion.write(key(idx), big(idx)).unwrap();
        } else {
            ingestion.write(key(idx), "small").unwrap();
        }
    }
    ingestion.finish().unwrap();
    assert!(tree.blob_file_count() > 0);
    let check = |tree: &AnyTree| {
        assert_eq!(
            tree.get(key(10), SeqNo::MAX).unwrap().as_deref(),
            Some(big(10).as_bytes())
        );
        assert_eq!(
            tree.get(key(11), SeqNo::MAX).unwrap().as_deref(),
            Some(&b"small"[..])
        );
        assert_eq!(tree.size_of(key(10), SeqNo::MAX).unwrap(), Some(200));
    };
    check(&tree);
    drop(tree);
    let tree = config().open().unwrap();
    check(&tree);
    // Overwrite half and collect: the blob values stay readable through the merges.
    for idx in (0..2_000).step_by(4) {
        tree.insert(key(idx), "rewritten", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(u64::MAX, seqno.get()).unwrap();
    check(&tree);
    assert_eq!(
        tree.get(key(8), SeqNo::MAX).unwrap().as_deref(),
        Some(&b"rewritten"[..])
    );
}

#[test]
fn change_scans_report_ingested_keys_at_their_seqno() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = open(dir.path(), &seqno);
    tree.insert(key(0), "v", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    let since = seqno.get();
    ingest(&tree, 1..50, "loaded");
    let events: Vec<_> = tree.scan_since_seqno(since).unwrap().collect();
    assert_eq!(events.len(), 49);
    assert!(events.iter().all(|event| event.seqno() == since));
    assert_eq!(tree.scan_since_seqno(since + 1).unwrap().count(), 0);
}

#[test]
fn repair_keeps_the_seqno_of_ingested_tables() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let build = |dir: &Path| {
        let tree = open(dir, &seqno);
        for idx in 0..20 {
            tree.insert(key(idx), "before", seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
        ingest(&tree, 0..10, "loaded");
        for idx in 5..15 {
            tree.insert(key(idx), "after", seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
    };
    let expect = |tree: &AnyTree| {
        assert_eq!(value(tree, 2, SeqNo::MAX).as_deref(), Some("loaded-2"));
        assert_eq!(value(tree, 7, SeqNo::MAX).as_deref(), Some("after"));
        assert_eq!(value(tree, 17, SeqNo::MAX).as_deref(), Some("before"));
    };
    build(dir.path());
    // A manifest that still reads gives the recorded seqno.
    let report = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .repair()
        .unwrap();
    assert!(report.estimated_ingestion_seqnos.is_empty(), "{report:?}");
    expect(&open(dir.path(), &seqno));

    // A lost manifest: the seqno is estimated from the file order, which here is exact.
    let lost = tempfile::tempdir().unwrap();
    build(lost.path());
    for (path, is_dir) in disk::list(lost.path()) {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !is_dir && (name == "current" || name.starts_with("manifest-")) {
            disk::remove(&path);
        }
    }
    let report = Config::new(lost.path(), seqno.clone(), SequenceNumberCounter::default())
        .repair()
        .unwrap();
    assert_eq!(report.estimated_ingestion_seqnos.len(), 1, "{report:?}");
    expect(&open(lost.path(), &seqno));
}

#[test]
fn the_ingestion_seqno_is_above_writes_with_seqnos_of_their_own() {
    // Writes whose seqnos do not come from the tree's generator.
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = open(dir.path(), &seqno);
    tree.insert(key(1), "flushed", 500);
    tree.flush_active_memtable(0).unwrap();
    tree.insert(key(2), "in the memtable", 900);
    ingest(&tree, [1, 2], "loaded");
    assert_eq!(value(&tree, 1, SeqNo::MAX).as_deref(), Some("loaded-1"));
    assert_eq!(value(&tree, 2, SeqNo::MAX).as_deref(), Some("loaded-2"));
    assert_eq!(value(&tree, 2, 901).as_deref(), Some("in the memtable"));
    assert!(seqno.get() > 901);
    let scanned: Vec<_> = tree
        .iter(SeqNo::MAX, None)
        .map(|guard| guard.into_inner().unwrap().1.to_vec())
        .collect();
    assert_eq!(scanned, [b"loaded-1".to_vec(), b"loaded-2".to_vec()]);
}
