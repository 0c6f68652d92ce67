//! `lsm::inspect` on the files of a real tree, without the tree: a table's properties,
//! index entries, entries and filter statistics agree with what was written; a blob
//! file's frames are its values; a table of a custom order needs its comparator; a file
//! not named by an id, a damaged table and an encrypted one are typed errors.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;

use lsm::inspect::{
    InspectOptions, iter_data_block_entries, read_blob_frames, read_filter_stats,
    read_index_entries, read_table_properties, tree_files,
};
use lsm::{
    AbstractTree, Aes256GcmProvider, Config, Error, Fs, KvSeparationOptions, MemFs,
    SequenceNumberCounter,
};
use lsm_testkit::orders::Numeric;

#[path = "support/common.rs"]
mod common;

use common::config_on as config;

#[test]
fn a_tree_s_files_read_back_as_written() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs)
        .with_kv_separation(Some(
            KvSeparationOptions::default().separation_threshold(100),
        ))
        .open()
        .unwrap();
    for i in 0..2_000_u32 {
        let value = if i % 10 == 0 {
            "separated ".repeat(20)
        } else {
            format!("inline-{i}")
        };
        tree.insert(format!("key-{i:05}"), value, u64::from(i));
    }
    tree.remove("key-00007", 5_000);
    tree.flush_active_memtable(0).unwrap();
    let (tables, blobs) = tree_files(fs.as_ref(), Path::new("/db")).unwrap();
    assert_eq!(tables.len(), tree.table_count());
    assert_eq!(blobs.len(), tree.blob_file_count());
    let options = InspectOptions::default();
    let properties = read_table_properties(fs.as_ref(), &tables[0], &options).unwrap();
    assert_eq!(properties.entry_count, 2_001);
    assert_eq!(properties.tombstone_count, 1);
    assert_eq!(properties.key_min.as_ref(), b"key-00000");
    let index = read_index_entries(fs.as_ref(), &tables[0], &options).unwrap();
    assert_eq!(index.len() as u64, properties.data_block_count);
    assert!(
        index
            .windows(2)
            .all(|pair| pair[0].handle.offset < pair[1].handle.offset)
    );
    let entries: Vec<_> = iter_data_block_entries(fs.as_ref(), &tables[0], &options)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(entries.len(), 2_001);
    assert_eq!(entries.first().unwrap().key.user_key.as_ref(), b"key-00000");
    let stats = read_filter_stats(fs.as_ref(), &tables[0], &options)
        .unwrap()
        .unwrap();
    assert_eq!(stats.key_count, 2_000);
    assert!(
        stats.bits_per_key > 5.0 && stats.bits_per_key < 20.0,
        "{stats:?}"
    );
    let frames = read_blob_frames(fs.as_ref(), &blobs[0]).unwrap();
    assert_eq!(frames.len(), 200);
    assert!(frames.iter().all(|frame| frame.value_len == 200));
    assert_eq!(frames[0].key.as_ref(), b"key-00000");
}

#[test]
fn a_custom_order_table_needs_its_comparator() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs).comparator(Arc::new(Numeric)).open().unwrap();
    for i in [1_u32, 10, 100, 2, 20] {
        tree.insert(i.to_string(), "v", u64::from(i));
    }
    tree.flush_active_memtable(0).unwrap();
    let table = Path::new("/db/tables/1");
    assert!(matches!(
        read_table_properties(fs.as_ref(), table, &InspectOptions::default()),
        Err(Error::Table(lsm_table::Error::ComparatorMismatch { .. }))
    ));
    let options = InspectOptions::default().comparator(Arc::new(Numeric));
    let keys: Vec<_> = iter_data_block_entries(fs.as_ref(), table, &options)
        .unwrap()
        .map(|entry| String::from_utf8(entry.unwrap().key.user_key.to_vec()).unwrap())
        .collect();
    assert_eq!(keys, ["1", "2", "10", "20", "100"]);
}

#[test]
fn bad_files_are_typed_errors() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs).open().unwrap();
    tree.insert("a", "1", 0);
    tree.flush_active_memtable(0).unwrap();
    drop(tree);
    let options = InspectOptions::default();
    assert!(matches!(
        read_table_properties(fs.as_ref(), Path::new("/db/current"), &options),
        Err(Error::NotATreeFile { .. })
    ));
    let table = Path::new("/db/tables/1");
    let mut bytes = lsm_core::fs::read_all(fs.as_ref(), table).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs.remove_file(table).unwrap();
    fs.open(table, lsm_core::OpenOptions::create_new())
        .unwrap()
        .append(&bytes)
        .unwrap();
    assert!(matches!(
        read_table_properties(fs.as_ref(), table, &options),
        Err(Error::Table(_))
    ));
    // An encrypted table is inspected through its tree.
    let sealed: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&sealed)
        .with_encryption(Some(Arc::new(Aes256GcmProvider::new(&[9; 32]))))
        .open()
        .unwrap();
    tree.insert("a", "1", 0);
    tree.flush_active_memtable(0).unwrap();
    assert!(matches!(
        read_table_properties(sealed.as_ref(), table, &options),
        Err(Error::Table(lsm_table::Error::KeyRequired { .. }))
    ));
}

#[test]
fn one_file_is_verified_without_its_tree() {
    let dir = tempfile::tempdir().unwrap();
    {
        let tree = Config::new(
            dir.path(),
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        .with_kv_separation(Some(
            KvSeparationOptions::default().separation_threshold(32),
        ))
        .open()
        .unwrap();
        for key in 0..300_u32 {
            tree.insert(
                format!("k{key:04}"),
                format!("{key}-{}", "v".repeat(key as usize % 80)),
                u64::from(key),
            );
        }
        tree.flush_active_memtable(0).unwrap();
    }
    let options = InspectOptions::default();
    let (tables, blobs) = tree_files(&lsm::StdFs, dir.path()).unwrap();
    for path in tables.iter().chain(&blobs) {
        let report = lsm::inspect::verify_file(&lsm::StdFs, path, &options).unwrap();
        assert!(report.is_ok(), "{path:?}: {:?}", report.errors);
        assert!(report.blocks_checked > 0);
    }
    for path in [&tables[0], &blobs[0]] {
        let mut bytes = common::disk::read(path);
        bytes[40] ^= 0x08;
        common::disk::write(path, &bytes);
        let report = lsm::inspect::verify_file(&lsm::StdFs, path, &options).unwrap();
        assert!(!report.is_ok(), "{path:?}: a flipped byte is found");
        assert_eq!(report.errors[0].path, *path);
    }
    assert!(matches!(
        lsm::inspect::verify_file(&lsm::StdFs, &dir.path().join("current"), &options),
        Err(Error::NotATreeFile { .. })
    ));
}
