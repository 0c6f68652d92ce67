//! Compression through `Config`, on real records (the shipped Debian subset): every
//! compression type and both kinds of dictionary write, flush, compact, reopen and read
//! back the same data, each smaller on disk than none; a policy naming a dictionary the
//! configuration does not hold is refused at open; tables keep their dictionary, blob
//! files need the caller's, or store the one they trained.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use lsm::config::{CompressionPolicy, DictionaryTraining};
use lsm::{
    AbstractTree, AnyTree, CompressionType, Config, Error, Fs, Guard, KvSeparationOptions, MemFs,
    SeqNo, ZstdDictionary,
};
use lsm_testkit::data::{DataSet, Record, records_of};

/// Records of the shipped subset, every third one (4,000 rows of 100 to 500 bytes).
fn records() -> Vec<Record> {
    records_of(&DataSet::subset())
        .unwrap()
        .into_iter()
        .step_by(3)
        .collect()
}

/// A dictionary trained on the first records' rows (the later rows are the data).
fn dictionary(records: &[Record]) -> Arc<ZstdDictionary> {
    let samples: Vec<&[u8]> = records[..500]
        .iter()
        .map(|record| record.small_value.as_slice())
        .collect();
    Arc::new(lsm_codec::train_dictionary(&samples, 16 << 10).unwrap())
}

#[path = "support/common.rs"]
mod common;

use common::config_on as config;

/// Writes the records in two flushes and a major compaction; returns the bytes on disk.
fn fill(tree: &AnyTree, records: &[Record]) -> u64 {
    let half = records.len() / 2;
    for (seqno, record) in records.iter().enumerate() {
        tree.insert(
            record.key.clone(),
            record.small_value.clone(),
            seqno as SeqNo,
        );
        if seqno == half {
            tree.flush_active_memtable(0).unwrap();
        }
    }
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(64 << 20, 0).unwrap();
    tree.disk_space()
}

fn check(tree: &AnyTree, records: &[Record]) {
    let mut expected: Vec<(&[u8], &[u8])> = records
        .iter()
        .map(|record| (record.key.as_slice(), record.small_value.as_slice()))
        .collect();
    expected.sort_unstable();
    expected.dedup_by(|later, earlier| later.0 == earlier.0);
    let scanned: Vec<(Vec<u8>, Vec<u8>)> = tree
        .iter(SeqNo::MAX, None)
        .map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect();
    assert_eq!(scanned.len(), expected.len());
    for ((key, value), (want_key, _)) in scanned.iter().zip(&expected) {
        assert_eq!(key.as_slice(), *want_key);
        let newest = records
            .iter()
            .rev()
            .find(|record| record.key == *key)
            .unwrap();
        assert_eq!(*value, newest.small_value);
    }
    for record in records.iter().step_by(97) {
        assert!(tree.get(&record.key, SeqNo::MAX).unwrap().is_some());
    }
}

#[test]
fn every_compression_round_trips_and_shrinks_real_records() {
    let records = records();
    let dictionary = dictionary(&records);
    let data = &records[500..];
    let variants: Vec<(&str, Config)> = {
        let fs = || -> Arc<dyn Fs> { Arc::new(MemFs::new()) };
        let with = |compression| config(&fs()).data_block_compression_policy(compression);
        vec![
            ("none", with(CompressionPolicy::all(CompressionType::None))),
            ("lz4", with(CompressionPolicy::all(CompressionType::Lz4))),
            (
                "zstd",
                with(CompressionPolicy::all(CompressionType::Zstd(3))),
            ),
            (
                "zstd+dict",
                with(CompressionPolicy::all(
                    CompressionType::zstd_dict(3, dictionary.id()).unwrap(),
                ))
                .zstd_dictionary(Some(Arc::clone(&dictionary))),
            ),
            (
                "zstd+trained",
                with(CompressionPolicy::all(CompressionType::Zstd(3))).zstd_dictionary_training(
                    Some(DictionaryTraining {
                        sample_bytes: 64 << 10,
                        ..DictionaryTraining::default()
                    }),
                ),
            ),
            (
                "per level",
                with(CompressionPolicy::new([
                    CompressionType::None,
                    CompressionType::Lz4,
                    CompressionType::Zstd(1),
                ])),
            ),
        ]
    };
    let mut sizes = Vec::new();
    for (name, config) in variants {
        let fs = Arc::clone(&config.fs);
        let tree = config.clone().open().unwrap();
        let bytes = fill(&tree, data);
        check(&tree, data);
        drop(tree);
        let reopened = config.open().unwrap();
        check(&reopened, data);
        sizes.push((name, bytes));
        drop(reopened);
        // The tables open without the configuration's dictionary: each holds its own.
        let plain = self::config(&fs).open().unwrap();
        check(&plain, data);
    }
    let none = sizes[0].1;
    for &(name, bytes) in &sizes[1..] {
        assert!(bytes < none, "{name}: {bytes} bytes, none {none}");
    }
    // A dictionary, given or trained, is in use: it beats plain zstd on small rows.
    let size_of = |wanted: &str| sizes.iter().find(|(name, _)| *name == wanted).unwrap().1;
    assert!(size_of("zstd+dict") < size_of("zstd"), "{sizes:?}");
    assert!(size_of("zstd+trained") < size_of("zstd"), "{sizes:?}");
    println!("bytes on disk: {sizes:?}");
}

