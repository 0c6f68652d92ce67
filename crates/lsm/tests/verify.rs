//! `verify_checksum` and `verify::verify_integrity` through the facade: a healthy tree
//! (plain, separated, encrypted) checks clean, file by file; a flipped byte in a table,
//! a blob file or the manifest is reported with its file, kind and offset, whichever
//! byte it is; threads and a pause change nothing in the findings; the check leaves the
//! files as they were.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lsm::verify::{FileKind, VerifyOptions, verify_integrity};
use lsm::{
    AbstractTree, Aes256GcmProvider, AnyTree, Config, Fs, KvSeparationOptions, MemFs, SeqNo,
    SequenceNumberCounter,
};

fn config(fs: &Arc<dyn Fs>, blob: bool, encrypted: bool) -> Config {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs))
    .with_kv_separation(blob.then(|| KvSeparationOptions::default().separation_threshold(64)))
    .with_encryption(
        encrypted.then(|| {
            Arc::new(Aes256GcmProvider::new(&[0x44; 32])) as Arc<dyn lsm::EncryptionProvider>
        }),
    )
}

fn fill(tree: &AnyTree) {
    let mut seqno = 0;
    for round in 0..3 {
        for i in 0..400_u32 {
            let value = format!("value-{i}-{round}-{}", "x".repeat((i % 9) as usize * 20));
            tree.insert(format!("key-{i:05}"), value, seqno);
            seqno += 1;
        }
        tree.flush_active_memtable(0).unwrap();
    }
    tree.major_compact(64 << 10, SeqNo::MAX).unwrap();
}

fn files(fs: &Arc<dyn Fs>, sub: &str) -> Vec<PathBuf> {
    let dir = Path::new("/db").join(sub);
    fs.read_dir(&dir)
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .collect()
}

fn manifest(fs: &Arc<dyn Fs>) -> PathBuf {
    fs.read_dir(Path::new("/db"))
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .find(|path| path.to_string_lossy().contains("manifest-"))
        .unwrap()
}

fn flip(fs: &Arc<dyn Fs>, path: &Path, at: usize) -> Vec<u8> {
    let original = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    let mut damaged = original.clone();
    damaged[at] ^= 0x20;
    rewrite(fs, path, &damaged);
    original
}

fn rewrite(fs: &Arc<dyn Fs>, path: &Path, bytes: &[u8]) {
    fs.remove_file(path).unwrap();
    fs.open(path, lsm_core::OpenOptions::create_new())
        .unwrap()
        .append(bytes)
        .unwrap();
}

#[test]
fn healthy_trees_check_clean() {
    for (blob, encrypted) in [(false, false), (true, false), (true, true)] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = config(&fs, blob, encrypted).open().unwrap();
        fill(&tree);
        let report = verify_integrity(&tree);
        assert!(report.is_ok(), "{:?}", report.errors);
        let data_files = tree.table_count() + tree.blob_file_count();
        assert_eq!(report.files_checked, data_files + 1, "and the manifest");
        assert!(report.blocks_checked > 10);
        let threaded = tree.verify_checksum_with(
            &VerifyOptions::default()
                .parallelism(2)
                .throttle(Duration::from_millis(1)),
        );
        assert!(threaded.is_ok());
        assert_eq!(threaded.files_checked, data_files);
        assert_eq!(
            threaded.blocks_checked,
            tree.verify_checksum().blocks_checked
        );
    }
}

#[test]
fn the_functions_of_the_verify_module_agree_with_the_tree_methods() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Config::new(
        dir.path(),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .open()
    .unwrap();
    fill(&tree);
    let by_method = tree.verify_checksum();
    assert_eq!(lsm::verify::verify_block_checksums(&tree), by_method);
    assert_eq!(
        lsm::verify::verify_block_checksums_with(&tree, &VerifyOptions::default().parallelism(2))
            .blocks_checked,
        by_method.blocks_checked
    );
    let table = dir.path().join("tables").join(
        tree.current_version()
            .tables()
            .next()
            .unwrap()
            .id
            .to_string(),
    );
    let one = lsm::verify::verify_sst_file(&table);
    assert!(one.is_ok() && one.blocks_checked > 0);
    let missing = lsm::verify::verify_sst_file(&dir.path().join("tables").join("999"));
    assert!(!missing.is_ok());
}

#[test]
fn progress_is_told_after_every_file_and_reaches_the_totals() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, true, false).open().unwrap();
    fill(&tree);
    let seen = std::sync::Mutex::new(Vec::new());
    let report = tree.verify_integrity_with_progress(
        &VerifyOptions::default().parallelism(2),
        &|progress| {
            seen.lock().unwrap().push(*progress);
        },
    );
    assert!(report.is_ok());
    let mut seen = seen.into_inner().unwrap();
    seen.sort_by_key(|progress| progress.files_done);
    let data_files = tree.table_count() + tree.blob_file_count();
    assert_eq!(seen.len(), data_files);
    let last = seen.last().unwrap();
    assert_eq!(last.files_done, last.files_total);
    assert_eq!(last.bytes_done, last.bytes_total);
    let version = tree.current_version();
    let on_disk: u64 = version.tables().map(|table| table.size_bytes).sum::<u64>()
        + version
            .blob_files()
            .values()
            .map(|file| file.file_len)
            .sum::<u64>();
    assert_eq!(last.bytes_total, on_disk);
    assert!(
        seen.windows(2)
            .all(|pair| pair[0].bytes_done <= pair[1].bytes_done)
    );
}

