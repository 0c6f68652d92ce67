//! Writers beyond the basics: tables that train their own zstd dictionary, and a set
//! writer that rolls to new tables without splitting a key's versions.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::collections::BTreeSet;

use lsm_codec::{Compression, EncryptionKey};
use lsm_core::{Fs, InternalEntry, MemFs, SeqNo, ValueType};
use lsm_table::{
    DictionaryTraining, Error, NewTable, ReadOptions, Table, TableOptions, TableSetWriter,
    TableWriter,
};

fn json_entries(count: u64) -> Vec<InternalEntry> {
    (0..count)
        .map(|idx| {
            let value = format!(
                r#"{{"Package":"pkg-{idx}","Version":"1.{}.{}","Maintainer":"Team {} <team{}@example.org>","Section":"{}","Priority":"optional"}}"#,
                idx % 17,
                idx % 5,
                idx % 9,
                idx % 9,
                ["libs", "devel", "python", "web"][(idx % 4) as usize]
            );
            InternalEntry::new(format!("pkg-{idx:08}"), value, 1, ValueType::Value)
        })
        .collect()
}

fn write(fs: &MemFs, path: &str, entries: &[InternalEntry], options: TableOptions) -> u64 {
    let mut writer = TableWriter::create(fs, path.as_ref(), 1, options).unwrap();
    for entry in entries {
        writer.add(entry).unwrap();
    }
    writer.finish().unwrap();
    lsm_core::fs::read_all(fs, path.as_ref()).unwrap().len() as u64
}

#[test]
fn a_table_trains_its_own_dictionary_and_opens_alone() {
    let fs = MemFs::new();
    let entries = json_entries(20_000);
    let training = DictionaryTraining {
        level: 3,
        dictionary_bytes: 8 * 1024,
        sample_bytes: 256 * 1024,
    };
    let trained = TableOptions {
        dictionary_training: Some(training),
        ..TableOptions::default()
    };
    let trained_len = write(&fs, "/trained", &entries, trained);
    let plain_len = write(
        &fs,
        "/zstd",
        &entries,
        TableOptions {
            compression: Compression::zstd(3),
            ..TableOptions::default()
        },
    );
    assert!(
        trained_len < plain_len,
        "trained {trained_len} vs zstd {plain_len}"
    );

    let table = Table::open(&fs, "/trained".as_ref(), 1, &ReadOptions::default()).unwrap();
    assert!(table.properties().dictionary_id.is_some());
    assert!(table.properties().data_compression.starts_with("zstd+dict"));
    let all: Vec<_> = table.iter(SeqNo::MAX).collect::<Result<_, _>>().unwrap();
    assert_eq!(all, entries);
}

#[test]
fn too_few_samples_fall_back_to_plain_zstd() {
    let fs = MemFs::new();
    let entries = json_entries(3);
    let options = TableOptions {
        dictionary_training: Some(DictionaryTraining::default()),
        ..TableOptions::default()
    };
    write(&fs, "/small", &entries, options);
    let table = Table::open(&fs, "/small".as_ref(), 1, &ReadOptions::default()).unwrap();
    assert_eq!(table.properties().dictionary_id, None);
    assert_eq!(table.iter(SeqNo::MAX).count(), 3);
}

#[test]
fn the_set_writer_rolls_between_keys_and_salts_each_file() {
    let fs = MemFs::new();
    let mut entries = Vec::new();
    for idx in 0..3000_u64 {
        for version in 0..(1 + idx % 4) {
            entries.push(InternalEntry::new(
                format!("key-{idx:06}"),
                format!("value {idx}.{version}"),
                100 - version,
                ValueType::Value,
            ));
        }
    }
    let key = EncryptionKey::new([4; 32]);
    let options = TableOptions {
        encryption: Some((key.clone(), [0; 16])),
        block_size: 1024,
        ..TableOptions::default()
    };
    let mut next_id = 10_u64;
    let mut writer = TableSetWriter::new(&fs, options, 16 * 1024, || {
        next_id += 1;
        NewTable {
            file_id: next_id,
            path: format!("/set/{next_id}").into(),
            salt: [next_id.to_le_bytes()[0]; 16],
        }
    });
    fs_create_dir(&fs);
    for entry in &entries {
        writer.add(entry).unwrap();
    }
    let tables = writer.finish().unwrap();
    assert!(tables.len() > 3, "{} tables", tables.len());
    let read_options = ReadOptions {
        encryption_key: Some(key),
        ..ReadOptions::default()
    };
    let mut seen_keys = BTreeSet::new();
    let mut all = Vec::new();
    let mut previous_max = None;
    for written in &tables {
        let table = Table::open(&fs, &written.path, written.file_id, &read_options).unwrap();
        let properties = table.properties();
        assert!(
            previous_max
                .as_ref()
                .is_none_or(|max| *max < properties.key_min),
            "overlapping tables"
        );
        previous_max = Some(properties.key_max.clone());
        for entry in table.iter(SeqNo::MAX) {
            let entry = entry.unwrap();
            // A key's versions are all in one table: a key seen before belongs to this one.
            seen_keys.insert(entry.key.user_key.clone());
            all.push(entry);
        }
    }
    assert_eq!(all, entries);
    assert_eq!(seen_keys.len(), 3000);
}

