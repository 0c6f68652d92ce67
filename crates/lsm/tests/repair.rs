//! `Config::repair` through the facade: a manifest rebuilt from the files on disk after
//! it was lost or damaged, with obsolete tables kept out, damaged files quarantined,
//! level 0 merged when its order cannot be trusted, and the caller's errors (a held
//! lock, a wrong key, another key order) refused before anything changes. The crash
//! enumeration (`crash_flush.rs`) repairs thousands of crash images as well.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;

use lsm::encryption::EncryptionProvider;
use lsm::{AbstractTree, Aes256GcmProvider, Config, Error, Guard, SequenceNumberCounter};
use lsm_testkit::orders::TestOrder;

#[path = "support/common.rs"]
mod common;
use common::disk;

fn config(dir: &Path) -> Config {
    Config::new(
        dir,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
}

/// Every key and value of the tree.
fn contents(tree: &impl AbstractTree) -> Vec<(Vec<u8>, Vec<u8>)> {
    tree.iter(lsm::SeqNo::MAX, None)
        .map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

/// Removes `current` and every manifest generation of the tree at `dir`.
fn lose_manifest(dir: &Path) {
    for (path, _) in disk::list(dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "current" || name.starts_with("manifest-") {
            disk::remove(&path);
        }
    }
}

/// Writes keys `0..count` in rounds: each round overwrites some, deletes some, flushes,
/// and every other round compacts.
fn build(tree: &impl AbstractTree, seqno: &SequenceNumberCounter, count: u32) {
    for round in 0..6_u32 {
        for key in (round % 3..count).step_by(3) {
            tree.insert(
                format!("k{key:05}"),
                format!("v{round}-{key}"),
                seqno.next(),
            );
        }
        for key in (round..count).step_by(11) {
            tree.remove(format!("k{key:05}"), seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
        if round % 2 == 1 {
            tree.major_compact(8 << 10, seqno.get()).unwrap();
        }
    }
}

#[test]
fn a_lost_manifest_is_rebuilt_and_the_tree_answers_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let before = {
        let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
            .open()
            .unwrap();
        build(&tree, &seqno, 2_000);
        contents(&tree)
    };
    lose_manifest(dir.path());
    assert!(matches!(
        config(dir.path()).open(),
        Err(Error::ManifestMissing(_))
    ));
    let report = config(dir.path()).repair().unwrap();
    assert!(report.recovered > 0);
    assert_eq!(report.unreadable, 0, "{:?}", report.unreadable_files);
    let tree = config(dir.path()).open().unwrap();
    assert_eq!(contents(&tree), before);
    for (key, value) in &before {
        assert_eq!(
            tree.get(key, lsm::SeqNo::MAX).unwrap().as_deref(),
            Some(value.as_slice())
        );
    }
    // New writes take seqnos above every recovered one.
    assert!(tree.get_highest_persisted_seqno().unwrap_or(0) >= report.last_seqno);
    assert!(lsm::verify::verify_integrity(&tree).is_ok());
}

#[test]
fn a_damaged_manifest_is_moved_aside_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let tree = config(dir.path()).open().unwrap();
        let seqno = SequenceNumberCounter::default();
        build(&tree, &seqno, 500);
        contents(&tree)
    };
    let manifest = disk::list(dir.path())
        .into_iter()
        .map(|(path, _)| path)
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("manifest-")
        })
        .unwrap();
    let mut bytes = disk::read(&manifest);
    bytes[20] ^= 0xFF;
    disk::write(&manifest, &bytes);
    assert!(config(dir.path()).open().is_err());
    let report = config(dir.path()).repair().unwrap();
    assert!(report.replaced_manifest_files.contains(&manifest));
    let quarantined = dir
        .path()
        .join(lsm::repair::QUARANTINE_DIR)
        .join(manifest.file_name().unwrap());
    assert!(quarantined.exists(), "the damaged manifest is kept");
    let tree = config(dir.path()).open().unwrap();
    assert_eq!(contents(&tree), before);
}

