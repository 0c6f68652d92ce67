//! The tree against the ordered-map oracle: random operation sequences (insert, remove,
//! weak remove, reads at current and older snapshots, scans from both ends (also through
//! an overlay memtable with its own writes and range deletes), rotation,
//! flush with GC watermarks, `drop_range`, `clear`, checkpoint-and-open, reopen), every
//! answer compared. Rerun a failure with `PROPTEST_CASES` and the seed proptest prints.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};

use lsm::compaction::filter::{CompactionFilter, Context, Factory, ItemAccessor, Verdict};
use lsm::compaction::{CompactionStrategy, Leveled, SizeTiered};
use lsm::config::{CompressionPolicy, DictionaryTraining, FixedPrefix};
use lsm::{
    AbstractTree, Aes256GcmProvider, AnyTree, CompressionType, Config, Fs, Guard,
    KvSeparationOptions, MemFs, SeqNo, SequenceNumberCounter, ZstdDictionary,
};
use lsm_testkit::model::in_bounds_in;
use lsm_testkit::ops::{Op, OverlayWrite, concat, op_strategy, operand, value};
use lsm_testkit::orders::TestOrder;

#[path = "support/common.rs"]
mod common;
use common::Concat;
use lsm_testkit::oracle::Oracle;
use proptest::prelude::*;

/// A compaction filter that keeps everything and checks what it is shown: values only
/// (they all look like `value(..)`), and only below the compaction's watermark.
struct CheckingFilter(Arc<AtomicU64>);

impl CompactionFilter for CheckingFilter {
    fn filter_item(&mut self, item: ItemAccessor<'_>, _ctx: &Context) -> lsm::Result<Verdict> {
        assert!(
            item.seqno() < self.0.load(Ordering::Acquire),
            "a version at or above the watermark reached the filter"
        );
        let value = item.value()?;
        assert!(
            value.starts_with(b"v") || value.starts_with(b"+"),
            "a tombstone reached the filter: {:?}",
            String::from_utf8_lossy(&value)
        );
        Ok(Verdict::Keep)
    }
}

struct CheckingFactory(Arc<AtomicU64>);

impl Factory for CheckingFactory {
    fn name(&self) -> &str {
        "checking"
    }

    fn make_filter(&self, _ctx: &Context) -> Box<dyn CompactionFilter> {
        Box::new(CheckingFilter(Arc::clone(&self.0)))
    }
}

/// A flushed table as the model knows it: its key range (range tombstones included)
/// and the versions and range tombstones it holds.
struct ModelTable {
    min: Vec<u8>,
    max: Vec<u8>,
    versions: Vec<(Vec<u8>, SeqNo)>,
    tombstones: Vec<(Vec<u8>, Vec<u8>, SeqNo)>,
}

struct Harness {
    fs: Arc<dyn Fs>,
    /// A second file system, where a sealed tree keeps its levels from 2 down (a level
    /// route).
    cold_fs: Arc<dyn Fs>,
    /// The key-value separation the tree runs with.
    separation: Option<KvSeparationOptions>,
    seqno: SequenceNumberCounter,
    tree: Option<AnyTree>,
    oracle: Oracle,
    /// (mark, state before the change) of `clear` and `drop_range`, by ascending mark.
    history: Vec<(SeqNo, Oracle)>,
    /// Versions written since the last flush.
    unflushed: Vec<(Vec<u8>, SeqNo)>,
    /// What each of them is (a flush drops a weak tombstone and the value below it).
    unflushed_kinds: BTreeMap<(Vec<u8>, SeqNo), Kind>,
    /// Range tombstones written since the last flush.
    unflushed_tombstones: Vec<(Vec<u8>, Vec<u8>, SeqNo)>,
    tables: Vec<ModelTable>,
    /// Reads below this seqno are not promised (GC has run up to it).
    floor: SeqNo,
    checkpoints: usize,
    /// Values written per key since its last delete (2 stands for "unknown, maybe
    /// several"), for the weak-delete contract.
    puts_since_delete: BTreeMap<Vec<u8>, u32>,
    /// The watermark of the running compaction, for the checking filter.
    compaction_watermark: Arc<AtomicU64>,
    /// Whether the tree is sealed: encrypted, data blocks compressed with a dictionary
    /// (then LZ4 below level 1), and a one-byte prefix extractor.
    sealed: bool,
    /// The order of the keys (the tree's comparator, and the oracle's order).
    order: TestOrder,
}