fn fs_create_dir(fs: &MemFs) {
    use lsm_core::Fs;
    fs.create_dir_all("/set".as_ref()).unwrap();
}

#[test]
fn a_failed_append_leaves_the_writer_unusable() {
    let fs = MemFs::with_capacity(64 * 1024);
    let mut writer =
        TableWriter::create(&fs, "/full.sst".as_ref(), 1, TableOptions::default()).unwrap();
    let entries = json_entries(50_000);
    let failed_at = entries
        .iter()
        .position(|entry| writer.add(entry).is_err())
        .expect("the disk fills up");
    assert!(matches!(
        writer.add(&entries[failed_at + 1]),
        Err(Error::WriterFailed { file_id: 1 })
    ));
    assert!(matches!(
        writer.finish(),
        Err(Error::WriterFailed { file_id: 1 })
    ));
}

/// A caller that ignores errors and carries on: once any I/O failed, `finish` must fail
/// too, so that no table list is ever returned over a hole.
fn stubborn_set_write(
    fs: &lsm_testkit::sim_fs::SimFs,
    entries: &[InternalEntry],
) -> (usize, Result<Vec<lsm_table::WrittenTable>, Error>) {
    let mut next_id = 0_u64;
    let options = TableOptions {
        block_size: 1024,
        ..TableOptions::default()
    };
    let mut writer = TableSetWriter::new(fs, options, 16 * 1024, || {
        next_id += 1;
        NewTable {
            file_id: next_id,
            path: format!("/set/{next_id}").into(),
            salt: [0; 16],
        }
    });
    let failures = entries
        .iter()
        .filter(|entry| writer.add(entry).is_err())
        .count();
    (failures, writer.finish())
}

#[test]
fn an_injected_io_error_fails_the_whole_table_set() {
    use lsm_core::Fs;
    let entries = json_entries(2_000);
    let dry_run = lsm_testkit::sim_fs::SimFs::new();
    dry_run.create_dir_all("/set".as_ref()).unwrap();
    let ops_before = dry_run.op_count();
    let (failures, tables) = stubborn_set_write(&dry_run, &entries);
    assert_eq!(failures, 0);
    assert!(tables.unwrap().len() > 3);
    for op in ops_before..dry_run.op_count() {
        let fs = lsm_testkit::sim_fs::SimFs::new();
        fs.create_dir_all("/set".as_ref()).unwrap();
        fs.fail_op(op, std::io::ErrorKind::Other);
        let (failures, tables) = stubborn_set_write(&fs, &entries);
        assert!(
            failures > 0 || tables.is_err(),
            "operation {op} failed unnoticed"
        );
        if failures > 0 {
            assert!(
                matches!(tables, Err(Error::WriterFailed { .. })),
                "operation {op}: {:?}",
                tables.map(|tables| tables.len())
            );
        }
    }
}

