//! Golden tables under `tests/fixtures/v1/` (the first release's set): of table format
//! 1, and of format 2 (`table_custom_order`: keys in a custom order) and envelope
//! version 2 (`table_lz4`: LZ4 blocks) since those versions came, and tables with a
//! block locator (`table_locator*`). Deterministic writes
//! must reproduce them byte for byte (zstd-compressed ones are only read, since zstd's
//! output may change between its releases), and every fixture must keep opening and
//! answering, so an accidental format change fails here. `cargo xtask fixtures` writes
//! missing fixtures (`LSM_WRITE_FIXTURES=1`) and never overwrites one.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::path::Path;

use lsm_burr::FilterPolicy;
use lsm_codec::{Compression, EncryptionKey, ZstdDictionary};
use lsm_core::{Fs, InternalEntry, KeyOrder, MemFs, OpenOptions, SeqNo, ValueType};
use lsm_table::{
    FixedPrefix, LocatorOptions, LocatorPrecision, PrefixExtractor, ReadOptions, Table,
    TableOptions, TableWriter,
};

/// Six-byte prefixes under the name `FixedPrefix` had when the fixture was written
/// (`fixed`, whatever the length; now `fixed:<len>`).
struct Fixed6AsV1Named;

impl PrefixExtractor for Fixed6AsV1Named {
    fn prefixes<'a>(&self, key: &'a [u8]) -> Box<dyn Iterator<Item = &'a [u8]> + 'a> {
        Box::new(key.get(..6).into_iter())
    }

    fn is_valid_scan_boundary(&self, prefix: &[u8]) -> bool {
        prefix.len() == 6
    }

    fn name(&self) -> &str {
        "fixed"
    }
}

fn fixture(name: &str, fresh: &[u8]) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1");
    lsm_testkit::fixtures::fixture(&dir, name, fresh)
}

fn entries() -> Vec<InternalEntry> {
    let mut entries = Vec::new();
    for idx in 0..60_u64 {
        let key = format!("user:{:04}", idx * 7 % 61);
        entries.push(InternalEntry::new(
            key.clone(),
            format!("{{\"id\":{idx},\"name\":\"n{idx}\"}}"),
            200 + idx,
            ValueType::Value,
        ));
        if idx % 5 == 0 {
            entries.push(InternalEntry::tombstone(key.clone(), 100 + idx));
        }
        if idx % 11 == 0 {
            entries.push(InternalEntry::new(
                key,
                "+1",
                50 + idx,
                ValueType::MergeOperand,
            ));
        }
    }
    entries.sort();
    entries
}

fn key() -> EncryptionKey {
    EncryptionKey::new(*b"fixture key, 32 bytes long......")
}

fn variants() -> Vec<(&'static str, TableOptions, bool)> {
    // The first fixtures predate the per-block seqno bounds (an optional block, tag
    // 42) and the block locator (tag 44).
    let base = TableOptions {
        block_size: 512,
        created_at_ms: 1_700_000_000_000,
        seqno_bounds: false,
        locator: None,
        ..TableOptions::default()
    };
    vec![
        ("table_plain.sst", base.clone(), true),
        (
            "table_partitioned_prefix.sst",
            TableOptions {
                index_partition_threshold: 0,
                index_partition_size: 128,
                prefix_extractor: Some(std::sync::Arc::new(Fixed6AsV1Named)),
                filter: Some(FilterPolicy::bits_per_key(10.0).unwrap()),
                hash_index_ratio: 1.0,
                ..base.clone()
            },
            true,
        ),
        (
            "table_encrypted.sst",
            TableOptions {
                encryption: Some((key(), [0x42; 16])),
                ..base.clone()
            },
            true,
        ),
        (
            "table_zstd_dict.sst",
            TableOptions {
                compression: Compression::zstd_dict(
                    3,
                    &ZstdDictionary::new(b"{\"id\":1,\"name\":\"n1\"} user:00"),
                ),
                ..base.clone()
            },
            false,
        ),
        // Blocks of envelope version 2 (LZ4).
        (
            "table_lz4.sst",
            TableOptions {
                compression: Compression::Lz4,
                ..base.clone()
            },
            true,
        ),
        // Table format version 2: keys in a custom order (here the bytes' own, through
        // the comparator interface), the order's name stored.
        (
            "table_custom_order.sst",
            TableOptions {
                order: KeyOrder::new(std::sync::Arc::new(
                    lsm_testkit::orders::BytesThroughComparator,
                )),
                ..base.clone()
            },
            true,
        ),
        // The block locator (tag 44) over a partitioned index, with seqno bounds.
        (
            "table_locator.sst",
            TableOptions {
                index_partition_threshold: 0,
                index_partition_size: 128,
                seqno_bounds: true,
                locator: Some(LocatorOptions::block_level()),
                ..base.clone()
            },
            true,
        ),
        // The block locator at entry precision.
        (
            "table_locator_entry.sst",
            TableOptions {
                restart_interval: 4,
                locator: Some(LocatorOptions {
                    precision: LocatorPrecision::Entry,
                    block_id_bits: None,
                    slot_bits: None,
                }),
                ..base
            },
            true,
        ),
    ]
}

