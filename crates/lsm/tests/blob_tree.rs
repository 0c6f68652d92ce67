//! Key-value separation end to end: values at or above the threshold live in blob
//! files, reads and iterators resolve them (lazily), compactions collect the garbage,
//! and blob files survive reopens and checkpoints.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;

use lsm::compaction::filter::{CompactionFilter, Context, Factory, ItemAccessor, Verdict};
use lsm::{
    AbstractTree, AnyTree, Config, Fs, Guard, KvSeparationOptions, MemFs, SeqNo,
    SequenceNumberCounter, TreeType,
};
use lsm_core::OpenOptions;

#[path = "support/common.rs"]
mod common;

fn big(i: u32, round: u32) -> Vec<u8> {
    format!("big-{i}-{round}-{}", "z".repeat(200 + (i % 40) as usize)).into_bytes()
}

fn small(i: u32) -> Vec<u8> {
    format!("s{i}").into_bytes()
}

fn key(i: u32) -> String {
    format!("key{i:05}")
}

fn options() -> KvSeparationOptions {
    KvSeparationOptions::default().separation_threshold(100)
}

fn open(fs: &Arc<MemFs>, separation: Option<KvSeparationOptions>) -> AnyTree {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(fs.clone())
    .with_kv_separation(separation)
    .with_merge_operator(Some(Arc::new(common::Concat)))
    .open()
    .unwrap()
}

fn blob_files_on_disk(fs: &MemFs) -> usize {
    fs.read_dir(Path::new("/db/blobs")).unwrap().len()
}

#[test]
fn large_values_go_to_blob_files_and_read_back() {
    let fs = Arc::new(MemFs::new());
    let tree = open(&fs, Some(options()));
    assert_eq!(tree.tree_type(), TreeType::Blob);
    assert!(matches!(tree, AnyTree::Blob(_)));
    for i in 0..200 {
        let value = if i % 2 == 0 { big(i, 0) } else { small(i) };
        tree.insert(key(i), value, u64::from(i));
    }
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.blob_file_count(), 1);
    assert_eq!(blob_files_on_disk(&fs), 1);
    // The table holds pointers, not the large values.
    let AnyTree::Blob(blob_tree) = &tree else {
        unreachable!()
    };
    let table_bytes = blob_tree.index.super_table_bytes();
    assert!(table_bytes < 100 * 200, "table holds {table_bytes} bytes");
    for i in 0..200 {
        let expected = if i % 2 == 0 { big(i, 0) } else { small(i) };
        assert_eq!(tree.get(key(i), SeqNo::MAX).unwrap().unwrap(), expected);
        assert_eq!(
            tree.size_of(key(i), SeqNo::MAX).unwrap(),
            Some(u32::try_from(expected.len()).unwrap())
        );
        let pinned = tree.get_pinned(key(i), SeqNo::MAX).unwrap().unwrap();
        assert_eq!(pinned.value(), expected.as_slice());
    }
    let scanned: Vec<_> = tree
        .iter(SeqNo::MAX, None)
        .map(|item| item.into_inner().unwrap())
        .collect();
    assert_eq!(scanned.len(), 200);
    for (i, (k, v)) in (0..).zip(&scanned) {
        assert_eq!(k.as_ref(), key(i).as_bytes());
        let expected = if i % 2 == 0 { big(i, 0) } else { small(i) };
        assert_eq!(v.as_ref(), expected.as_slice());
    }
    // Reverse too.
    let last = tree
        .iter(SeqNo::MAX, None)
        .next_back()
        .unwrap()
        .into_inner()
        .unwrap();
    assert_eq!(last.1.as_ref(), small(199).as_slice());
    // Reopen: the blob file is in the version.
    drop(tree);
    let tree = open(&fs, Some(options()));
    assert_eq!(tree.blob_file_count(), 1);
    assert_eq!(tree.get(key(10), SeqNo::MAX).unwrap().unwrap(), big(10, 0));
}

trait TableBytes {
    fn super_table_bytes(&self) -> u64;
}

impl TableBytes for lsm::Tree {
    /// Bytes of table files only (disk space less the blob files).
    fn super_table_bytes(&self) -> u64 {
        let tables = self.config.path.join("tables");
        self.config
            .fs
            .read_dir(&tables)
            .unwrap()
            .iter()
            .map(|entry| self.config.fs.metadata(&entry.path).unwrap().len_bytes)
            .sum()
    }
}