impl Harness {
    fn new(separation: Option<KvSeparationOptions>, sealed: bool, order: TestOrder) -> Self {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let seqno = SequenceNumberCounter::default();
        let mut harness = Self {
            fs,
            cold_fs: Arc::new(MemFs::new()),
            separation,
            seqno,
            tree: None,
            oracle: Oracle::with_merge(concat).with_order(order.key_order()),
            history: Vec::new(),
            unflushed: Vec::new(),
            unflushed_kinds: BTreeMap::new(),
            unflushed_tombstones: Vec::new(),
            tables: Vec::new(),
            floor: 0,
            checkpoints: 0,
            puts_since_delete: BTreeMap::new(),
            compaction_watermark: Arc::new(AtomicU64::new(0)),
            sealed,
            order,
        };
        harness.tree = Some(harness.open(PathBuf::from("/db")));
        harness
    }

    fn open(&self, path: PathBuf) -> AnyTree {
        // Sealed blob files compress with zstd and train their own dictionaries (on a
        // small sample, so that files both with and without one are written).
        let separation = self.separation.clone().map(|options| {
            if self.sealed {
                options
                    .file_target_size(8 << 10)
                    .compression(CompressionType::Zstd(1))
                    .dictionary_training(Some(DictionaryTraining {
                        level: 1,
                        dictionary_bytes: 256,
                        sample_bytes: 512,
                    }))
            } else {
                options
            }
        });
        let cold_dir = PathBuf::from("/cold").join(path.file_name().unwrap_or_default());
        let config = Config::new(path, self.seqno.clone(), SequenceNumberCounter::default())
            .with_shared_fs(Arc::clone(&self.fs))
            .with_kv_separation(separation)
            .with_merge_operator(Some(Arc::new(Concat)))
            .with_compaction_filter_factory(Some(Arc::new(CheckingFactory(Arc::clone(
                &self.compaction_watermark,
            )))));
        let config = match self.order.comparator() {
            Some(comparator) => config.comparator(comparator),
            None => config,
        };
        let config = if self.sealed {
            let dictionary = Arc::new(ZstdDictionary::new(b"a0a1a2b0b1c0c1d0v1-v2-v3-+1+2"));
            config
                .with_encryption(Some(Arc::new(Aes256GcmProvider::new(&[0x17; 32]))))
                .data_block_compression_policy(CompressionPolicy::new([
                    CompressionType::zstd_dict(1, dictionary.id()).unwrap(),
                    CompressionType::zstd_dict(1, dictionary.id()).unwrap(),
                    CompressionType::Lz4,
                ]))
                .index_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
                .zstd_dictionary(Some(dictionary))
                .prefix_extractor(Arc::new(FixedPrefix::new(1)))
                // Levels 2 and deeper on another file system.
                .level_route_on(2, cold_dir, Arc::clone(&self.cold_fs))
                // A small cache with the row cache on and one eviction order: answers
                // are cached and evicted while the oracle checks them.
                .use_cache(Arc::new(
                    lsm::Cache::with_capacity_bytes(64 << 10)
                        .with_row_cache(true)
                        .with_metadata_priority(false),
                ))
        } else {
            config
        };
        config.open().unwrap()
    }

    /// The key of index `k` in the harness's order.
    fn key(&self, k: u8) -> Vec<u8> {
        self.order.key(k)
    }

    /// A scan bound drawn over the lexicographic keys, moved to the same index in the
    /// harness's order (a key outside that space stays as it is).
    fn bound(&self, bound: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
        let moved = |key: Vec<u8>| {
            (0..lsm_testkit::ops::KEY_COUNT)
                .find(|&idx| lsm_testkit::ops::key(idx) == key)
                .map_or(key, |idx| self.key(idx))
        };
        match bound {
            Bound::Included(key) => Bound::Included(moved(key)),
            Bound::Excluded(key) => Bound::Excluded(moved(key)),
            Bound::Unbounded => Bound::Unbounded,
        }
    }