/// A table with every block type a tree writes at this size (a partitioned filter, a
/// trained dictionary, range tombstones): every 5th byte (every byte at `--scale 5`) flipped in turn is
/// refused at open or reported by the check, and the reports name every block type.
#[test]
fn every_block_type_of_a_table_is_checked() {
    use lsm::config::{CompressionPolicy, DictionaryTraining, PartitioningPolicy};
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let config = || {
        let mut config = Config::new(
            "/db",
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        );
        // Filter partitions of 64 keys.
        config.filter_block_partition_size_policy = lsm::config::BlockSizePolicy::all(64);
        config
            .with_shared_fs(Arc::clone(&fs))
            .data_block_compression_policy(CompressionPolicy::all(lsm::CompressionType::Zstd(3)))
            .zstd_dictionary_training(Some(DictionaryTraining {
                level: 3,
                dictionary_bytes: 1 << 10,
                sample_bytes: 8 << 10,
            }))
            .index_block_partitioning_policy(PartitioningPolicy::all(true))
            .filter_block_partitioning_policy(PartitioningPolicy::all(true))
            .data_block_size_policy(lsm::config::BlockSizePolicy::all(512))
    };
    {
        let tree = config().open().unwrap();
        let records = lsm_testkit::data::records_of(&lsm_testkit::data::DataSet::subset()).unwrap();
        for (idx, record) in records.iter().take(300).enumerate() {
            tree.insert(
                format!("pkg-{idx:05}"),
                record.small_value.clone(),
                idx as u64,
            );
        }
        tree.remove_range("pkg-00100", "pkg-00120", 1_000);
        tree.flush_active_memtable(0).unwrap();
    }
    let tables = files(&fs, "tables");
    assert_eq!(tables.len(), 1);
    let path = &tables[0];
    let properties =
        lsm::inspect::read_table_properties(fs.as_ref(), path, &Default::default()).unwrap();
    assert!(properties.filter_partitioned);
    assert!(properties.dictionary_id.is_some() && properties.range_tombstone_count == 1);
    let started = std::time::Instant::now();
    let step = usize::try_from((5 / lsm_testkit::test_scale()).max(1)).unwrap();
    let len = lsm_core::fs::read_all(fs.as_ref(), path).unwrap().len();
    let (mut refused_at_open, mut missed) = (0, 0);
    let mut by_block: std::collections::BTreeMap<String, usize> = Default::default();
    for at in (0..len).step_by(step) {
        let original = flip(&fs, path, at);
        match config().open() {
            Err(_) => refused_at_open += 1,
            Ok(tree) => {
                let report = verify_integrity(&tree);
                // The whole-file digest catches every flip; the block (when one holds
                // the byte) is named as well.
                let block = report
                    .errors
                    .iter()
                    .find_map(|error| error.what.split_once(" block: ").map(|(block, _)| block))
                    .unwrap_or("whole-file digest only");
                if report.errors.is_empty() {
                    missed += 1;
                } else {
                    *by_block.entry(block.to_owned()).or_default() += 1;
                }
            }
        }
        rewrite(&fs, path, &original);
    }
    println!(
        "table of {len} bytes, every {step}th byte flipped: {refused_at_open} refused at open, reported by block: {by_block:?}, {missed} missed"
    );
    assert_eq!(missed, 0, "every flipped byte is found");
    // The index, the filter's index, the dictionary, the range tombstones, the
    // properties and the footer are read when the table opens: a flip there refuses the
    // open. Index partitions start at 4 MiB of index entries (`lsm-table`'s corruption
    // sweep covers them).
    assert!(refused_at_open > 0);
    for block in ["data", "filter partition"] {
        assert!(by_block.contains_key(block), "{block}: {by_block:?}");
    }
    lsm_testkit::reliability::record(
        "G3",
        "verify: flips in every block kind found by the integrity walk",
        len.div_ceil(step) as u64,
        "cases",
        started,
    );
}

