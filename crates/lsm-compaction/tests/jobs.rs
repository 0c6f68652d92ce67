//! The jobs without a tree: `write_outputs` writes tables and blob files (separating,
//! counting and relocating values), `open_tables` describes them, `FlushJob` writes
//! memtables as one run, and `MergeJob` merges tables in one slice or several,
//! collecting garbage below its watermark; a failure at any point leaves no file behind.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use lsm_compaction::{
    BlobTarget, Bottom, Error, FlushJob, MergeJob, Outputs, SliceTask, TableTarget, open_tables,
    write_outputs,
};
use lsm_core::{Fs, InternalEntry, KeyOrder, MemFs, RangeTombstone, SeqNo, UserValue, ValueType};
use lsm_memtable::Memtable;
use lsm_table::{NewTable, ReadOptions, Table, TableOptions};
use lsm_vlog::{BlobFileReader, BlobHandle, BlobReadOptions, BlobWriteOptions, NewBlobFile};

const TABLES: &str = "/tables";
const BLOBS: &str = "/blobs";

/// Names files from one counter, as a tree's counters would.
struct Names(AtomicU64);

impl Names {
    fn new() -> Self {
        Self(AtomicU64::new(1))
    }

    fn table(&self) -> NewTable {
        let file_id = self.0.fetch_add(1, Ordering::Relaxed);
        NewTable {
            file_id,
            path: Path::new(TABLES).join(file_id.to_string()),
            salt: [0; lsm_codec::FILE_SALT_LEN],
        }
    }

    fn blob(&self) -> NewBlobFile {
        let file_id = self.0.fetch_add(1, Ordering::Relaxed);
        NewBlobFile {
            file_id,
            path: Path::new(BLOBS).join(file_id.to_string()),
            salt: [0; lsm_codec::FILE_SALT_LEN],
        }
    }
}

fn fs() -> MemFs {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new(TABLES)).unwrap();
    fs.create_dir_all(Path::new(BLOBS)).unwrap();
    fs
}

fn entry(key: u32, seqno: SeqNo, value: &[u8]) -> InternalEntry {
    InternalEntry::new(
        format!("k{key:05}"),
        value.to_vec(),
        seqno,
        ValueType::Value,
    )
}

fn files(fs: &MemFs, dir: &str) -> Vec<PathBuf> {
    fs.read_dir(Path::new(dir))
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .collect()
}

/// Relocates nothing.
static NOTHING: BTreeSet<u64> = BTreeSet::new();

/// Reads no value: the targets of these tests relocate nothing unless they say so.
fn never_read(_: &InternalEntry) -> Result<UserValue, Error> {
    unreachable!("nothing is relocated")
}

/// Separates values of at least `threshold` bytes into blob files of about `file_bytes`,
/// relocating nothing.
fn separating<'a>(
    next_file: &'a (dyn Fn() -> NewBlobFile + Sync),
    threshold: u32,
    file_bytes: u64,
) -> BlobTarget<'a, Error> {
    BlobTarget {
        options: BlobWriteOptions::default(),
        separation_threshold: threshold,
        file_target_bytes: file_bytes,
        next_file,
        relocate: &NOTHING,
        read_value: &never_read,
    }
}

fn table_target<'a>(
    names: &'a (dyn Fn() -> NewTable + Sync),
    target_bytes: u64,
) -> TableTarget<'a> {
    TableTarget {
        dir: Path::new(TABLES),
        options: TableOptions::default(),
        target_bytes,
        next_table: names,
    }
}

/// Writes `stream` into tables of about `table_bytes` and blob files as `target` says.
fn write_separated(
    fs: &MemFs,
    next_table: &(dyn Fn() -> NewTable + Sync),
    table_bytes: u64,
    target: &BlobTarget<'_, Error>,
    stream: impl Iterator<Item = Result<InternalEntry, Error>>,
) -> Result<Outputs, Error> {
    let tables = table_target(next_table, table_bytes);
    write_outputs(
        fs,
        &tables,
        Some((target, Path::new(BLOBS))),
        stream,
        Vec::new(),
    )
}