    fn tree(&self) -> &AnyTree {
        self.tree.as_ref().unwrap()
    }

    /// The state a read at `read_seqno` must see.
    fn expected(&self, read_seqno: SeqNo) -> &Oracle {
        self.history
            .iter()
            .find(|(mark, _)| read_seqno < *mark)
            .map_or(&self.oracle, |(_, oracle)| oracle)
    }

    /// A read seqno between the floor and the next seqno.
    fn read_seqno(&self, choice: u16) -> SeqNo {
        let top = self.seqno.get();
        self.floor + u64::from(choice) % (top - self.floor + 1)
    }

    fn flush(&mut self, watermark: SeqNo) {
        self.tree().flush_active_memtable(watermark).unwrap();
        self.floor = self.floor.max(watermark);
        self.flush_model_only(watermark);
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Insert(k, v) => {
                *self.puts_since_delete.entry(self.key(k)).or_insert(0) += 1;
                let seqno = self.seqno.next();
                let value = value(v);
                self.tree().insert(self.key(k), value.clone(), seqno);
                self.oracle.insert(&self.key(k), &value, seqno);
                self.unflushed.push((self.key(k), seqno));
                self.unflushed_kinds
                    .insert((self.key(k), seqno), Kind::Value);
            }
            Op::Merge(k, v) => {
                // A merge is another value as far as the weak-delete contract goes.
                *self.puts_since_delete.entry(self.key(k)).or_insert(0) += 2;
                let seqno = self.seqno.next();
                self.tree().merge(self.key(k), operand(v), seqno);
                self.oracle.merge(&self.key(k), &operand(v), seqno);
                self.unflushed.push((self.key(k), seqno));
                self.unflushed_kinds
                    .insert((self.key(k), seqno), Kind::Other);
            }
            Op::RemoveRange(start, span) => {
                let (lower, upper) = self.order.range_bounds(start, span);
                let seqno = self.seqno.next();
                self.tree()
                    .remove_range(lower.clone(), upper.clone(), seqno);
                self.oracle.remove_range(&lower, &upper, seqno);
                let order = self.order.key_order();
                if order.lt(&lower, &upper) {
                    self.unflushed_tombstones
                        .push((lower.clone(), upper.clone(), seqno));
                }
                for (k, count) in &mut self.puts_since_delete {
                    if order.le(&lower, k) && order.lt(k, &upper) {
                        *count = 0;
                    }
                }
            }
            Op::Remove(k) => {
                self.puts_since_delete.insert(self.key(k), 0);
                let seqno = self.seqno.next();
                self.tree().remove(self.key(k), seqno);
                self.oracle.remove(&self.key(k), seqno);
                self.unflushed.push((self.key(k), seqno));
                self.unflushed_kinds
                    .insert((self.key(k), seqno), Kind::Other);
            }
            Op::RemoveWeak(k)
                if self
                    .puts_since_delete
                    .get(&self.key(k))
                    .copied()
                    .unwrap_or(0)
                    > 1 =>
            {
                // A weak delete promises one value since the last delete; with more, it
                // is a caller bug (older values may come back), so delete strongly.
                self.apply(Op::Remove(k));
            }
            Op::RemoveWeak(k) => {
                self.puts_since_delete.insert(self.key(k), 0);
                let seqno = self.seqno.next();
                self.tree().remove_weak(self.key(k), seqno);
                self.oracle.remove_weak(&self.key(k), seqno);
                self.unflushed.push((self.key(k), seqno));
                self.unflushed_kinds
                    .insert((self.key(k), seqno), Kind::WeakTombstone);
            }
            Op::Get(k, at) => {
                let read_seqno = self.read_seqno(at);
                let got = self
                    .tree()
                    .get(self.key(k), read_seqno)
                    .unwrap()
                    .map(|v| v.to_vec());
                assert_eq!(
                    got,
                    self.expected(read_seqno).get(&self.key(k), read_seqno),
                    "get {k} at {read_seqno}"
                );
                let size = self.tree().size_of(self.key(k), read_seqno).unwrap();
                assert_eq!(size, got.as_ref().map(|v| u32::try_from(v.len()).unwrap()));
            }
            Op::MultiGet(keys, at) => {
                let read_seqno = self.read_seqno(at);
                let got = self
                    .tree()
                    .multi_get(keys.iter().map(|&k| self.key(k)), read_seqno)
                    .unwrap();
                let expected = self.expected(read_seqno);
                for (k, value) in keys.iter().zip(got) {
                    assert_eq!(
                        value.map(|v| v.to_vec()),
                        expected.get(&self.key(*k), read_seqno)
                    );
                }
            }
            Op::Scan(lo, hi, at, ends) => {
                let (lo, hi) = (self.bound(lo), self.bound(hi));
                let read_seqno = self.read_seqno(at);
                let expected = self.expected(read_seqno).range(&lo, &hi, read_seqno);
                let range = (lo, hi);
                check_both_ends(self.tree().range(range, read_seqno, None), &expected, &ends);
            }
            Op::Prefix(p, at) => {
                let read_seqno = self.read_seqno(at);
                let prefix = self.order.prefix(p);
                let expected = self.expected(read_seqno).prefix(&prefix, read_seqno);
                check_both_ends(
                    self.tree().prefix(prefix, read_seqno, None),
                    &expected,
                    &[true, false],
                );
            }
            Op::OverlayScan(writes, visible, lo, hi, at, ends) => {
                let (lo, hi) = (self.bound(lo), self.bound(hi));
                self.overlay_scan(&writes, visible, (lo, hi), at, &ends);
            }
            Op::Rotate => {
                self.tree().rotate_memtable();
            }
            Op::Flush(with_gc) => {
                let watermark = if with_gc {
                    self.seqno.get().saturating_sub(5)
                } else {
                    0
                };
                self.flush(watermark);
            }
            Op::Compact(n, with_gc) => {
                let watermark = self.gc_watermark(with_gc);
                let strategy: Arc<dyn CompactionStrategy> = match n {
                    0 => Arc::new(
                        Leveled::default()
                            .with_l0_threshold(2)
                            .with_table_target_size(4 << 10),
                    ),
                    1 => Arc::new(
                        Leveled::default()
                            .with_l0_threshold(3)
                            .with_table_target_size(2 << 10)
                            .with_dynamic_level_bytes(true)
                            .with_multi_level(true),
                    ),
                    _ => Arc::new(SizeTiered::default().with_min_merge_width(2)),
                };
                self.compaction_watermark
                    .store(watermark, Ordering::Release);
                self.tree().compact(strategy, watermark).unwrap();
                self.floor = self.floor.max(watermark);
            }
            Op::MajorCompact(with_gc) => {
                let watermark = self.gc_watermark(with_gc);
                self.compaction_watermark
                    .store(watermark, Ordering::Release);
                self.tree().major_compact(4 << 10, watermark).unwrap();
                self.floor = self.floor.max(watermark);
            }
            Op::DropRange(lo, hi) => {
                let (lo, hi) = (self.bound(lo), self.bound(hi));
                let order = self.order.key_order();
                // The change takes one seqno; reads above it see the change.
                let mark = self.seqno.get() + 1;
                self.history.push((mark, self.oracle.clone()));
                self.tree().drop_range((lo.clone(), hi.clone())).unwrap();
                let (dropped, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.tables)
                    .into_iter()
                    .partition(|table| {
                        in_bounds_in(&order, &table.min, &lo, &hi)
                            && in_bounds_in(&order, &table.max, &lo, &hi)
                    });
                self.tables = kept;
                self.forget_puts();
                for (k, seqno) in dropped.iter().flat_map(|table| &table.versions) {
                    self.oracle.forget(k, *seqno);
                }
                for (start, end, seqno) in dropped.iter().flat_map(|table| &table.tombstones) {
                    self.oracle.forget_range(start, end, *seqno);
                }
            }
            Op::Clear => {
                // The change takes one seqno; reads above it see the change.
                let mark = self.seqno.get() + 1;
                let emptied = self.oracle.emptied();
                self.history
                    .push((mark, std::mem::replace(&mut self.oracle, emptied)));
                self.tree().clear().unwrap();
                self.unflushed.clear();
                self.unflushed_kinds.clear();
                self.unflushed_tombstones.clear();
                self.tables.clear();
                self.puts_since_delete.clear();
            }
            Op::Checkpoint => {
                self.checkpoints += 1;
                let target = PathBuf::from(format!("/checkpoint-{}", self.checkpoints));
                self.tree().create_checkpoint(&target).unwrap();
                self.flush_model_only(0);
                let copy = self.open(target);
                let read_seqno = self.seqno.get();
                let expected = self
                    .oracle
                    .range(&Bound::Unbounded, &Bound::Unbounded, read_seqno);
                check_both_ends(copy.iter(read_seqno, None), &expected, &[true]);
            }
            Op::Ingest(writes) => self.ingest(writes),
            Op::Tune(preset) => {
                self.tree()
                    .update_runtime_config(|runtime| tune(runtime, preset))
                    .unwrap();
            }
            Op::Reopen => {
                self.tree = None;
                self.tree = Some(self.open(PathBuf::from("/db")));
                for (k, seqno) in std::mem::take(&mut self.unflushed) {
                    self.oracle.forget(&k, seqno);
                }
                self.unflushed_kinds.clear();
                for (start, end, seqno) in std::mem::take(&mut self.unflushed_tombstones) {
                    self.oracle.forget_range(&start, &end, seqno);
                }
                self.history.clear();
                self.forget_puts();
            }
        }
    }

    /// Bulk-loads `writes`: `finish` flushes the memtables (watermark 0), then the keys
    /// take one fresh seqno and form one table.
    fn ingest(&mut self, writes: Vec<(u8, Option<u16>)>) {
        let order = self.order.key_order();
        let mut writes: Vec<(Vec<u8>, Option<u16>)> =
            writes.into_iter().map(|(k, v)| (self.key(k), v)).collect();
        writes.sort_by(|a, b| order.cmp(&a.0, &b.0));
        writes.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut ingestion = self.tree().ingestion().unwrap();
        for (k, v) in &writes {
            match v {
                Some(v) => ingestion.write(k.clone(), value(*v)).unwrap(),
                None => ingestion.write_tombstone(k.clone()).unwrap(),
            }
        }
        ingestion.finish().unwrap();
        if writes.is_empty() {
            return;
        }
        self.flush_model_only(0);
        // `finish` drew the ingestion's seqno: the last one handed out.
        let seqno = self.seqno.get() - 1;
        for (k, v) in &writes {
            match v {
                Some(v) => {
                    *self.puts_since_delete.entry(k.clone()).or_insert(0) += 1;
                    self.oracle.insert(k, &value(*v), seqno);
                }
                None => {
                    self.puts_since_delete.insert(k.clone(), 0);
                    self.oracle.remove(k, seqno);
                }
            }
        }
        let (first, last) = (writes.first().unwrap(), writes.last().unwrap());
        self.tables.push(ModelTable {
            min: first.0.clone(),
            max: last.0.clone(),
            versions: writes.iter().map(|(k, _)| (k.clone(), seqno)).collect(),
            tombstones: Vec::new(),
        });
    }

    /// Reads the tree at the `at` choice through an overlay of `writes` (at fresh seqnos,
    /// the first `visible` of them visible), checking a scan of `bounds`, `len`,
    /// `is_empty` and both ends against the tree's state with the writes applied.
    fn overlay_scan(
        &self,
        writes: &[OverlayWrite],
        visible: u8,
        bounds: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        at: u16,
        ends: &[bool],
    ) {
        let read_seqno = self.read_seqno(at);
        let mut state: BTreeMap<Vec<u8>, Vec<u8>> = self
            .expected(read_seqno)
            .range(&Bound::Unbounded, &Bound::Unbounded, read_seqno)
            .into_iter()
            .collect();
        let overlay = Arc::new(lsm::Memtable::new_in(u64::MAX, &self.order.key_order()));
        let mut index_seqno = self.seqno.get();
        for (i, write) in writes.iter().enumerate() {
            let seqno = self.seqno.next();
            let shown = i < usize::from(visible);
            if shown {
                index_seqno = seqno + 1;
            }
            match *write {
                OverlayWrite::Insert(k, v) => {
                    overlay.insert(lsm_core::InternalEntry::new(
                        self.key(k),
                        value(v),
                        seqno,
                        lsm::ValueType::Value,
                    ));
                    if shown {
                        state.insert(self.key(k), value(v));
                    }
                }
                OverlayWrite::Remove(k) => {
                    overlay.insert(lsm_core::InternalEntry::new(
                        self.key(k),
                        Vec::new(),
                        seqno,
                        lsm::ValueType::Tombstone,
                    ));
                    if shown {
                        state.remove(&self.key(k));
                    }
                }
                OverlayWrite::RemoveRange(start, span) => {
                    let (lower, upper) = self.order.range_bounds(start, span);
                    if let Some(tombstone) = lsm_core::RangeTombstone::new(
                        &self.order.key_order(),
                        lower.clone().into(),
                        upper.clone().into(),
                        seqno,
                    ) {
                        overlay.insert_range_tombstone(tombstone);
                    }
                    if shown {
                        let order = self.order.key_order();
                        state.retain(|k, _| !(order.le(&lower, k) && order.lt(k, &upper)));
                    }
                }
            }
        }
        let index = || Some((Arc::clone(&overlay), index_seqno));
        let order = self.order.key_order();
        let mut expected: Vec<_> = state
            .iter()
            .filter(|(k, _)| in_bounds_in(&order, k, &bounds.0, &bounds.1))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        expected.sort_by(|left, right| order.cmp(&left.0, &right.0));
        check_both_ends(
            self.tree().range(bounds, read_seqno, index()),
            &expected,
            ends,
        );
        let tree = self.tree();
        assert_eq!(tree.len(read_seqno, index()).unwrap(), state.len());
        assert_eq!(
            tree.is_empty(read_seqno, index()).unwrap(),
            state.is_empty()
        );
        let first = tree.first_key_value(read_seqno, index());
        let last = tree.last_key_value(read_seqno, index());
        assert_eq!(
            first.map(|item| item.key().unwrap().to_vec()),
            state.keys().min_by(|a, b| order.cmp(a, b)).cloned()
        );
        assert_eq!(
            last.map(|item| item.key().unwrap().to_vec()),
            state.keys().max_by(|a, b| order.cmp(a, b)).cloned()
        );
    }

    /// After versions were forgotten, older values may be visible again: every key may
    /// hold several.
    fn forget_puts(&mut self) {
        for k in 0..lsm_testkit::ops::KEY_COUNT {
            self.puts_since_delete.insert(self.key(k), 2);
        }
    }

    /// A GC watermark a few seqnos back, or 0.
    fn gc_watermark(&self, with_gc: bool) -> SeqNo {
        if with_gc {
            self.seqno.get().saturating_sub(5)
        } else {
            0
        }
    }

    /// What a checkpoint's flush (watermark 0) does to the model.
    /// Records the flush of the unflushed versions at `watermark` as a table. Its key
    /// range is what the flush writes: a key whose versions are all below the watermark
    /// and pair up as weak tombstones over values is dropped whole.
    fn flush_model_only(&mut self, watermark: SeqNo) {
        let mut by_key: BTreeMap<&[u8], Vec<(SeqNo, Kind)>> = BTreeMap::new();
        for (k, seqno) in &self.unflushed {
            let kind = self.unflushed_kinds[&(k.clone(), *seqno)];
            by_key.entry(k).or_default().push((*seqno, kind));
        }
        let points = by_key
            .into_iter()
            .filter(|(_, versions)| flush_writes(versions, watermark))
            .map(|(k, _)| k.to_vec());
        let starts = self
            .unflushed_tombstones
            .iter()
            .map(|(start, _, _)| start.clone());
        let ends = self
            .unflushed_tombstones
            .iter()
            .map(|(_, end, _)| end.clone());
        let order = self.order.key_order();
        let (min, max) = points.chain(starts).chain(ends).fold(
            (None, None),
            |(min, max): (Option<Vec<u8>>, Option<Vec<u8>>), k| {
                (
                    Some(min.map_or(k.clone(), |min| order.min(&min, &k).clone())),
                    Some(max.map_or(k.clone(), |max| order.max(&max, &k).clone())),
                )
            },
        );
        self.unflushed_kinds.clear();
        if let (Some(min), Some(max)) = (min, max) {
            self.tables.push(ModelTable {
                min,
                max,
                versions: std::mem::take(&mut self.unflushed),
                tombstones: std::mem::take(&mut self.unflushed_tombstones),
            });
        } else {
            // Nothing is written (every version annihilated): the flush makes no table.
            self.unflushed.clear();
            self.unflushed_tombstones.clear();
        }
    }
}