/// The writer's whole-file digest is the XXH3-64 of the file's bytes, and a check reads
/// each byte once to the same digest (a partitioned index and filter, a dictionary and
/// range tombstones included); a flipped byte between blocks (in the footer) changes
/// it.
#[test]
fn the_writer_s_digest_is_the_file_s_and_verify_recomputes_it() {
    let fs = MemFs::new();
    let options = TableOptions {
        index_partition_threshold: 0,
        index_partition_size: 256,
        filter_partition_keys: Some(64),
        compression: Compression::zstd(1),
        ..TableOptions::default()
    };
    let mut writer = TableWriter::create(&fs, "/t".as_ref(), 1, options).unwrap();
    for entry in json_entries(2_000) {
        writer.add(&entry).unwrap();
    }
    let tombstone = lsm_core::RangeTombstone::new(
        &lsm_core::KeyOrder::lexicographic(),
        "pkg-00000010".into(),
        "pkg-00000020".into(),
        2,
    )
    .unwrap();
    writer.add_range_tombstone(&tombstone).unwrap();
    let (properties, digest) = writer.finish_with_digest().unwrap();
    assert!(properties.index_partitioned && properties.filter_partitioned);
    let bytes = lsm_core::fs::read_all(&fs, "/t".as_ref()).unwrap();
    assert_eq!(digest, xxhash_rust::xxh3::xxh3_64(&bytes));
    let table = Table::open(&fs, "/t".as_ref(), 1, &ReadOptions::default()).unwrap();
    let report = table.verify().unwrap();
    assert!(report.is_ok());
    assert_eq!(report.file_digest, digest);
    // A footer byte that no block holds, flipped after the table opened.
    let mut damaged = bytes;
    let at = damaged.len() - 30;
    damaged[at] ^= 1;
    let file = fs
        .open("/t".as_ref(), lsm_core::OpenOptions::write())
        .unwrap();
    file.write_all_at(&damaged, 0).unwrap();
    let report = table.verify().unwrap();
    assert!(report.is_ok(), "no block covers the footer");
    assert_ne!(report.file_digest, digest);
}

#[test]
fn blocks_compressed_on_a_pool_give_the_same_file() {
    let pool = std::sync::Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap(),
    );
    let entries = json_entries(6_000);
    let variants = [
        ("zstd", Compression::zstd(3), None, None),
        ("lz4", Compression::Lz4, None, None),
        (
            "zstd, encrypted",
            Compression::zstd(1),
            Some((EncryptionKey::new([4; 32]), [6; 16])),
            None,
        ),
        (
            "trained dictionary",
            Compression::zstd(3),
            None,
            Some(DictionaryTraining {
                level: 3,
                dictionary_bytes: 1024,
                sample_bytes: 16 * 1024,
            }),
        ),
    ];
    for (name, compression, encryption, dictionary_training) in variants {
        let fs = MemFs::new();
        let options = TableOptions {
            compression,
            encryption,
            dictionary_training,
            ..TableOptions::default()
        };
        let pooled = TableOptions {
            compression_pool: Some(std::sync::Arc::clone(&pool)),
            ..options.clone()
        };
        write(&fs, "/inline", &entries, options);
        write(&fs, "/pooled", &entries, pooled.clone());
        // A writer on one of the pool's own threads (a sub-compaction's) compresses
        // there, with the pool's help, rather than wait for a task of its pool.
        pool.install(|| write(&fs, "/on-the-pool", &entries, pooled));
        let inline = lsm_core::fs::read_all(&fs, "/inline".as_ref()).unwrap();
        let pooled_bytes = lsm_core::fs::read_all(&fs, "/pooled".as_ref()).unwrap();
        let on_the_pool = lsm_core::fs::read_all(&fs, "/on-the-pool".as_ref()).unwrap();
        assert!(inline.len() > 64 * 1024, "{name}: many blocks");
        assert!(inline == pooled_bytes, "{name}: the files differ");
        assert!(
            inline == on_the_pool,
            "{name}: the file written on the pool differs"
        );
        let read_options = ReadOptions {
            encryption_key: Some(EncryptionKey::new([4; 32]))
                .filter(|_| name.contains("encrypted")),
            ..ReadOptions::default()
        };
        let table = Table::open(&fs, "/pooled".as_ref(), 1, &read_options).unwrap();
        assert_eq!(table.iter(SeqNo::MAX).count(), entries.len(), "{name}");
        // Point reads go through the block locator, whose block numbers count the blocks
        // that waited for a dictionary too.
        assert!(table.uses_locator());
        for entry in entries.iter().step_by(7) {
            let found = table.get(&entry.key.user_key, SeqNo::MAX).unwrap().unwrap();
            assert_eq!(found.value, entry.value, "{name}");
        }
    }
}
