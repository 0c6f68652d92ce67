//! Range tombstones in tables: written in their block, read back sorted at open, counted
//! in the properties, widening the table's key range; a table may hold only range
//! tombstones; damage to them fails the open, never a silently different list.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

use lsm_core::{Fs, InternalEntry, MemFs, OpenOptions, RangeTombstone, SeqNo, UserKey, ValueType};
use lsm_table::{Error, ReadOptions, Table, TableOptions, TableWriter};

fn tombstone(start: &str, end: &str, seqno: SeqNo) -> RangeTombstone {
    RangeTombstone::new(
        &lsm_core::KeyOrder::lexicographic(),
        UserKey::from(start),
        UserKey::from(end),
        seqno,
    )
    .unwrap()
}

fn write(fs: &MemFs, path: &str, entries: &[InternalEntry], tombstones: &[RangeTombstone]) {
    let mut writer = TableWriter::create(fs, Path::new(path), 1, TableOptions::default()).unwrap();
    for tombstone in tombstones {
        writer.add_range_tombstone(tombstone).unwrap();
    }
    for entry in entries {
        writer.add(entry).unwrap();
    }
    writer.finish().unwrap();
}

fn open(fs: &MemFs, path: &str) -> lsm_table::Result<Table> {
    Table::open(fs, Path::new(path), 1, &ReadOptions::default())
}

#[test]
fn tombstones_are_stored_sorted_and_widen_the_key_range() {
    let fs = MemFs::new();
    let entries = [
        InternalEntry::new("d", "v", 3, ValueType::Value),
        InternalEntry::new("e", "v", 4, ValueType::Value),
    ];
    let tombstones = [tombstone("x", "z", 9), tombstone("a", "c", 1)];
    write(&fs, "/t", &entries, &tombstones);
    let table = open(&fs, "/t").unwrap();
    assert_eq!(
        table.range_tombstones(),
        [tombstone("a", "c", 1), tombstone("x", "z", 9)]
    );
    let properties = table.properties();
    assert_eq!(properties.range_tombstone_count, 2);
    assert_eq!(properties.key_min, "a");
    assert_eq!(properties.key_max, "z");
    assert_eq!((properties.seqno_min, properties.seqno_max), (1, 9));
    // Point reads and scans return the point entries; applying tombstones is the caller's.
    assert_eq!(table.get(b"d", SeqNo::MAX).unwrap().unwrap().value, "v");
    assert_eq!(table.iter(SeqNo::MAX).count(), 2);
    assert!(table.verify().unwrap().is_ok());
}

#[test]
fn a_table_may_hold_only_range_tombstones() {
    let fs = MemFs::new();
    write(&fs, "/t", &[], &[tombstone("", "m", 5)]);
    let table = open(&fs, "/t").unwrap();
    assert_eq!(table.range_tombstones(), [tombstone("", "m", 5)]);
    assert_eq!(table.properties().entry_count, 0);
    assert!(table.get(b"b", SeqNo::MAX).unwrap().is_none());
    assert_eq!(table.iter(SeqNo::MAX).count(), 0);
    assert_eq!(table.iter(SeqNo::MAX).rev().count(), 0);
    assert!(table.verify().unwrap().is_ok());
    let empty = TableWriter::create(&fs, Path::new("/empty"), 2, TableOptions::default()).unwrap();
    assert!(matches!(empty.finish(), Err(Error::EmptyTable { .. })));
}

#[test]
fn damage_to_a_tombstone_table_is_detected() {
    let fs = MemFs::new();
    let tombstones = [tombstone("a", "c", 1), tombstone("k", "q", 7)];
    write(
        &fs,
        "/t",
        &[InternalEntry::new("b", "v", 2, ValueType::Value)],
        &tombstones,
    );
    let pristine = lsm_core::fs::read_all(&fs, Path::new("/t")).unwrap();
    let (mut detected, mut unchanged) = (0, 0);
    for offset in 0..pristine.len() {
        let mut damaged = pristine.clone();
        damaged[offset] ^= 1 << (offset % 8);
        let file = fs.open(Path::new("/t"), OpenOptions::write()).unwrap();
        file.write_all_at(&damaged, 0).unwrap();
        match open(&fs, "/t") {
            Err(_) => detected += 1,
            Ok(table) => {
                assert_eq!(table.range_tombstones(), tombstones, "offset {offset}");
                unchanged += 1;
            }
        }
    }
    println!(
        "{} flips: {detected} failed the open, {unchanged} left the tombstones whole",
        pristine.len()
    );
    assert!(detected > 0);
}
