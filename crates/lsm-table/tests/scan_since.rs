//! `Table::scan_since`: the entries at or after a seqno, with the per-block seqno bounds
//! skipping the blocks that cannot hold one (counted through the block cache), the same
//! entries without the bounds or without trusting them, and a damaged bounds block as a
//! typed error.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::sync::Arc;

use lsm_core::{Fs, InternalEntry, MemFs, OpenOptions, SeqNo, ValueType};
use lsm_table::{BlockCache, ReadOptions, Table, TableOptions, TableWriter};

/// Keys 0..2000; keys 1000..1010 were written late (seqnos from 5000), the rest early.
fn entries() -> Vec<InternalEntry> {
    (0..2000_u64)
        .map(|idx| {
            let seqno = if (1000..1010).contains(&idx) {
                5000 + idx
            } else {
                idx % 100
            };
            InternalEntry::new(
                format!("k{idx:06}"),
                format!("v{idx}"),
                seqno,
                ValueType::Value,
            )
        })
        .collect()
}

fn write(fs: &MemFs, bounds: bool) {
    let options = TableOptions {
        block_size: 256,
        seqno_bounds: bounds,
        ..TableOptions::default()
    };
    let mut writer = TableWriter::create(fs, "/t".as_ref(), 1, options).unwrap();
    for entry in entries() {
        writer.add(&entry).unwrap();
    }
    writer.finish().unwrap();
}

/// Opens the table with a fresh cache, runs `scan_since`, and returns the entries and
/// the blocks read (each one a cache miss: a scan's blocks are looked up first, and a
/// sequential scan's are not inserted).
fn scan(fs: &MemFs, target: SeqNo, trust: bool) -> (Vec<InternalEntry>, u64) {
    let cache = Arc::new(BlockCache::with_capacity_bytes(64 << 20));
    let options = ReadOptions {
        block_cache: Some(cache.clone()),
        ..ReadOptions::default()
    };
    let table = Table::open(fs, "/t".as_ref(), 1, &options).unwrap();
    let before = cache.stats().misses;
    let found = table
        .scan_since(target, trust)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (found, cache.stats().misses - before)
}

#[test]
fn blocks_older_than_the_target_are_skipped_unread() {
    let fs = MemFs::new();
    write(&fs, true);
    let expected: Vec<_> = entries()
        .into_iter()
        .filter(|entry| entry.key.seqno >= 5000)
        .collect();
    let (skipping, read_skipping) = scan(&fs, 5000, true);
    let (full, read_full) = scan(&fs, 5000, false);
    assert_eq!(skipping, expected);
    assert_eq!(full, expected);
    assert!(read_full > 50, "{read_full} blocks read without the bounds");
    // The two or three data blocks that hold the late keys, and the bounds block.
    assert!(
        read_skipping <= 4,
        "{read_skipping} blocks read with the bounds"
    );
    for target in [0, 50, 99, 100, 6009, 6010] {
        let expected: Vec<_> = entries()
            .into_iter()
            .filter(|entry| entry.key.seqno >= target)
            .collect();
        assert_eq!(scan(&fs, target, true).0, expected, "target {target}");
    }
}

#[test]
fn a_table_without_bounds_is_read_whole_and_damaged_bounds_are_an_error() {
    let fs = MemFs::new();
    write(&fs, false);
    let (found, read) = scan(&fs, 5000, true);
    assert_eq!(found.len(), 10);
    assert!(read > 50);

    write_damaged_bounds(&fs);
    let table = Table::open(&fs, "/t".as_ref(), 1, &ReadOptions::default()).unwrap();
    assert!(table.scan_since(5000, true).is_err());
    assert!(!table.verify().unwrap().is_ok(), "the check finds it too");
    // Not trusting the bounds reads around them.
    assert_eq!(table.scan_since(5000, false).unwrap().count(), 10);
}

/// Writes the table with bounds and flips a byte inside its bounds block.
fn write_damaged_bounds(fs: &MemFs) {
    fs.remove_file("/t".as_ref()).unwrap();
    write(fs, true);
    let table = Table::open(fs, "/t".as_ref(), 1, &ReadOptions::default()).unwrap();
    let handle = table.properties().seqno_bounds_handle.unwrap();
    drop(table);
    let mut bytes = lsm_core::fs::read_all(fs, "/t".as_ref()).unwrap();
    let at = usize::try_from(handle.offset + handle.len_bytes / 2).unwrap();
    bytes[at] ^= 0x10;
    fs.remove_file("/t".as_ref()).unwrap();
    fs.open("/t".as_ref(), OpenOptions::create_new())
        .unwrap()
        .append(&bytes)
        .unwrap();
}