/// Every entry of the outputs' tables, in order.
fn read_back(fs: &MemFs, outputs: &Outputs) -> Vec<InternalEntry> {
    open_tables(fs, outputs, &ReadOptions::default())
        .unwrap()
        .into_iter()
        .flat_map(|(_, table)| {
            table
                .iter(SeqNo::MAX)
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn outputs_are_cut_at_the_target_described_and_complete() {
    let fs = fs();
    let names = Names::new();
    let next_table = || names.table();
    let entries: Vec<_> = (0..2_000).map(|key| entry(key, 1, &[7; 100])).collect();
    let stream = entries.clone().into_iter().map(Ok::<_, Error>);
    let outputs = write_outputs(
        &fs,
        &table_target(&next_table, 32 << 10),
        None,
        stream,
        Vec::new(),
    )
    .unwrap();
    assert!(outputs.tables.len() > 1, "cut at the target size");
    assert!(outputs.blob_files.is_empty());
    assert_eq!(files(&fs, TABLES).len(), outputs.tables.len());
    let opened = open_tables(&fs, &outputs, &ReadOptions::default()).unwrap();
    let mut previous_max = None;
    for (meta, table) in &opened {
        assert_eq!(meta.entry_count, table.properties().entry_count);
        assert!(meta.size_bytes > 0);
        assert!(meta.blob_refs.is_empty());
        if let Some(max) = previous_max.replace(meta.key_range.max().clone()) {
            assert!(
                max < *meta.key_range.min(),
                "tables are disjoint and in order"
            );
        }
    }
    assert_eq!(read_back(&fs, &outputs), entries);
}

#[test]
fn large_values_go_to_blob_files_and_each_table_counts_its_references() {
    let fs = fs();
    let names = Names::new();
    let (next_table, next_file) = (|| names.table(), || names.blob());
    let target = separating(&next_file, 1_000, 64 << 10);
    // Every third value is large.
    let entries: Vec<_> = (0..600)
        .map(|key| {
            let len = if key % 3 == 0 { 2_000 } else { 50 };
            entry(key, 1, &vec![u8::try_from(key % 251).unwrap(); len])
        })
        .collect();
    let stream = entries.clone().into_iter().map(Ok::<_, Error>);
    let outputs = write_separated(&fs, &next_table, 16 << 10, &target, stream).unwrap();
    assert!(
        outputs.blob_files.len() > 1,
        "blob files cut at their target"
    );
    assert_eq!(files(&fs, BLOBS).len(), outputs.blob_files.len());
    let frames: u64 = outputs
        .blob_files
        .iter()
        .map(|file| file.meta.frame_count)
        .sum();
    assert_eq!(frames, 200);
    let referenced: u64 = outputs.blob_refs.iter().flatten().map(|r| r.frames).sum();
    assert_eq!(referenced, 200, "every separated value is counted once");
    // The tables hold pointers that lead back to each value.
    let readers: BTreeMap<_, _> = outputs
        .blob_files
        .iter()
        .map(|file| {
            let reader = BlobFileReader::open(
                &fs,
                &file.path,
                file.meta.file_id,
                &BlobReadOptions::default(),
            )
            .unwrap();
            (file.meta.file_id, reader)
        })
        .collect();
    for (written, read) in entries.iter().zip(read_back(&fs, &outputs)) {
        assert_eq!(written.key.user_key, read.key.user_key);
        assert_eq!(written.key.seqno, read.key.seqno);
        let value = if read.key.value_type == ValueType::Indirection {
            let handle = BlobHandle::decode_from(&read.value).unwrap();
            readers[&handle.file_id].get(&handle).unwrap().value
        } else {
            read.value
        };
        assert_eq!(value, written.value);
    }
}

#[test]
fn relocation_rewrites_the_values_of_chosen_files_only() {
    let fs = fs();
    let names = Names::new();
    let (next_table, next_file) = (|| names.table(), || names.blob());
    // One value per blob file.
    let first = separating(&next_file, 100, 1);
    let entries: Vec<_> = (0..4).map(|key| entry(key, 1, &[1; 500])).collect();
    let written = write_separated(
        &fs,
        &next_table,
        1 << 20,
        &first,
        entries.into_iter().map(Ok::<_, Error>),
    )
    .unwrap();
    assert_eq!(written.blob_files.len(), 4);
    // Rewrite the table, relocating the first two blob files.
    let relocate: BTreeSet<_> = written.blob_files[..2]
        .iter()
        .map(|file| file.meta.file_id)
        .collect();
    let read_count = AtomicU64::new(0);
    let read_value = |entry: &InternalEntry| -> Result<UserValue, Error> {
        read_count.fetch_add(1, Ordering::Relaxed);
        let handle = BlobHandle::decode_from(&entry.value).unwrap();
        let path = Path::new(BLOBS).join(handle.file_id.to_string());
        let reader =
            BlobFileReader::open(&fs, &path, handle.file_id, &BlobReadOptions::default()).unwrap();
        Ok(reader.get(&handle).unwrap().value)
    };
    let second = BlobTarget {
        relocate: &relocate,
        read_value: &read_value,
        ..first
    };
    let stream = read_back(&fs, &written).into_iter().map(Ok::<_, Error>);
    let rewritten = write_separated(&fs, &next_table, 1 << 20, &second, stream).unwrap();
    assert_eq!(read_count.load(Ordering::Relaxed), 2);
    assert_eq!(
        rewritten.blob_files.len(),
        2,
        "two values moved to new files"
    );
    let pointed: BTreeSet<_> = rewritten.blob_refs[0].iter().map(|r| r.file_id).collect();
    assert!(pointed.is_disjoint(&relocate));
    assert_eq!(pointed.len(), 4);
}

#[test]
fn a_failing_stream_leaves_no_file() {
    let fs = fs();
    let names = Names::new();
    let (next_table, next_file) = (|| names.table(), || names.blob());
    let target = separating(&next_file, 100, 4 << 10);
    let stream = (0..1_000).map(|key| {
        if key == 900 {
            Err(Error::BrokenIndirection { what: "injected" })
        } else {
            Ok(entry(key, 1, &[3; 300]))
        }
    });
    let result = write_separated(&fs, &next_table, 8 << 10, &target, stream);
    assert!(matches!(
        result,
        Err(Error::BrokenIndirection { what: "injected" })
    ));
    assert!(files(&fs, TABLES).is_empty());
    assert!(files(&fs, BLOBS).is_empty());
}

/// Two overlapping input tables: the newer overwrites every third key and deletes every
/// fifth.
fn merge_inputs(fs: &MemFs, names: &Names) -> Vec<Table> {
    let next_table = || names.table();
    let older: Vec<_> = (0..3_000).map(|key| entry(key, 1, b"old")).collect();
    let newer: Vec<_> = (0..3_000)
        .filter(|key| key % 3 == 0 || key % 5 == 0)
        .map(|key| {
            if key % 5 == 0 {
                InternalEntry::new(format!("k{key:05}"), Vec::new(), 2, ValueType::Tombstone)
            } else {
                entry(key, 2, b"new")
            }
        })
        .collect();
    let mut tables = Vec::new();
    for entries in [newer, older] {
        let outputs = write_outputs(
            fs,
            &table_target(&next_table, 1 << 30),
            None,
            entries.into_iter().map(Ok::<_, Error>),
            Vec::new(),
        )
        .unwrap();
        tables.extend(
            open_tables(fs, &outputs, &ReadOptions::default())
                .unwrap()
                .into_iter()
                .map(|(_, table)| table),
        );
    }
    tables
}

fn run_merge(
    fs: &MemFs,
    names: &Names,
    inputs: &[Table],
    slice_count_max: usize,
    throttle: &(dyn Fn(&InternalEntry) -> Result<(), Error> + Sync),
) -> (Result<Outputs, Error>, usize) {
    let next_table = || names.table();
    let job = MergeJob {
        inputs,
        watermark: SeqNo::MAX,
        bottom: Bottom::Yes,
        merge: None,
        resolve: None,
        filter: None,
        throttle,
        input_bytes: 1 << 20,
        slice_min_bytes: 1,
        slice_count_max,
    };
    // Slices run on scoped threads, as a pool would run them.
    let slices_run = AtomicU64::new(0);
    let run_slices = |tasks: Vec<SliceTask<'_, Error>>| {
        slices_run.fetch_add(tasks.len() as u64, Ordering::Relaxed);
        std::thread::scope(|scope| {
            let handles: Vec<_> = tasks.into_iter().map(|task| scope.spawn(task)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        })
    };
    let result = job.run(fs, &table_target(&next_table, 16 << 10), None, &run_slices);
    let slices = usize::try_from(slices_run.load(Ordering::Relaxed)).unwrap();
    (result, slices)
}

#[test]
fn a_merge_in_slices_writes_what_one_slice_writes() {
    let fs = fs();
    let names = Names::new();
    let inputs = merge_inputs(&fs, &names);
    let expected: Vec<_> = (0..3_000_u32)
        .filter(|key| key % 5 != 0)
        .map(|key| {
            (
                format!("k{key:05}"),
                if key % 3 == 0 { "new" } else { "old" },
            )
        })
        .collect();
    let allow = |_: &InternalEntry| Ok(());
    for slices in [1, 4] {
        let (outputs, slices_run) = run_merge(&fs, &names, &inputs, slices, &allow);
        let outputs = outputs.unwrap();
        assert_eq!(slices_run, slices);
        let got: Vec<_> = read_back(&fs, &outputs)
            .into_iter()
            .map(|entry| {
                assert_eq!(entry.key.value_type, ValueType::Value, "tombstones dropped");
                assert_eq!(entry.key.seqno, 0, "seqnos zeroed at the bottom");
                (
                    String::from_utf8(entry.key.user_key.to_vec()).unwrap(),
                    String::from_utf8(entry.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let expected: Vec<_> = expected
            .iter()
            .map(|(key, value)| (key.clone(), (*value).to_owned()))
            .collect();
        assert_eq!(got, expected, "{slices} slices");
        outputs.remove(&fs);
    }
}

#[test]
fn a_throttle_that_stops_the_merge_leaves_no_output() {
    let fs = fs();
    let names = Names::new();
    let inputs = merge_inputs(&fs, &names);
    let before = files(&fs, TABLES);
    let seen = AtomicU64::new(0);
    let stop_late = |_: &InternalEntry| {
        if seen.fetch_add(1, Ordering::Relaxed) == 2_000 {
            Err(Error::BrokenIndirection { what: "stopped" })
        } else {
            Ok(())
        }
    };
    let (result, slices_run) = run_merge(&fs, &names, &inputs, 4, &stop_late);
    assert_eq!(slices_run, 4);
    assert!(matches!(
        result,
        Err(Error::BrokenIndirection { what: "stopped" })
    ));
    assert_eq!(files(&fs, TABLES), before, "every slice's outputs deleted");
}

/// A flush of two memtables below a watermark above them all: the newest version of
/// each key survives, a tombstone stays (a flush is never the bottom), operands fold
/// onto a base in the older memtable, and a range tombstone drops what it hides and
/// goes to the table itself.
#[test]
fn a_flush_keeps_the_newest_versions_tombstones_and_range_tombstones() {
    let fs = fs();
    let names = Names::new();
    let next_table = || names.table();
    let older = Arc::new(Memtable::new(1));
    let newer = Arc::new(Memtable::new(2));
    older.insert(entry(1, 1, b"a"));
    older.insert(entry(2, 2, b"b"));
    older.insert(entry(3, 3, b"c"));
    older.insert(entry(15, 4, b"hidden"));
    older.insert(entry(30, 5, b"kept"));
    newer.insert(entry(1, 6, b"a2"));
    newer.insert(InternalEntry::new("k00002", "", 7, ValueType::Tombstone));
    newer.insert(InternalEntry::new(
        "k00003",
        "+x",
        8,
        ValueType::MergeOperand,
    ));
    let tombstone = RangeTombstone::new(
        &KeyOrder::lexicographic(),
        "k00010".into(),
        "k00020".into(),
        9,
    )
    .unwrap();
    newer.insert_range_tombstone(tombstone.clone());
    let concat: lsm_core::mvcc::MergeFn<Error> = Arc::new(|_key, base, operands| {
        let mut value = base.unwrap_or_default().to_vec();
        for operand in operands {
            value.extend_from_slice(operand);
        }
        Ok(value.into())
    });
    let memtables = [newer, older];
    let job = FlushJob {
        memtables: &memtables,
        watermark: 100,
        merge: Some(concat),
    };
    assert_eq!(job.highest_seqno(), 9);
    let outputs = job
        .run(&fs, &table_target(&next_table, 1 << 20), None)
        .unwrap();
    let kept: Vec<_> = read_back(&fs, &outputs)
        .into_iter()
        .map(|entry| {
            (
                String::from_utf8(entry.key.user_key.to_vec()).unwrap(),
                entry.key.seqno,
                entry.key.value_type,
                String::from_utf8(entry.value.to_vec()).unwrap(),
            )
        })
        .collect();
    let row = |key: &str, seqno, value_type, value: &str| {
        (key.to_owned(), seqno, value_type, value.to_owned())
    };
    assert_eq!(
        kept,
        [
            row("k00001", 6, ValueType::Value, "a2"),
            row("k00002", 7, ValueType::Tombstone, ""),
            row("k00003", 8, ValueType::Value, "c+x"),
            row("k00030", 5, ValueType::Value, "kept"),
        ]
    );
    let tables = open_tables(&fs, &outputs, &ReadOptions::default()).unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].1.range_tombstones(), [tombstone]);
}

#[test]
fn each_table_counts_the_references_it_holds_in_a_custom_key_order() {
    let order = lsm_testkit::orders::TestOrder::Reversed.key_order();
    let fs = fs();
    let names = Names::new();
    let (next_table, next_file) = (|| names.table(), || names.blob());
    let target = separating(&next_file, 1_000, 64 << 10);
    // Keys in the reversed order: the largest bytes first.
    let entries: Vec<_> = (0..600)
        .rev()
        .map(|key| {
            let len = if key % 3 == 0 { 2_000 } else { 50 };
            entry(key, 1, &vec![7; len])
        })
        .collect();
    let mut tables = table_target(&next_table, 4 << 10);
    tables.options.order = order.clone();
    let stream = entries.into_iter().map(Ok::<_, Error>);
    let outputs = write_outputs(
        &fs,
        &tables,
        Some((&target, Path::new(BLOBS))),
        stream,
        Vec::new(),
    )
    .unwrap();
    assert!(outputs.tables.len() > 2, "several tables to count apart");
    let read_options = ReadOptions {
        order,
        ..ReadOptions::default()
    };
    for ((meta, table), refs) in open_tables(&fs, &outputs, &read_options)
        .unwrap()
        .into_iter()
        .zip(&outputs.blob_refs)
    {
        let held = table
            .iter(SeqNo::MAX)
            .map(Result::unwrap)
            .filter(|entry| entry.key.value_type == ValueType::Indirection)
            .count() as u64;
        let counted: u64 = refs.iter().map(|r| r.frames).sum();
        assert_eq!(counted, held, "table {} counts what it holds", meta.id);
    }
}
