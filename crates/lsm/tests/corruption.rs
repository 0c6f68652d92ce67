//! A damaged table never yields a wrong answer: after a bit flip anywhere in a table
//! file, opening the tree fails with a typed error, or every read returns the right
//! value or a typed error.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;

use lsm::config::CompressionPolicy;
use lsm::{
    AbstractTree, Aes256GcmProvider, CompressionType, Config, Fs, Guard, MemFs, SeqNo,
    SequenceNumberCounter, ZstdDictionary,
};
use lsm_core::OpenOptions;

const KEYS: u32 = 300;

fn value(i: u32) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat((i % 50) as usize)).into_bytes()
}

#[test]
fn every_bit_flip_in_a_table_is_detected_or_harmless() {
    bit_flips_in_a_table(false);
}

/// The same for a sealed tree: encrypted, data blocks compressed with a dictionary.
#[test]
fn every_bit_flip_in_a_sealed_table_is_detected_or_harmless() {
    bit_flips_in_a_table(true);
}

fn bit_flips_in_a_table(sealed: bool) {
    let fs = Arc::new(MemFs::new());
    let dictionary = Arc::new(ZstdDictionary::new(b"key00value-1-xxxxxxxxxxxxxxxxxxxx"));
    let open = || {
        let config = Config::new(
            "/db",
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        .with_shared_fs(fs.clone());
        if sealed {
            config
                .with_encryption(Some(Arc::new(Aes256GcmProvider::new(&[0x21; 32]))))
                .data_block_compression_policy(CompressionPolicy::all(
                    CompressionType::zstd_dict(3, dictionary.id()).unwrap(),
                ))
                .zstd_dictionary(Some(Arc::clone(&dictionary)))
                .open()
        } else {
            config.open()
        }
    };
    {
        let tree = open().unwrap();
        for i in 0..KEYS {
            tree.insert(format!("key{i:04}"), value(i), u64::from(i));
        }
        tree.flush_active_memtable(0).unwrap();
    }
    let table = Path::new("/db/tables/1");
    let pristine = lsm_core::fs::read_all(fs.as_ref(), table).unwrap();
    let started = std::time::Instant::now();
    let (mut open_failed, mut read_errors, mut clean) = (0, 0, 0);
    // Every seventh byte (every byte from scale 7 up).
    let step = usize::try_from((7 / lsm_testkit::test_scale()).max(1)).unwrap();
    for offset in (0..pristine.len()).step_by(step) {
        let mut damaged = pristine.clone();
        damaged[offset] ^= 1 << (offset % 8);
        let file = fs.open(table, OpenOptions::write()).unwrap();
        file.write_all_at(&damaged, 0).unwrap();
        drop(file);
        let Ok(tree) = open() else {
            open_failed += 1;
            continue;
        };
        let mut errors = 0;
        for i in (0..KEYS).step_by(3) {
            match tree.get(format!("key{i:04}"), SeqNo::MAX) {
                Ok(found) => assert_eq!(found, Some(value(i).into()), "offset {offset}: key {i}"),
                Err(_) => errors += 1,
            }
        }
        for item in tree.iter(SeqNo::MAX, None) {
            match item.into_inner() {
                Ok((key, found)) => {
                    let i: u32 = std::str::from_utf8(&key[3..]).unwrap().parse().unwrap();
                    assert_eq!(&*found, value(i).as_slice(), "offset {offset}: scan");
                }
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
        }
        if errors > 0 {
            read_errors += 1;
        } else {
            clean += 1;
        }
    }
    let cases = open_failed + read_errors + clean;
    println!(
        "{cases} flips (sealed: {sealed}): {open_failed} failed the open, {read_errors} failed reads, {clean} never read"
    );
    assert!(
        open_failed + read_errors > cases / 2,
        "most flips are detected"
    );
    let harness = if sealed {
        "corruption: bit flips in an encrypted, dictionary-compressed table"
    } else {
        "corruption: bit flips in a table"
    };
    lsm_testkit::reliability::record("G3", harness, cases as u64, "cases", started);
}

/// A separated value of `i`: large enough for a blob file.
fn blob_value(i: u32) -> Vec<u8> {
    format!("blob-{i}-{}", "y".repeat(100 + (i % 60) as usize)).into_bytes()
}

#[test]
fn every_bit_flip_in_a_blob_file_is_detected_with_its_file_and_offset() {
    let fs = Arc::new(MemFs::new());
    let open = || {
        Config::new(
            "/db",
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        .with_shared_fs(fs.clone())
        .with_kv_separation(Some(
            lsm::KvSeparationOptions::default().separation_threshold(64),
        ))
        .open()
    };
    const BLOB_KEYS: u32 = 60;
    {
        let tree = open().unwrap();
        for i in 0..BLOB_KEYS {
            tree.insert(format!("key{i:04}"), blob_value(i), u64::from(i));
        }
        tree.flush_active_memtable(0).unwrap();
        assert_eq!(tree.blob_file_count(), 1);
    }
    let blob_file = Path::new("/db/blobs/1");
    let pristine = lsm_core::fs::read_all(fs.as_ref(), blob_file).unwrap();
    let names_file_and_offset = |error: &lsm::Error| {
        let text = error.to_string();
        assert!(
            text.contains("blob file 1") && text.contains("offset"),
            "the error names the file and offset: {text}"
        );
    };
    let started = std::time::Instant::now();
    let (mut open_failed, mut read_errors, mut clean) = (0, 0, 0);
    let step = usize::try_from((5 / lsm_testkit::test_scale()).max(1)).unwrap();
    for offset in (0..pristine.len()).step_by(step) {
        let mut damaged = pristine.clone();
        damaged[offset] ^= 1 << (offset % 8);
        let file = fs.open(blob_file, OpenOptions::write()).unwrap();
        file.write_all_at(&damaged, 0).unwrap();
        drop(file);
        let tree = match open() {
            Ok(tree) => tree,
            Err(error) => {
                names_file_and_offset(&error);
                open_failed += 1;
                continue;
            }
        };
        let mut errors = 0;
        for i in 0..BLOB_KEYS {
            match tree.get(format!("key{i:04}"), SeqNo::MAX) {
                Ok(found) => {
                    assert_eq!(
                        found,
                        Some(blob_value(i).into()),
                        "offset {offset}: key {i}"
                    );
                }
                Err(error) => {
                    names_file_and_offset(&error);
                    errors += 1;
                }
            }
        }
        for item in tree.iter(SeqNo::MAX, None) {
            match item.into_inner() {
                Ok((key, found)) => {
                    let i: u32 = std::str::from_utf8(&key[3..]).unwrap().parse().unwrap();
                    assert_eq!(&*found, blob_value(i).as_slice(), "offset {offset}: scan");
                }
                Err(error) => names_file_and_offset(&error),
            }
        }
        if errors > 0 {
            read_errors += 1;
        } else {
            clean += 1;
        }
    }
    let cases = open_failed + read_errors + clean;
    println!(
        "{cases} flips: {open_failed} failed the open, {read_errors} failed reads, {clean} harmless"
    );
    // Every byte of a blob file is covered by a checksum: no flip goes unnoticed.
    assert_eq!(clean, 0, "every flip is detected");
    lsm_testkit::reliability::record(
        "G3",
        "corruption: bit flips in a blob file",
        cases as u64,
        "cases",
        started,
    );
}