/// What a version the model wrote is, as far as a flush's garbage collection goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Value,
    WeakTombstone,
    /// A tombstone or a merge operand: always written.
    Other,
}

/// Whether a flush at `watermark` writes anything of a key with these versions: it does
/// unless every version is below the watermark and, newest first, they pair up as weak
/// tombstones each over a value (each pair annihilates).
fn flush_writes(versions: &[(SeqNo, Kind)], watermark: SeqNo) -> bool {
    let mut newest_first = versions.to_vec();
    newest_first.sort_unstable_by_key(|version| std::cmp::Reverse(version.0));
    if newest_first.iter().any(|(seqno, _)| *seqno >= watermark) {
        return true;
    }
    let mut rest = newest_first.as_slice();
    loop {
        match rest {
            [] => return false,
            [(_, Kind::WeakTombstone), (_, Kind::Value), older @ ..] => rest = older,
            _ => return true,
        }
    }
}

/// Consumes `iter` taking the front when `ends[i]` is true and the back otherwise (then
/// alternating), and checks that the two halves meet at exactly `expected`.
fn check_both_ends(mut iter: lsm::IterBox, expected: &[(Vec<u8>, Vec<u8>)], ends: &[bool]) {
    let mut front = Vec::new();
    let mut back = Vec::new();
    let mut step = 0;
    loop {
        let take_front = ends.get(step).copied().unwrap_or(step % 2 == 0);
        step += 1;
        let item = if take_front {
            iter.next()
        } else {
            iter.next_back()
        };
        let Some(item) = item else { break };
        let (k, v) = item.into_inner().unwrap();
        if take_front {
            front.push((k.to_vec(), v.to_vec()));
        } else {
            back.push((k.to_vec(), v.to_vec()));
        }
    }
    back.reverse();
    front.extend(back);
    assert_eq!(front, expected);
}