#[test]
fn obsolete_tables_still_on_disk_do_not_bring_deleted_or_overwritten_keys_back() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .open()
        .unwrap();
    for key in 0..300_u32 {
        tree.insert(format!("k{key:04}"), "old", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    for key in (0..300_u32).step_by(2) {
        tree.remove(format!("k{key:04}"), seqno.next());
    }
    for key in (1..300_u32).step_by(4) {
        tree.insert(format!("k{key:04}"), "new", seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    let expected = contents(&tree);
    // A reader holds the tables the merge replaces, so their files stay while the
    // merge (dropping the tombstones at the last level) is installed.
    let mut reader = tree.iter(lsm::SeqNo::MAX, None);
    assert!(reader.next().is_some());
    tree.major_compact(64 << 20, seqno.get()).unwrap();
    assert_eq!(contents(&tree), expected);
    // Later tables record the removed ones as obsolete; the copy is taken before and
    // after one is written.
    disk::copy_tree(dir.path(), &copy.path().join("before"));
    tree.insert("zz-later", "x", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    disk::copy_tree(dir.path(), &copy.path().join("after"));
    drop(reader);
    drop(tree);

    for (name, later) in [("before", false), ("after", true)] {
        let copy = copy.path().join(name);
        lose_manifest(&copy);
        let report = config(&copy).repair().unwrap();
        if later {
            assert_eq!(report.obsolete_tables.len(), 2, "{report:?}");
        } else {
            // Nothing proves the merge was installed: its output is left out and the
            // tables it replaced (which hold the same data) stay.
            assert_eq!(report.uninstalled_tables.len(), 1, "{report:?}");
        }
        let tree = config(&copy).open().unwrap();
        let mut repaired = contents(&tree);
        repaired.retain(|(key, _)| key != b"zz-later");
        assert_eq!(repaired, expected, "{name}");
        for key in (0..300_u32).step_by(2) {
            assert_eq!(
                tree.get(format!("k{key:04}"), lsm::SeqNo::MAX).unwrap(),
                None
            );
        }
        assert_eq!(
            tree.get("k0001", lsm::SeqNo::MAX).unwrap().as_deref(),
            Some(&b"new"[..])
        );
    }
}

#[test]
fn a_dropped_range_whose_files_remain_stays_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .open()
        .unwrap();
    for prefix in ["a", "b"] {
        for key in 0..100_u32 {
            tree.insert(format!("{prefix}{key:03}"), "v", seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
    }
    let reader = tree.iter(lsm::SeqNo::MAX, None);
    tree.drop_range::<&str, _>("a".."b").unwrap();
    disk::copy_tree(dir.path(), copy.path());
    drop(reader);
    drop(tree);
    lose_manifest(copy.path());
    let report = config(copy.path()).repair().unwrap();
    assert_eq!(report.obsolete_tables.len(), 1, "{report:?}");
    let tree = config(copy.path()).open().unwrap();
    assert_eq!(tree.get("a001", lsm::SeqNo::MAX).unwrap(), None);
    assert!(tree.get("b001", lsm::SeqNo::MAX).unwrap().is_some());
}

#[test]
fn damaged_and_stray_files_are_quarantined_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let seqno = SequenceNumberCounter::default();
    {
        let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
            .open()
            .unwrap();
        for (round, prefix) in ["a", "b", "c"].into_iter().enumerate() {
            for key in 0..200_u32 {
                tree.insert(
                    format!("{prefix}{key:03}"),
                    format!("{round}"),
                    seqno.next(),
                );
            }
            tree.flush_active_memtable(0).unwrap();
        }
    }
    let tables = dir.path().join("tables");
    let names: Vec<_> = disk::list(&tables)
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let damaged = names[1].clone();
    let mut bytes = disk::read(&damaged);
    bytes[100] ^= 0x40;
    disk::write(&damaged, &bytes);
    disk::write(&tables.join("notes.txt"), b"a stranger");
    lose_manifest(dir.path());

    let report = config(dir.path()).repair().unwrap();
    assert_eq!(report.recovered, 2);
    assert_eq!(report.unreadable, 2, "{:?}", report.unreadable_files);
    let quarantined: Vec<_> = report
        .unreadable_files
        .iter()
        .map(|(path, _)| path.clone())
        .collect();
    assert!(quarantined.contains(&damaged) && quarantined.contains(&tables.join("notes.txt")));
    let quarantine = dir.path().join(lsm::repair::QUARANTINE_DIR);
    let damaged_name = format!("table-{}", damaged.file_name().unwrap().to_string_lossy());
    assert_eq!(disk::read(&quarantine.join(damaged_name)), bytes);
    assert!(quarantine.join("table-notes.txt").exists());
    let tree = config(dir.path()).open().unwrap();
    assert_eq!(contents(&tree).len(), 400, "the other two tables answer");
}

#[test]
fn level_0_tables_with_interleaved_seqnos_are_merged_before_the_repair_returns() {
    let dir = tempfile::tempdir().unwrap();
    {
        let tree = config(dir.path()).open().unwrap();
        // Seqnos are the caller's: table one holds a@1, c@10 and e@2, table two b@5
        // and d@6. Their key ranges overlap and so do their seqno ranges, so no order
        // of the two as level-0 runs is newest-first for every key they might share.
        tree.insert("a", "a1", 1);
        tree.insert("c", "c10", 10);
        tree.insert("e", "e2", 2);
        tree.flush_active_memtable(0).unwrap();
        tree.insert("b", "b5", 5);
        tree.insert("d", "d6", 6);
        tree.flush_active_memtable(0).unwrap();
    }
    lose_manifest(dir.path());
    let report = config(dir.path()).repair().unwrap();
    assert_eq!(report.method, "placed and merged");
    let tree = config(dir.path()).open().unwrap();
    assert_eq!(tree.table_count(), 1);
    for (key, value) in [
        ("a", "a1"),
        ("b", "b5"),
        ("c", "c10"),
        ("d", "d6"),
        ("e", "e2"),
    ] {
        assert_eq!(
            tree.get(key, lsm::SeqNo::MAX).unwrap().as_deref(),
            Some(value.as_bytes())
        );
    }
    assert_eq!(tree.get("c", 10).unwrap(), None, "seqnos kept");
}

#[test]
fn the_callers_errors_refuse_the_repair_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = |byte| Arc::new(Aes256GcmProvider::new(&[byte; 32])) as Arc<dyn EncryptionProvider>;
    {
        let tree = config(dir.path())
            .with_encryption(Some(key(7)))
            .open()
            .unwrap();
        tree.insert("a", "1", 0);
        tree.flush_active_memtable(0).unwrap();
        // The tree is open: the lock is held.
        assert!(matches!(
            config(dir.path()).with_encryption(Some(key(7))).repair(),
            Err(Error::Locked(_))
        ));
    }
    lose_manifest(dir.path());
    let listing = || {
        let mut names: Vec<_> = walk(dir.path());
        names.sort();
        names
    };
    let untouched = listing();
    assert!(matches!(
        config(dir.path()).with_encryption(Some(key(8))).repair(),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        config(dir.path()).repair(),
        Err(Error::EncryptionRequired)
    ));
    assert_eq!(listing(), untouched);
    assert!(matches!(
        config(&dir.path().join("missing")).repair(),
        Err(Error::Io(_))
    ));
    config(dir.path())
        .with_encryption(Some(key(7)))
        .repair()
        .unwrap();
    let tree = config(dir.path())
        .with_encryption(Some(key(7)))
        .open()
        .unwrap();
    assert_eq!(
        tree.get("a", lsm::SeqNo::MAX).unwrap().as_deref(),
        Some(&b"1"[..])
    );
}

#[test]
fn a_repair_in_another_key_order_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let reversed = TestOrder::Reversed.comparator().unwrap();
    {
        let tree = config(dir.path())
            .comparator(Arc::clone(&reversed))
            .open()
            .unwrap();
        tree.insert("a", "1", 0);
        tree.insert("b", "2", 1);
        tree.flush_active_memtable(0).unwrap();
    }
    lose_manifest(dir.path());
    assert!(matches!(
        config(dir.path()).repair(),
        Err(Error::ComparatorMismatch { .. })
    ));
    config(dir.path())
        .comparator(Arc::clone(&reversed))
        .repair()
        .unwrap();
    let tree = config(dir.path()).comparator(reversed).open().unwrap();
    assert_eq!(
        contents(&tree),
        vec![
            (b"b".to_vec(), b"2".to_vec()),
            (b"a".to_vec(), b"1".to_vec())
        ]
    );
}

#[test]
fn a_blob_tree_is_repaired_with_its_blob_files_and_their_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let separated = || {
        config(dir.path()).with_kv_separation(Some(
            lsm::KvSeparationOptions::default()
                .separation_threshold(16)
                .staleness_threshold(0.99),
        ))
    };
    let seqno = SequenceNumberCounter::default();
    let before = {
        let tree = separated().open().unwrap();
        for round in 0..3_u32 {
            // Each round overwrites half of what the one before wrote.
            for key in 0..(200_u32 >> round) {
                tree.insert(
                    format!("k{key:03}"),
                    format!("{round}-{}", "v".repeat(40)),
                    seqno.next(),
                );
            }
            tree.flush_active_memtable(0).unwrap();
        }
        tree.compact(
            Arc::new(lsm::compaction::Leveled::default().with_l0_threshold(2)),
            seqno.get(),
        )
        .unwrap();
        (
            contents(&tree),
            tree.blob_file_count(),
            tree.stale_blob_bytes(),
        )
    };
    assert!(before.2 > 0, "overwritten values are garbage");
    lose_manifest(dir.path());
    let report = separated().repair().unwrap();
    assert_eq!(report.blob_files_recovered, before.1, "{report:?}");
    let tree = separated().open().unwrap();
    assert_eq!(contents(&tree), before.0);
    assert_eq!(
        tree.stale_blob_bytes(),
        before.2,
        "the garbage is counted again"
    );
}

/// Every file under `dir`, relative.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (path, is_dir) in disk::list(dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_dir {
            out.extend(
                walk(&path)
                    .into_iter()
                    .map(|inner| format!("{name}/{inner}")),
            );
        } else {
            out.push(name);
        }
    }
    out
}
