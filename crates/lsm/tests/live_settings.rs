//! Table settings changed while the tree runs: each flush after a change writes its
//! table with the new compression, block size and filter bits, every older table stays
//! readable as it was written, and a reopen starts from the `Config` again.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;

use lsm::config::CompressionType;
use lsm::inspect::{self, InspectOptions};
use lsm::{AbstractTree, AnyTree, Config, MemFs, RuntimeConfig, SeqNo, SequenceNumberCounter};

fn open(fs: &MemFs) -> AnyTree {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::new(fs.clone()))
    .open()
    .unwrap()
}

/// Flushes one table of 2,000 keys (`batch` picks them) with compressible values.
fn flush_batch(tree: &AnyTree, batch: u64) {
    for i in 0..2_000 {
        let key = format!("key{:06}", i * 10 + batch);
        let value = format!("value of {key}, ").repeat(8);
        tree.insert(key, value, batch * 10_000 + i + 1);
    }
    tree.flush_active_memtable(0).unwrap();
}

/// The newest table's properties.
fn newest_table(fs: &MemFs) -> inspect::TableProperties {
    let (tables, _) = inspect::tree_files(fs, Path::new("/db")).unwrap();
    let newest = tables.last().unwrap();
    inspect::read_table_properties(fs, newest, &InspectOptions::default()).unwrap()
}

#[test]
fn each_flush_takes_the_settings_in_force_and_older_tables_stay_readable() {
    let fs = MemFs::new();
    let tree = open(&fs);
    flush_batch(&tree, 0);
    let plain = newest_table(&fs);

    tree.update_runtime_config(|runtime| {
        runtime.data_block_compression = Some(CompressionType::Lz4);
    })
    .unwrap();
    flush_batch(&tree, 1);
    let lz4 = newest_table(&fs);
    assert!(
        lz4.data_bytes_stored * 2 < plain.data_bytes_stored,
        "lz4 {} against plain {}",
        lz4.data_bytes_stored,
        plain.data_bytes_stored
    );

    tree.update_runtime_config(|runtime| {
        runtime.data_block_compression = Some(CompressionType::Zstd(3));
        runtime.data_block_size = Some(512);
        runtime.filter_bits_per_key = Some(20.0);
    })
    .unwrap();
    flush_batch(&tree, 2);
    let small_blocks = newest_table(&fs);
    assert!(small_blocks.data_bytes_stored < plain.data_bytes_stored / 2);
    assert!(
        small_blocks.data_block_count > plain.data_block_count * 4,
        "{} blocks against {}",
        small_blocks.data_block_count,
        plain.data_block_count
    );
    assert!(small_blocks.filter_bytes_stored > plain.filter_bytes_stored * 3 / 2);

    // Back to the Config's settings.
    tree.update_runtime_config(|runtime| *runtime = RuntimeConfig::default())
        .unwrap();
    flush_batch(&tree, 3);
    let again = newest_table(&fs);
    assert!(again.data_block_count.abs_diff(plain.data_block_count) * 10 <= plain.data_block_count);
    assert!(
        again.data_bytes_stored.abs_diff(plain.data_bytes_stored) * 10 <= plain.data_bytes_stored
    );

    // Every table reads back, and so does a merge of them all under the default.
    let check = |tree: &AnyTree| {
        assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 8_000);
        for batch in 0..4 {
            let key = format!("key{:06}", 1_234 * 10 + batch);
            let value = tree.get(&key, SeqNo::MAX).unwrap().unwrap();
            assert_eq!(
                value.as_ref(),
                format!("value of {key}, ").repeat(8).as_bytes()
            );
        }
    };
    check(&tree);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    check(&tree);

    // A reopen starts from the Config: the runtime settings were not persisted.
    tree.update_runtime_config(|runtime| runtime.data_block_size = Some(1_024))
        .unwrap();
    drop(tree);
    let tree = open(&fs);
    assert_eq!(*tree.runtime_config(), RuntimeConfig::default());
    check(&tree);
}

#[test]
fn settings_out_of_range_are_refused_and_change_nothing() {
    let tree = open(&MemFs::new());
    for bad in [
        |runtime: &mut RuntimeConfig| runtime.data_block_size = Some(16),
        |runtime: &mut RuntimeConfig| runtime.data_block_size = Some(64 << 20),
        |runtime: &mut RuntimeConfig| {
            runtime.data_block_compression = Some(CompressionType::Zstd(99));
        },
        |runtime: &mut RuntimeConfig| {
            runtime.data_block_compression = Some(CompressionType::ZstdDict {
                level: 3,
                dict_id: 7,
            });
        },
        |runtime: &mut RuntimeConfig| runtime.filter_bits_per_key = Some(-1.0),
    ] {
        assert!(matches!(
            tree.update_runtime_config(bad),
            Err(lsm::Error::InvalidConfig(_))
        ));
        assert_eq!(*tree.runtime_config(), RuntimeConfig::default());
    }
}

#[test]
fn entry_checks_pass_every_flush_of_untouched_memory() {
    let fs = MemFs::new();
    let tree = open(&fs);
    tree.update_runtime_config(|runtime| runtime.entry_checksums = true)
        .unwrap();
    // The active memtable predates the change: the next ones carry the checks.
    tree.flush_active_memtable(0).unwrap();
    let mut seqno = 1;
    for round in 0..5_u64 {
        for i in 0..500_u64 {
            tree.insert(
                format!("key{:04}", (i * 7 + round) % 600),
                format!("v{round}-{i}"),
                seqno,
            );
            seqno += 1;
        }
        tree.remove_range("key0100", "key0150", seqno);
        seqno += 1;
        let mut batch = lsm::WriteBatch::default();
        batch.insert("batched", format!("round {round}"));
        batch.remove("key0001");
        tree.apply_batch(batch, seqno).unwrap();
        seqno += 1;
        tree.flush_active_memtable(0).unwrap();
    }
    assert_eq!(
        tree.get("batched", SeqNo::MAX).unwrap().as_deref(),
        Some(&b"round 4"[..])
    );
    assert_eq!(tree.get("key0120", SeqNo::MAX).unwrap(), None);
    assert_eq!(tree.table_count(), 5);
}