/// Separation of values from `threshold` bytes on, into small blob files that are
/// collected eagerly (so that relocation runs often).
fn separated(threshold: u32) -> Option<KvSeparationOptions> {
    Some(
        KvSeparationOptions::default()
            .separation_threshold(threshold)
            .file_target_size(256)
            .staleness_threshold(0.2)
            .age_cutoff(0.5),
    )
}

/// The settings of [`Op::Tune`]'s presets: compression, block size and filter bits of
/// the tables written next, and entry checks of the memtables started next, changed
/// while the tree runs (preset 0 goes back to the `Config`'s).
fn tune(runtime: &mut lsm::RuntimeConfig, preset: u8) {
    use lsm::config::CompressionType;
    let (compression, block_size, bits) = match preset {
        0 => (None, None, None),
        1 => (Some(CompressionType::Lz4), Some(512), None),
        2 => (Some(CompressionType::Zstd(1)), Some(64), Some(4.0)),
        _ => (Some(CompressionType::None), Some(4096), Some(20.0)),
    };
    runtime.data_block_compression = compression;
    runtime.data_block_size = block_size;
    runtime.filter_bits_per_key = bits;
    runtime.entry_checksums = preset >= 2;
}

fn run(ops: Vec<Op>) {
    run_with(ops, None);
}