#[test]
fn iterator_items_read_a_separated_value_only_when_asked() {
    let fs = Arc::new(MemFs::new());
    let tree = open(&fs, Some(options()));
    for i in 0..20 {
        tree.insert(key(i), big(i, 0), u64::from(i));
    }
    tree.flush_active_memtable(0).unwrap();
    // Damage every frame: any read of a value now fails, but keys and sizes do not
    // need the blob file.
    let path = Path::new("/db/blobs/1");
    let mut bytes = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    let frames = bytes.len() - 128;
    for byte in bytes.iter_mut().skip(64).take(frames) {
        *byte ^= 0x55;
    }
    let file = fs.open(path, OpenOptions::write()).unwrap();
    file.write_all_at(&bytes, 0).unwrap();
    drop(file);
    for (i, item) in (0..).zip(tree.iter(SeqNo::MAX, None)) {
        assert_eq!(
            item.size().unwrap(),
            u32::try_from(big(i, 0).len()).unwrap()
        );
    }
    for item in tree.iter(SeqNo::MAX, None) {
        let (key, value) = item.into_inner_if(|_| false).unwrap();
        assert!(key.starts_with(b"key") && value.is_none());
    }
    assert_eq!(
        tree.size_of(key(3), SeqNo::MAX).unwrap(),
        Some(u32::try_from(big(3, 0).len()).unwrap())
    );
    let keys: Vec<_> = tree
        .iter(SeqNo::MAX, None)
        .map(|item| item.key().unwrap())
        .collect();
    assert_eq!(keys.len(), 20);
    // Asking for the value reads it, and the damage is reported, never a wrong value.
    let error = tree
        .iter(SeqNo::MAX, None)
        .next()
        .unwrap()
        .value()
        .unwrap_err();
    assert!(matches!(error, lsm::Error::Blob(_)), "{error:?}");
    assert!(matches!(
        tree.get(key(0), SeqNo::MAX),
        Err(lsm::Error::Blob(_))
    ));
}

