//! Ingested tables: every entry is stored at seqno 0 and reads at the global seqno the
//! table is opened with, through every read (point reads, ranges with bounds that cut
//! within a key's versions, repositioning, change scans); a global seqno on a table not
//! written by an ingestion is refused.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use lsm_core::{InternalEntry, MemFs, SeqNo, UserKey, ValueType};
use lsm_table::{Error, ReadOptions, Table, TableOptions, TableWriter};

const GLOBAL: SeqNo = 40;

fn key(idx: u64) -> String {
    format!("k{idx:05}")
}

fn write(fs: &MemFs, ingested: bool) {
    write_at(fs, 0, ingested);
}

fn write_at(fs: &MemFs, seqno: SeqNo, ingested: bool) {
    let options = TableOptions {
        block_size: 128,
        ingested,
        ..TableOptions::default()
    };
    let mut writer = TableWriter::create(fs, "/t".as_ref(), 1, options).unwrap();
    for idx in 0..500 {
        let value_type = if idx % 7 == 0 {
            ValueType::Tombstone
        } else {
            ValueType::Value
        };
        let value = if value_type == ValueType::Value {
            format!("v{idx}")
        } else {
            String::new()
        };
        writer
            .add(&InternalEntry::new(key(idx), value, seqno, value_type))
            .unwrap();
    }
    writer.finish().unwrap();
}

fn open(fs: &MemFs, global_seqno: Option<SeqNo>) -> Result<Table, Error> {
    let options = ReadOptions {
        global_seqno,
        ..ReadOptions::default()
    };
    Table::open(fs, "/t".as_ref(), 1, &options)
}

fn keys(entries: impl Iterator<Item = Result<InternalEntry, Error>>) -> Vec<(UserKey, SeqNo)> {
    entries
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.key.user_key, entry.key.seqno)
        })
        .collect()
}

#[test]
fn entries_read_at_the_global_seqno() {
    let fs = MemFs::new();
    write(&fs, true);
    let table = open(&fs, Some(GLOBAL)).unwrap();
    assert_eq!(table.global_seqno(), Some(GLOBAL));
    assert!(table.properties().ingested);
    assert_eq!(table.properties().seqno_max, 0);

    // Visible only to reads above the global seqno.
    assert!(table.get(key(3).as_bytes(), GLOBAL).unwrap().is_none());
    let found = table.get(key(3).as_bytes(), GLOBAL + 1).unwrap().unwrap();
    assert_eq!(found.key.seqno, GLOBAL);
    assert_eq!(found.value.as_bytes(), b"v3");
    let deleted = table.get(key(7).as_bytes(), SeqNo::MAX).unwrap().unwrap();
    assert_eq!(deleted.key.value_type, ValueType::Tombstone);
    assert!(table.iter(GLOBAL).next().is_none());

    let all = keys(table.iter(SeqNo::MAX));
    assert_eq!(all.len(), 500);
    assert!(all.iter().all(|(_, seqno)| *seqno == GLOBAL));
    let backwards = keys(table.iter(SeqNo::MAX).rev());
    assert_eq!(backwards.into_iter().rev().collect::<Vec<_>>(), all);

    // Key ranges, inclusive and exclusive, from both ends.
    let range = keys(table.range(key(10)..key(20), SeqNo::MAX));
    let expected: Vec<_> = (10..20)
        .map(|idx| (UserKey::from(key(idx).as_str()), GLOBAL))
        .collect();
    assert_eq!(range, expected);
    let range = keys(table.range(key(10)..=key(20), SeqNo::MAX).rev());
    assert_eq!(range.len(), 11);
    assert_eq!(range.first().unwrap().0.as_bytes(), key(20).as_bytes());
    let scanned = keys(table.scan(key(490).., SeqNo::MAX));
    assert_eq!(scanned.len(), 10);
}

#[test]
fn repositioning_matches_a_table_stored_at_that_seqno() {
    // The same entries stored at the global seqno: every move reads the same.
    let ingested_fs = MemFs::new();
    write(&ingested_fs, true);
    let ingested = open(&ingested_fs, Some(GLOBAL)).unwrap();
    let stored_fs = MemFs::new();
    write_at(&stored_fs, GLOBAL, false);
    let stored = open(&stored_fs, None).unwrap();
    let moves = |table: &Table| {
        let mut seen = Vec::new();
        let mut iter = table.range(key(100)..key(200), SeqNo::MAX);
        let mut take = |item: Option<Result<InternalEntry, Error>>| {
            seen.push(item.map(|entry| {
                let entry = entry.unwrap();
                (entry.key.user_key, entry.key.seqno)
            }));
        };
        take(iter.next());
        take(iter.next_back());
        iter.seek(key(50).as_bytes());
        take(iter.next());
        iter.seek_for_prev(key(300).as_bytes());
        take(iter.next_back());
        iter.seek(key(150).as_bytes());
        take(iter.next());
        iter.seek_for_prev(key(160).as_bytes());
        take(iter.next_back());
        for item in iter {
            take(Some(item));
        }
        seen
    };
    let expected = moves(&stored);
    assert_eq!(expected.len(), 15);
    assert_eq!(moves(&ingested), expected);
}

#[test]
fn change_scans_take_all_entries_or_none() {
    let fs = MemFs::new();
    write(&fs, true);
    let table = open(&fs, Some(GLOBAL)).unwrap();
    for trust in [true, false] {
        assert_eq!(keys(table.scan_since(GLOBAL, trust).unwrap()).len(), 500);
        assert_eq!(keys(table.scan_since(GLOBAL + 1, trust).unwrap()).len(), 0);
    }
    // Opened as stored (as inspection tools do), the entries are at seqno 0.
    let stored = open(&fs, None).unwrap();
    assert_eq!(
        stored.get(key(3).as_bytes(), 1).unwrap().unwrap().key.seqno,
        0
    );
}

#[test]
fn a_global_seqno_for_another_table_is_refused() {
    let fs = MemFs::new();
    write(&fs, false);
    assert!(matches!(
        open(&fs, Some(GLOBAL)),
        Err(Error::Corruption { .. })
    ));
    assert!(open(&fs, None).is_ok());
}

#[test]
#[should_panic(expected = "one version of each key")]
fn an_ingested_table_takes_entries_at_seqno_zero_only() {
    let fs = MemFs::new();
    let options = TableOptions {
        ingested: true,
        ..TableOptions::default()
    };
    let mut writer = TableWriter::create(&fs, "/t".as_ref(), 1, options).unwrap();
    let _ = writer.add(&InternalEntry::new("a", "v", 3, ValueType::Value));
}