fn run_with(ops: Vec<Op>, separation: Option<KvSeparationOptions>) {
    run_shaped(ops, separation, false);
}

fn run_shaped(ops: Vec<Op>, separation: Option<KvSeparationOptions>, sealed: bool) {
    run_ordered(ops, separation, sealed, TestOrder::Lexicographic);
}

fn run_ordered(
    ops: Vec<Op>,
    separation: Option<KvSeparationOptions>,
    sealed: bool,
    order: TestOrder,
) {
    let separating = separation.is_some();
    let mut harness = Harness::new(separation, sealed, order);
    let op_count = ops.len() as u64;
    for op in ops {
        harness.apply(op);
    }
    lsm_testkit::reliability::tally("G4", "model: tree against the oracle", op_count, "ops");
    // Everything still readable at the end, and again after a final flush and reopen.
    harness.flush(0);
    harness.apply(Op::Reopen);
    let read_seqno = harness.seqno.get();
    let expected = harness
        .oracle
        .range(&Bound::Unbounded, &Bound::Unbounded, read_seqno);
    check_both_ends(harness.tree().iter(read_seqno, None), &expected, &[]);
    if separating {
        // Every blob file the version lists is on disk, and nothing else is.
        let listed = harness.tree().blob_file_count();
        let on_disk = harness
            .fs
            .read_dir(std::path::Path::new("/db/blobs"))
            .unwrap()
            .len();
        assert_eq!(listed, on_disk, "blob files listed vs on disk");
    }
    // Every table the version lists is on disk, the deeper levels of a sealed tree on
    // the other file system, and nothing else is.
    let tables_in = |fs: &Arc<dyn Fs>, dir: &str| common::file_ids(fs.as_ref(), dir).len();
    let cold = tables_in(&harness.cold_fs, "/cold/db/tables");
    let deep: usize = (2..7)
        .map(|level| harness.tree().level_table_count(level).unwrap_or(0))
        .sum();
    assert_eq!(
        tables_in(&harness.fs, "/db/tables") + cold,
        harness.tree().table_count(),
        "tables listed vs on disk"
    );
    if harness.sealed {
        assert_eq!(
            cold, deep,
            "tables of levels 2 and deeper on the route's file system"
        );
    }
}

