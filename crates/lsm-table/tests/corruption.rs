//! The corruption sweep over small tables of every variant: every bit flipped (every
//! third bit for the larger variants) and every truncation. Each case must fail to open,
//! or answer every lookup and scan exactly as the intact table does, or return an error
//! from the lookup or scan that touches the damage; never panic, never a wrong answer.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::sync::Arc;

use lsm_burr::FilterPolicy;
use lsm_codec::{Compression, EncryptionKey, ZstdDictionary};
use lsm_core::{Fs, InternalEntry, MemFs, OpenOptions, SeqNo, ValueType};
use lsm_table::{Error, ReadOptions, Table, TableOptions, TableWriter};

/// Everything a reader can observe of a table.
#[derive(Debug, PartialEq)]
struct Answers {
    gets: Vec<Option<InternalEntry>>,
    forward: Vec<InternalEntry>,
    backward: Vec<InternalEntry>,
}

fn entries() -> Vec<InternalEntry> {
    (0..40_u64)
        .map(|idx| {
            let value_type = if idx % 9 == 0 {
                ValueType::Tombstone
            } else {
                ValueType::Value
            };
            InternalEntry::new(
                format!("key-{:03}", idx / 2),
                format!("value {idx}"),
                100 - idx,
                value_type,
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn write(options: TableOptions) -> Vec<u8> {
    let fs = MemFs::new();
    let mut writer = TableWriter::create(&fs, "/t".as_ref(), 5, options).unwrap();
    for entry in entries() {
        writer.add(&entry).unwrap();
    }
    writer.finish().unwrap();
    lsm_core::fs::read_all(&fs, "/t".as_ref()).unwrap()
}

fn answers(bytes: &[u8], read_options: &ReadOptions) -> Result<Answers, Error> {
    let fs = MemFs::new();
    let file = fs.open("/t".as_ref(), OpenOptions::create_new()).unwrap();
    file.append(bytes).unwrap();
    let table = Table::open(&fs, "/t".as_ref(), 5, read_options)?;
    let mut gets = Vec::new();
    for idx in 0..24 {
        for read_seqno in [SeqNo::MAX, 80] {
            gets.push(table.get(format!("key-{idx:03}").as_bytes(), read_seqno)?);
        }
    }
    let forward = table.iter(SeqNo::MAX).collect::<Result<Vec<_>, _>>()?;
    let backward = table
        .iter(SeqNo::MAX)
        .rev()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Answers {
        gets,
        forward,
        backward,
    })
}

fn sweep(name: &str, options: TableOptions, read_options: &ReadOptions, bit_stride: usize) {
    let bytes = write(options);
    let clean = answers(&bytes, read_options).unwrap();
    assert_eq!(clean.forward.len(), entries().len());
    let (mut detected, mut same) = (0, 0);
    for (bit, damaged) in lsm_testkit::damage::bit_flips(&bytes, bit_stride) {
        match answers(&damaged, read_options) {
            Ok(answers) => {
                assert_eq!(answers, clean, "{name}: bit {bit} changed an answer");
                same += 1;
            }
            Err(_) => detected += 1,
        }
    }
    for len in 0..bytes.len() {
        assert!(
            answers(&bytes[..len], read_options).is_err(),
            "{name}: truncation to {len} opened"
        );
    }
    println!(
        "{name}: {} bytes, {detected} flips detected, {same} harmless, {} truncations",
        bytes.len(),
        bytes.len()
    );
}

#[test]
fn plain_table() {
    let options = TableOptions {
        block_size: 256,
        ..TableOptions::default()
    };
    sweep("plain", options, &ReadOptions::default(), 1);
}

#[test]
fn partitioned_zstd_dictionary_table() {
    let options = TableOptions {
        block_size: 128,
        compression: Compression::zstd_dict(3, &ZstdDictionary::new(b"key-0 value 1 key-01 value")),
        index_compression: Compression::zstd(1),
        index_partition_threshold: 0,
        index_partition_size: 64,
        filter: Some(FilterPolicy::bits_per_key(9.0).unwrap()),
        filter_partition_keys: Some(6),
        ..TableOptions::default()
    };
    sweep(
        "zstd+dict, partitioned",
        options,
        &ReadOptions::default(),
        1,
    );
}

#[test]
fn encrypted_table() {
    let key = EncryptionKey::new([1; 32]);
    let options = TableOptions {
        block_size: 256,
        encryption: Some((key.clone(), [2; 16])),
        compression: Compression::zstd(1),
        ..TableOptions::default()
    };
    let read_options = ReadOptions {
        encryption_key: Some(key),
        ..ReadOptions::default()
    };
    sweep("encrypted", options, &read_options, 1);
}

#[test]
fn wrong_key_missing_key_and_wrong_id_are_typed() {
    let key = EncryptionKey::new([1; 32]);
    let bytes = write(TableOptions {
        encryption: Some((key, [2; 16])),
        ..TableOptions::default()
    });
    let fs = MemFs::new();
    let file = fs.open("/t".as_ref(), OpenOptions::create_new()).unwrap();
    file.append(&bytes).unwrap();
    let wrong = ReadOptions {
        encryption_key: Some(EncryptionKey::new([7; 32])),
        ..ReadOptions::default()
    };
    assert!(matches!(
        Table::open(&fs, "/t".as_ref(), 5, &wrong),
        Err(Error::WrongKey { file_id: 5 })
    ));
    assert!(matches!(
        Table::open(&fs, "/t".as_ref(), 5, &ReadOptions::default()),
        Err(Error::KeyRequired { .. })
    ));
    let right = ReadOptions {
        encryption_key: Some(EncryptionKey::new([1; 32])),
        ..ReadOptions::default()
    };
    assert!(matches!(
        Table::open(&fs, "/t".as_ref(), 6, &right),
        Err(Error::FileIdMismatch {
            expected: 6,
            found: 5
        })
    ));
    let plain = write(TableOptions::default());
    let fs = Arc::new(MemFs::new());
    fs.open("/p".as_ref(), OpenOptions::create_new())
        .unwrap()
        .append(&plain)
        .unwrap();
    assert!(matches!(
        Table::open(fs.as_ref(), "/p".as_ref(), 5, &right),
        Err(Error::Corruption { .. })
    ));
}