#[test]
fn fixtures_open_answer_and_stay_stable() {
    for (name, options, deterministic) in variants() {
        let fs = MemFs::new();
        let mut writer = TableWriter::create(&fs, "/t".as_ref(), 9, options.clone()).unwrap();
        for entry in entries() {
            writer.add(&entry).unwrap();
        }
        writer.finish().unwrap();
        let fresh = lsm_core::fs::read_all(&fs, "/t".as_ref()).unwrap();
        let stored = fixture(name, &fresh);
        if deterministic {
            assert_eq!(stored, fresh, "{name}: the table encoding changed");
        }
        let fs = MemFs::new();
        fs.open("/f".as_ref(), OpenOptions::create_new())
            .unwrap()
            .append(&stored)
            .unwrap();
        let read_options = ReadOptions {
            encryption_key: options.encryption.as_ref().map(|(key, _)| key.clone()),
            prefix_extractor: options.prefix_extractor.clone(),
            order: options.order.clone(),
            ..ReadOptions::default()
        };
        let table = Table::open(&fs, "/f".as_ref(), 9, &read_options).unwrap();
        let all: Vec<_> = table.iter(SeqNo::MAX).collect::<Result<_, _>>().unwrap();
        assert_eq!(all, entries(), "{name}: entries");
        assert_eq!(
            table.get(b"user:0007", 210).unwrap().unwrap().key.seqno,
            201,
            "{name}: lookup"
        );
        assert_eq!(table.properties().created_at_ms, 1_700_000_000_000);
        assert_eq!(table.uses_locator(), options.locator.is_some(), "{name}");
        for entry in entries() {
            let newest = table.get(&entry.key.user_key, SeqNo::MAX).unwrap().unwrap();
            assert_eq!(
                newest.key.user_key, entry.key.user_key,
                "{name}: point read"
            );
        }
        assert!(table.get(b"user:9999", SeqNo::MAX).unwrap().is_none());
        assert!(table.verify().unwrap().is_ok());
        if options.prefix_extractor.is_some() {
            // The prefix filter answers for the extractor it was built with, and is
            // ignored (never "absent") under another name, such as today's `fixed:6`.
            let absent = b"user:9";
            assert!(!table.may_contain_prefix(absent, &read_options).unwrap());
            assert!(table.may_contain_prefix(b"user:0", &read_options).unwrap());
            let renamed = ReadOptions {
                prefix_extractor: Some(std::sync::Arc::new(FixedPrefix::new(6))),
                ..ReadOptions::default()
            };
            let table = Table::open(&fs, "/f".as_ref(), 9, &renamed).unwrap();
            assert!(table.may_contain_prefix(absent, &renamed).unwrap());
        }
    }
}