/// Cases of the plain runs: `PROPTEST_CASES`, else 768 times the test scale (together
/// over 200,000 operations per run, the PR figure of goal G4).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| u32::try_from(lsm_testkit::reliability::scaled(768)).unwrap_or(u32::MAX))
}

/// Cases for the separated runs (a quarter of the plain runs' each).
fn separated_cases() -> u32 {
    cases().div_ceil(4)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_tree_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(false), 1..120)) {
        run(ops);
    }

    #[test]
    fn compaction_changes_no_answer(ops in prop::collection::vec(op_strategy(true), 1..150)) {
        run(ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: separated_cases(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_value_separated_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(true), 1..150)) {
        run_with(ops, separated(0));
    }

    #[test]
    fn some_values_separated_answer_as_the_oracle(ops in prop::collection::vec(op_strategy(true), 1..150)) {
        run_with(ops, separated(24));
    }

    #[test]
    fn separated_without_compaction_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(false), 1..120)) {
        run_with(ops, separated(24));
    }

    /// Encrypted, dictionary- and LZ4-compressed, with prefix filters.
    #[test]
    fn a_sealed_tree_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(false), 1..120)) {
        run_shaped(ops, None, true);
    }

    /// The same with some values separated (encrypted blob files).
    #[test]
    fn a_sealed_separated_tree_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(true), 1..120)) {
        run_shaped(ops, separated(24), true);
    }

    /// Keys in the bytes' reversed order: scans from both ends, range deletes, prefix
    /// scans and compaction follow the comparator, as the oracle does.
    #[test]
    fn a_reversed_tree_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(true), 1..150)) {
        run_ordered(ops, None, false, TestOrder::Reversed);
    }

    /// Keys as decimal numbers of one to five digits, in numeric order, some values
    /// separated.
    #[test]
    fn a_numeric_tree_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(true), 1..150)) {
        run_ordered(ops, separated(24), false, TestOrder::Numeric);
    }

    /// A sealed tree in numeric order.
    #[test]
    fn a_sealed_numeric_tree_answers_as_the_oracle(ops in prop::collection::vec(op_strategy(false), 1..120)) {
        run_ordered(ops, None, true, TestOrder::Numeric);
    }
}