/// Every 29th byte (every byte at `--scale 29`) of every table and blob file, and every
/// byte of the manifest's last
/// edit and commit, flipped in turn: the check names the file whenever the byte lies in
/// a block or frame, and the reads of a tree opened afterwards agree.
#[test]
fn flipped_bytes_are_reported_with_their_file() {
    let started = std::time::Instant::now();
    let mut cases = 0;
    for blob in [false, true] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = config(&fs, blob, false).open().unwrap();
        fill(&tree);
        drop(tree);
        let mut paths: Vec<(PathBuf, FileKind)> = files(&fs, "tables")
            .into_iter()
            .map(|path| (path, FileKind::Table))
            .collect();
        if blob {
            paths.extend(
                files(&fs, "blobs")
                    .into_iter()
                    .map(|path| (path, FileKind::BlobFile)),
            );
        }
        let (mut refused_at_open, mut reported, mut missed) = (0, 0, 0);
        for (path, kind) in &paths {
            let len = lsm_core::fs::read_all(fs.as_ref(), path).unwrap().len();
            let step = usize::try_from((29 / lsm_testkit::test_scale()).max(1)).unwrap();
            for at in (0..len).step_by(step) {
                let original = flip(&fs, path, at);
                // The check runs on a reopened tree: the first tree's readers hold parts
                // of the files (footers, pinned blocks) read before the damage.
                let reopened = config(&fs, blob, false).open();
                match reopened {
                    // Footers, properties and pinned blocks are read at open.
                    Err(_) => refused_at_open += 1,
                    Ok(reopened) => {
                        let report = reopened.verify_checksum();
                        drop(reopened);
                        let named = report
                            .errors
                            .iter()
                            .any(|error| error.path == *path && error.kind == *kind);
                        if named {
                            reported += 1;
                        } else {
                            missed += 1;
                        }
                        assert!(
                            report.errors.iter().all(|error| error.path == *path),
                            "only the damaged file is named: {:?}",
                            report.errors
                        );
                    }
                }
                rewrite(&fs, path, &original);
            }
        }
        println!(
            "blob tree {blob}: {refused_at_open} flipped bytes refused at open, {reported} reported by the check, {missed} not"
        );
        assert!(reported > 100);
        assert_eq!(missed, 0, "every flipped byte is found");
        cases += refused_at_open + reported;
    }
    lsm_testkit::reliability::record(
        "G3",
        "verify: flips in tables and blob files named by the check",
        cases as u64,
        "cases",
        started,
    );
}

#[test]
fn a_damaged_manifest_is_reported() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, false, false).open().unwrap();
    fill(&tree);
    let path = manifest(&fs);
    let len = lsm_core::fs::read_all(fs.as_ref(), &path).unwrap().len();
    // A byte in the snapshot at the file's start.
    let original = flip(&fs, &path, 20);
    let report = verify_integrity(&tree);
    assert!(
        report
            .errors
            .iter()
            .any(|error| error.kind == FileKind::Manifest && error.path == path),
        "{:?}",
        report.errors
    );
    rewrite(&fs, &path, &original);
    assert!(verify_integrity(&tree).is_ok());
    assert_eq!(
        lsm_core::fs::read_all(fs.as_ref(), &path).unwrap().len(),
        len,
        "the check changes nothing"
    );
}

/// A table swapped for another tree's table of the same id has sound blocks: only the
/// whole-file digest the manifest recorded tells it apart.
#[test]
fn a_swapped_table_fails_its_whole_file_digest() {
    let trees: Vec<Arc<dyn Fs>> = (0..2)
        .map(|round| {
            let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
            let tree = config(&fs, false, false).open().unwrap();
            for i in 0..200_u32 {
                tree.insert(
                    format!("key-{i:05}"),
                    format!("value-{round}-{i}"),
                    u64::from(i),
                );
            }
            tree.flush_active_memtable(0).unwrap();
            fs
        })
        .collect();
    let table = files(&trees[0], "tables").remove(0);
    let other = lsm_core::fs::read_all(trees[1].as_ref(), &table).unwrap();
    rewrite(&trees[0], &table, &other);
    let tree = config(&trees[0], false, false).open().unwrap();
    let report = tree.verify_checksum();
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].path, table);
    assert!(
        report.errors[0].what.contains("whole-file digest"),
        "{:?}",
        report.errors[0]
    );
}

/// Every byte of the manifest and of `current` flipped in turn, checked by
/// `verify_integrity` on the open tree: every flip is flagged but for the bytes of the
/// manifest's last commit record, which read as the torn tail of an unacknowledged
/// append (the documented redundant bytes).
#[test]
fn every_flipped_manifest_or_pointer_byte_is_flagged() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, true, false).open().unwrap();
    fill(&tree);
    let manifest = manifest(&fs);
    let current = Path::new("/db/current").to_path_buf();
    let commit_len = 12 + 9;
    for path in [&manifest, &current] {
        let len = lsm_core::fs::read_all(fs.as_ref(), path).unwrap().len();
        let (mut flagged, mut passed) = (0, 0);
        for at in 0..len {
            let original = flip(&fs, path, at);
            let report = verify_integrity(&tree);
            if report
                .errors
                .iter()
                .any(|error| error.kind == FileKind::Manifest)
            {
                flagged += 1;
            } else {
                assert!(
                    *path == manifest && at >= len - commit_len,
                    "{} byte {at} of {len} passed the check",
                    path.display()
                );
                passed += 1;
            }
            rewrite(&fs, path, &original);
        }
        println!(
            "{}: {flagged} of {len} flipped bytes flagged, {passed} in the last commit record",
            path.display()
        );
        assert!(flagged > 0);
    }
    assert!(verify_integrity(&tree).is_ok());
}