#[test]
fn overwrites_become_stale_bytes_that_compaction_collects() {
    let fs = Arc::new(MemFs::new());
    let separation = options().staleness_threshold(0.3).age_cutoff(0.0);
    let tree = open(&fs, Some(separation));
    let seqno = SequenceNumberCounter::default();
    for round in 0..4 {
        for i in 0..100 {
            tree.insert(key(i), big(i, round), seqno.next());
        }
        tree.flush_active_memtable(0).unwrap();
    }
    assert_eq!(tree.blob_file_count(), 4);
    assert_eq!(
        tree.stale_blob_bytes(),
        0,
        "nothing is dead before a compaction"
    );
    // A full merge without a watermark keeps every version: nothing dies yet.
    tree.major_compact(u64::MAX, 0).unwrap();
    assert_eq!(tree.stale_blob_bytes(), 0);
    // With the watermark past every write, the three older rounds die: their blob
    // files hold no live value and leave the version, and their files go.
    tree.major_compact(u64::MAX, seqno.get()).unwrap();
    assert_eq!(tree.stale_blob_bytes(), 0);
    assert_eq!(tree.blob_file_count(), 1);
    assert_eq!(blob_files_on_disk(&fs), 1);
    for i in 0..100 {
        assert_eq!(tree.get(key(i), SeqNo::MAX).unwrap().unwrap(), big(i, 3));
    }
    // Half of the last round overwritten: the merge that drops the old versions makes
    // the last file half dead, past the staleness threshold, so the next merge
    // relocates its live half to a new file and drops it.
    for i in (0..100).step_by(2) {
        tree.insert(key(i), small(i), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(u64::MAX, seqno.get()).unwrap();
    let dead: u64 = (0..100).step_by(2).map(|i| big(i, 3).len() as u64).sum();
    assert_eq!(tree.stale_blob_bytes(), dead);
    let before = tree.disk_space();
    tree.major_compact(u64::MAX, seqno.get()).unwrap();
    assert_eq!(
        tree.blob_file_count(),
        1,
        "the relocated half is one new file"
    );
    assert_eq!(
        tree.stale_blob_bytes(),
        0,
        "the stale file was relocated and dropped"
    );
    assert!(tree.disk_space() < before);
    assert_eq!(blob_files_on_disk(&fs), 1);
    for i in 0..100 {
        let expected = if i % 2 == 0 { small(i) } else { big(i, 3) };
        assert_eq!(tree.get(key(i), SeqNo::MAX).unwrap().unwrap(), expected);
    }
    drop(tree);
    let tree = open(&fs, Some(options()));
    assert_eq!(tree.get(key(1), SeqNo::MAX).unwrap().unwrap(), big(1, 3));
}

#[test]
fn garbage_below_the_threshold_is_counted_and_kept() {
    let fs = Arc::new(MemFs::new());
    let separation = options().staleness_threshold(0.9).age_cutoff(0.0);
    let tree = open(&fs, Some(separation));
    let seqno = SequenceNumberCounter::default();
    for i in 0..100 {
        tree.insert(key(i), big(i, 0), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    for i in 0..10 {
        tree.remove(key(i), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(u64::MAX, seqno.get()).unwrap();
    let expected: u64 = (0..10).map(|i| big(i, 0).len() as u64).sum();
    assert_eq!(tree.stale_blob_bytes(), expected);
    assert_eq!(tree.blob_file_count(), 1);
    // Counted garbage survives a reopen (it is in the manifest).
    drop(tree);
    let tree = open(&fs, Some(options()));
    assert_eq!(tree.stale_blob_bytes(), expected);
}

#[test]
fn orphan_blob_files_are_removed_on_open() {
    let fs = Arc::new(MemFs::new());
    {
        let tree = open(&fs, Some(options()));
        tree.insert(key(1), big(1, 0), 0);
        tree.flush_active_memtable(0).unwrap();
    }
    let orphan = Path::new("/db/blobs/77");
    let file = fs.open(orphan, OpenOptions::create_new()).unwrap();
    file.write_all_at(b"left by a crashed flush", 0).unwrap();
    drop(file);
    let tree = open(&fs, Some(options()));
    assert!(!fs.exists(orphan).unwrap());
    assert_eq!(blob_files_on_disk(&fs), 1);
    assert_eq!(tree.get(key(1), SeqNo::MAX).unwrap().unwrap(), big(1, 0));
}

#[test]
fn a_missing_blob_file_fails_the_open_with_a_typed_error() {
    let fs = Arc::new(MemFs::new());
    {
        let tree = open(&fs, Some(options()));
        tree.insert(key(1), big(1, 0), 0);
        tree.flush_active_memtable(0).unwrap();
    }
    fs.remove_file(Path::new("/db/blobs/1")).unwrap();
    let error = Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(fs)
    .with_kv_separation(Some(options()))
    .open()
    .unwrap_err();
    assert!(matches!(error, lsm::Error::Blob(_)), "{error:?}");
}

#[test]
fn checkpoints_hold_the_blob_files() {
    let fs = Arc::new(MemFs::new());
    let tree = open(&fs, Some(options()));
    for i in 0..50 {
        tree.insert(key(i), big(i, 0), u64::from(i));
    }
    let info = tree.create_checkpoint(Path::new("/copy")).unwrap();
    assert_eq!(info.blob_files, 1);
    drop(tree);
    let copy = Config::new(
        "/copy",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(fs)
    .with_kv_separation(Some(options()))
    .open()
    .unwrap();
    for i in 0..50 {
        assert_eq!(copy.get(key(i), SeqNo::MAX).unwrap().unwrap(), big(i, 0));
    }
}

#[test]
fn merge_operands_fold_onto_a_separated_base() {
    let fs = Arc::new(MemFs::new());
    let tree = open(&fs, Some(options()));
    tree.insert(key(1), big(1, 0), 0);
    tree.flush_active_memtable(0).unwrap();
    tree.merge(key(1), "+a", 1);
    tree.merge(key(1), "+b", 2);
    let mut expected = big(1, 0);
    expected.extend_from_slice(b"+a+b");
    assert_eq!(tree.get(key(1), SeqNo::MAX).unwrap().unwrap(), expected);
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.get(key(1), SeqNo::MAX).unwrap().unwrap(), expected);
    tree.major_compact(u64::MAX, 3).unwrap();
    // The folded value is large, so it is separated again; the old blob died.
    assert_eq!(tree.get(key(1), SeqNo::MAX).unwrap().unwrap(), expected);
    assert_eq!(tree.blob_file_count(), 1);
    assert_eq!(tree.stale_blob_bytes(), 0);
}

struct ShortenBig;

impl CompactionFilter for ShortenBig {
    fn filter_item(&mut self, item: ItemAccessor<'_>, _ctx: &Context) -> lsm::Result<Verdict> {
        let value = item.value()?;
        assert!(value.starts_with(b"big-"), "the filter sees the real value");
        if item.key().ends_with(b"0") {
            Ok(Verdict::ReplaceValue(lsm::UserValue::from(&value[..8])))
        } else {
            Ok(Verdict::Keep)
        }
    }
}

struct ShortenFactory;

impl Factory for ShortenFactory {
    fn name(&self) -> &str {
        "shorten"
    }

    fn make_filter(&self, _ctx: &Context) -> Box<dyn CompactionFilter> {
        Box::new(ShortenBig)
    }
}

#[test]
fn compaction_filters_read_separated_values() {
    let fs = Arc::new(MemFs::new());
    let tree = Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(fs)
    .with_kv_separation(Some(options()))
    .with_compaction_filter_factory(Some(Arc::new(ShortenFactory)))
    .open()
    .unwrap();
    for i in 0..30 {
        tree.insert(key(i), big(i, 0), u64::from(i));
    }
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(u64::MAX, 100).unwrap();
    for i in 0..30 {
        let value = tree.get(key(i), SeqNo::MAX).unwrap().unwrap();
        if i % 10 == 0 {
            assert_eq!(value.as_ref(), &big(i, 0)[..8]);
        } else {
            assert_eq!(value.as_ref(), big(i, 0).as_slice());
        }
    }
    // Three values became inline; their blobs are garbage.
    let dead: u64 = (0..30).step_by(10).map(|i| big(i, 0).len() as u64).sum();
    assert_eq!(tree.stale_blob_bytes(), dead);
}

#[test]
fn a_tree_reopened_without_separation_keeps_reading_its_blob_files() {
    let fs = Arc::new(MemFs::new());
    {
        let tree = open(&fs, Some(options()));
        for i in 0..40 {
            tree.insert(key(i), big(i, 0), u64::from(i));
        }
        tree.flush_active_memtable(0).unwrap();
    }
    let tree = open(&fs, None);
    assert_eq!(tree.tree_type(), TreeType::Standard);
    tree.insert(key(100), big(100, 0), 100);
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(u64::MAX, 101).unwrap();
    // The pointers moved through the merge and still count as live.
    assert_eq!(tree.blob_file_count(), 1);
    assert_eq!(tree.stale_blob_bytes(), 0);
    for i in 0..40 {
        assert_eq!(tree.get(key(i), SeqNo::MAX).unwrap().unwrap(), big(i, 0));
    }
    assert_eq!(
        tree.get(key(100), SeqNo::MAX).unwrap().unwrap(),
        big(100, 0)
    );
}

#[test]
fn clear_and_drop_range_release_blob_files() {
    let fs = Arc::new(MemFs::new());
    let tree = open(&fs, Some(options()));
    for i in 0..40 {
        tree.insert(key(i), big(i, 0), u64::from(i));
    }
    tree.flush_active_memtable(0).unwrap();
    tree.drop_range::<&str, _>(..).unwrap();
    assert_eq!(tree.blob_file_count(), 0);
    for i in 0..40 {
        tree.insert(key(i), big(i, 1), 100 + u64::from(i));
    }
    tree.flush_active_memtable(0).unwrap();
    assert_eq!(tree.blob_file_count(), 1);
    tree.clear().unwrap();
    assert_eq!(tree.blob_file_count(), 0);
    assert_eq!(tree.disk_space(), 0);
    // The files go once no history entry holds them (a flush with a GC watermark
    // past the changes forgets the history).
    tree.insert(key(0), small(0), 500);
    tree.rotate_memtable();
    let lock = tree.get_flush_lock();
    tree.flush(&lock, 1_000).unwrap();
    drop(lock);
    assert_eq!(blob_files_on_disk(&fs), 0);
}

#[test]
fn a_quiet_tree_collects_stale_blob_files_when_nothing_else_needs_compacting() {
    use lsm::compaction::{CompactionAction, Leveled};
    let fs = Arc::new(MemFs::new());
    let separation = options().staleness_threshold(0.3).age_cutoff(0.0);
    let tree = open(&fs, Some(separation));
    let seqno = SequenceNumberCounter::default();
    for i in 0..100 {
        tree.insert(key(i), big(i, 0), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    for i in (0..100).step_by(2) {
        tree.insert(key(i), small(i), seqno.next());
    }
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(u64::MAX, seqno.get()).unwrap();
    assert!(tree.stale_blob_bytes() > 0);
    let before = tree.disk_space();
    // Leveled has nothing to do (level 0 is empty): the step collects blob garbage.
    let mut steps = 0;
    loop {
        let result = tree
            .compact(Arc::new(Leveled::default()), seqno.get())
            .unwrap();
        if result.action == CompactionAction::Nothing {
            break;
        }
        assert_eq!(result.action, CompactionAction::Merged);
        steps += 1;
        assert!(steps < 10, "collection ends");
    }
    assert!(steps >= 1);
    assert_eq!(tree.stale_blob_bytes(), 0);
    assert_eq!(tree.blob_file_count(), 1);
    assert!(tree.disk_space() < before);
    for i in 0..100 {
        let expected = if i % 2 == 0 { small(i) } else { big(i, 0) };
        assert_eq!(tree.get(key(i), SeqNo::MAX).unwrap().unwrap(), expected);
    }
}