#[test]
fn a_policy_naming_another_dictionary_is_refused_at_open() {
    let records = records();
    let dictionary = dictionary(&records);
    let other = Arc::new(ZstdDictionary::new(b"another dictionary"));
    let named = CompressionPolicy::all(CompressionType::zstd_dict(3, dictionary.id()).unwrap());
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    for held in [None, Some(other)] {
        let result = config(&fs)
            .data_block_compression_policy(named.clone())
            .zstd_dictionary(held.clone())
            .open();
        match result {
            Err(Error::ZstdDictMismatch { expected, got }) => {
                assert_eq!(expected, dictionary.id());
                assert_eq!(got, held.map(|held| held.id()));
            }
            other => panic!("expected ZstdDictMismatch, got {other:?}"),
        }
    }
    // Levels outside zstd's range are refused too, in every policy.
    let out_of_range = CompressionPolicy::all(CompressionType::Zstd(40));
    assert!(matches!(
        config(&fs)
            .data_block_compression_policy(out_of_range.clone())
            .open(),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        config(&fs)
            .index_block_compression_policy(out_of_range)
            .open(),
        Err(Error::InvalidConfig(_))
    ));
    assert!(CompressionType::zstd(23).is_err());
    assert!(CompressionType::zstd_dict(-8, 1).is_err());
    assert_eq!(CompressionType::Lz4.to_string(), "lz4");
    assert_eq!(
        CompressionType::zstd_dict(3, 7).unwrap().to_string(),
        "zstd+dict"
    );
    assert_eq!(CompressionType::zstd_dict(3, 7).unwrap().dict_id(), 7);
}

#[test]
fn blob_files_compress_and_need_their_dictionary() {
    let records = records();
    let dictionary = dictionary(&records);
    let data = &records[500..1500];
    let blob_config = |fs: &Arc<dyn Fs>, compression, dict: Option<&Arc<ZstdDictionary>>| {
        let mut options = KvSeparationOptions::default()
            .separation_threshold(64)
            .compression(compression);
        if let Some(dict) = dict {
            options = options.dict(Arc::clone(dict));
        }
        config(fs).with_kv_separation(Some(options))
    };
    let trained = |fs: &Arc<dyn Fs>, _, _: Option<&Arc<ZstdDictionary>>| {
        let options = KvSeparationOptions::default()
            .separation_threshold(64)
            .compression(CompressionType::Zstd(3))
            .dictionary_training(Some(DictionaryTraining {
                sample_bytes: 64 << 10,
                ..DictionaryTraining::default()
            }));
        config(fs).with_kv_separation(Some(options))
    };
    type Configure<'a> =
        &'a dyn Fn(&Arc<dyn Fs>, CompressionType, Option<&Arc<ZstdDictionary>>) -> Config;
    let mut sizes = Vec::new();
    for (name, configure, compression, dict) in [
        (
            "none",
            &blob_config as Configure<'_>,
            CompressionType::None,
            None,
        ),
        ("lz4", &blob_config, CompressionType::Lz4, None),
        ("zstd", &blob_config, CompressionType::Zstd(3), None),
        (
            "zstd+dict",
            &blob_config,
            CompressionType::zstd_dict(3, dictionary.id()).unwrap(),
            Some(&dictionary),
        ),
        ("zstd+trained", &trained, CompressionType::Zstd(3), None),
    ] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = configure(&fs, compression, dict).open().unwrap();
        let bytes = fill(&tree, data);
        assert!(tree.blob_file_count() > 0);
        check(&tree, data);
        drop(tree);
        check(&configure(&fs, compression, dict).open().unwrap(), data);
        if name == "zstd+trained" {
            // Each blob file holds its own dictionary: no setting is needed to read it.
            check(
                &blob_config(&fs, CompressionType::None, None)
                    .open()
                    .unwrap(),
                data,
            );
        }
        sizes.push((name, bytes));
        if dict.is_some() {
            // Without the dictionary the values cannot be read: a typed error, never a
            // wrong value.
            let without = blob_config(&fs, CompressionType::None, None)
                .open()
                .unwrap();
            let record = &data[10];
            match without.get(&record.key, SeqNo::MAX) {
                Err(Error::Blob(_)) => {}
                other => panic!("expected a blob error, got {other:?}"),
            }
        }
    }
    let none = sizes[0].1;
    for (name, bytes) in &sizes[1..] {
        assert!(*bytes < none, "{name}: {bytes} bytes, none {none}");
    }
    // The dictionaries are in use: each beats plain zstd on values compressed one by one.
    assert!(sizes[3].1 < sizes[2].1, "{sizes:?}");
    assert!(sizes[4].1 < sizes[2].1, "{sizes:?}");
    // A blob policy naming a dictionary the options do not hold is refused at open.
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    assert!(matches!(
        blob_config(
            &fs,
            CompressionType::zstd_dict(3, dictionary.id()).unwrap(),
            None
        )
        .open(),
        Err(Error::ZstdDictMismatch { got: None, .. })
    ));
    println!("bytes on disk (blob tree): {sizes:?}");
}
