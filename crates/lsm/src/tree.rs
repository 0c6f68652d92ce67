//! [`Tree`]: the standard tree (values stored inline in its tables).
//!
//! State: the current [`SuperVersion`] published (`crate::published`): readers load it
//! without a lock; installs take one lock, so none is lost; writers hold its write gate
//! shared across one memtable insert and a rotation holds it alone, so that no memtable
//! is sealed with a write still landing in it (both rules loom-checked); the manifest
//! behind a mutex; the flush lock that serialises every version change (flush, `clear`,
//! `drop_range`, checkpoints). Reads never wait: a flush writes its tables first and
//! swaps the super-version last, in one atomic store.
//!
//! After a failed manifest write or sync nothing is known about the durable state, so
//! the tree is poisoned: writes through the `try_*` methods and every version change
//! return [`Error::Unrecoverable`] until it is reopened.

use std::ops::{Deref, RangeBounds};
use std::path::Path;

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use lsm_core::{FsLock, InternalEntry, RangeTombstone, SeqNo, UserKey, UserValue, ValueType};
use lsm_memtable::Memtable;
use lsm_table::ReadOptions;
use lsm_version::{Level, Manifest, Version, VersionEdit};

use crate::background::{Background, Backlog};
use crate::compaction::{CompactionResult, CompactionStrategy};
use crate::file_ids::FileIds;
use crate::health::Health;
use crate::jobs::{Jobs, Wait};
use crate::rate_limiter::RateLimiter;
use crate::read::{self, Index, IterBox, PrefixProbe};
use crate::super_version::SuperVersion;
use crate::{
    AbstractTree, CheckpointInfo, Config, Error, FlushGuard, PinnableSlice, Result, TreeType,
    WriteBatch,
};

/// A tree's identity within this process.
pub type TreeId = u64;

/// A standard tree; cheap to clone (clones share the tree).
#[derive(Clone)]
pub struct Tree(pub Arc<TreeInner>);

/// The shared state of a [`Tree`].
pub struct TreeInner {
    /// The tree's identity within this process.
    pub id: TreeId,
    /// The configuration it was opened with.
    pub config: Arc<Config>,
    pub(crate) read_options: ReadOptions,
    /// The current super-version, its installs and the write gate.
    pub(crate) published: crate::published::Published<SuperVersion>,
    pub(crate) flush_lock: Mutex<()>,
    /// The compaction jobs running, and the tables they hold.
    pub(crate) jobs: Jobs,
    pub(crate) manifest: Mutex<Manifest>,
    /// Names new memtables, tables and blob files.
    pub(crate) ids: FileIds,
    /// Tables removed from the tree whose files are not deleted yet.
    pub(crate) pending_deletions: Arc<crate::live_table::PendingDeletions>,
    /// The highest GC watermark a flush or merge of this tree has used (the manifest
    /// records it; when it does not, the first seqno after the ones recovered at open):
    /// below it, history may be collapsed (see `scan_since`).
    pub(crate) gc_floor: std::sync::atomic::AtomicU64,
    pub(crate) blob_read_options: lsm_vlog::BlobReadOptions,
    /// Poisoned (a manifest write failed) or closing (running merges stop).
    pub(crate) health: Health,
    /// The key and salts new files are encrypted with, when the tree is encrypted.
    pub(crate) encryption: Option<crate::encryption::TreeEncryption>,
    pub(crate) rate_limiter: RateLimiter,
    /// Counters of reads, flushes, compactions and stalls.
    pub(crate) metrics: Arc<crate::Metrics>,
    /// The settings that change while the tree runs.
    pub(crate) runtime: ArcSwap<crate::RuntimeConfig>,
    /// The storage gate of writes and merges (when the runtime settings turn it on).
    pub(crate) admission: crate::admission::Admission,
    pub(crate) background: Option<Arc<Background>>,
    pub(crate) compaction_pool: Option<Arc<rayon::ThreadPool>>,
    pub(crate) _directory_lock: Option<Box<dyn FsLock>>,
    /// The directory locks of the level routes.
    pub(crate) _route_locks: Vec<Box<dyn FsLock>>,
}

impl Drop for TreeInner {
    fn drop(&mut self) {
        self.rate_limiter.stop();
        if let Some(background) = self.background.take() {
            background.shutdown();
            // A clean shutdown keeps what is in memory (best effort: drop cannot fail).
            self.rotate();
            let lock = self.flush_lock();
            if let Err(error) = self.flush_sealed(&lock, 0) {
                tracing::error!(%error, "final flush on shutdown failed");
            }
        }
    }
}

/// The bytes a write of `entry` is paced by.
fn entry_bytes(entry: &InternalEntry) -> u64 {
    (entry.key.user_key.len() + entry.value.len()) as u64
}

/// Checks an entry a caller writes against the limits.
///
/// # Panics
/// On an empty key, a key longer than 65,535 bytes, a value longer than `u32::MAX`
/// bytes, or a seqno above [`crate::MAX_SEQNO`]: a caller bug (the `try_*` writes return
/// [`Error::InvalidArgument`] instead).
fn check_entry(entry: &InternalEntry) {
    if let Err(error) = crate::argument::check_entry(entry) {
        panic!("{error}");
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // The last handle a user holds stops the background threads here, so that the
        // tree (and its directory lock) is gone when this drop returns, even when a
        // thread held it for a moment.
        if let Some(background) = &self.0.background
            && background.is_last_user_handle(&self.0)
        {
            self.0.health.close();
            self.0.rate_limiter.stop();
            background.shutdown();
        }
    }
}

impl Deref for Tree {
    type Target = TreeInner;

    fn deref(&self) -> &TreeInner {
        &self.0
    }
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("id", &self.id)
            .field("path", &self.config.path)
            .finish_non_exhaustive()
    }
}

impl TreeInner {
    /// The current super-version (lock-free).
    pub(crate) fn super_version(&self) -> Arc<SuperVersion> {
        self.published.load()
    }

    /// The super-version a read at `read_seqno` uses.
    pub(crate) fn super_version_at(&self, read_seqno: SeqNo) -> Arc<SuperVersion> {
        self.super_version().at(read_seqno)
    }

    /// The snapshot a scan at `read_seqno` (with the overlay `index`) reads, for scans
    /// that reposition or run over several intervals.
    pub(crate) fn snapshot(&self, read_seqno: SeqNo, index: Index) -> crate::seekable::Snapshot {
        crate::seekable::Snapshot {
            super_version: self.super_version_at(read_seqno),
            read_seqno,
            index,
            merge: self.merge_fn(),
            read_options: self.read_options.clone(),
        }
    }

    /// Replaces the current super-version with `change` applied to it.
    pub(crate) fn install(&self, change: impl FnOnce(&SuperVersion) -> SuperVersion) {
        self.published.install(change);
        let runtime = self.runtime.load();
        if runtime.storage_admission_check {
            self.admission.record(&self.measure_storage(), &runtime);
        }
    }

    /// The bytes of the tree's files and the file system's free space, for the storage
    /// gate.
    pub(crate) fn measure_storage(&self) -> crate::admission::Measure {
        crate::admission::Measure {
            files: self.files_bytes(),
            available: self.available_space(),
        }
    }

    /// The bytes free for the tree's files, when the file system can tell; with level
    /// routes, the least free of the tree's directories.
    pub(crate) fn available_space(&self) -> Option<u64> {
        std::iter::once(&self.config.path)
            .chain(self.config.level_routes().iter().map(|route| &route.dir))
            .filter_map(|dir| self.config.fs.available_space(dir).ok())
            .min()
    }

    /// An empty memtable in the tree's order, with entry checks when the runtime
    /// settings ask for them.
    pub(crate) fn new_memtable(&self, id: lsm_core::MemtableId) -> Memtable {
        let memtable = Memtable::new_in(id, self.config.key_order());
        if self.runtime.load().entry_checksums {
            memtable.with_entry_digest()
        } else {
            memtable
        }
    }

    /// Bytes of the current version's tables and blob files.
    pub(crate) fn files_bytes(&self) -> u64 {
        self.published.peek(|current| {
            let version = &current.version;
            let tables: u64 = version.tables().map(|meta| meta.size_bytes).sum();
            let blobs: u64 = version
                .blob_files()
                .values()
                .map(|info| info.file_len)
                .sum();
            tables + blobs
        })
    }

    /// The storage gate's answer for a write now (`Ok` with the gate off).
    ///
    /// # Errors
    /// [`Error::StorageFull`] while the gate finds no room.
    pub(crate) fn storage_gate(&self) -> Result<()> {
        let runtime = self.runtime.load();
        if !runtime.storage_admission_check {
            return Ok(());
        }
        self.admission
            .admit(&runtime, self.memory_bytes().1, || self.measure_storage())
    }

    /// Applies `change` to the runtime settings, checks them and swaps them in.
    pub(crate) fn update_runtime(
        &self,
        change: impl FnOnce(&mut crate::RuntimeConfig),
    ) -> Result<()> {
        let mut next = crate::RuntimeConfig::clone(&self.runtime.load());
        change(&mut next);
        next.validate()?;
        self.rate_limiter
            .set_rate(next.compaction_rate_limit.unwrap_or(0));
        if next.storage_admission_check {
            self.admission.record(&self.measure_storage(), &next);
        }
        self.runtime.store(Arc::new(next));
        Ok(())
    }

    /// As [`Self::install`], with no write in flight (for sealing the active memtable).
    pub(crate) fn install_without_writes(
        &self,
        change: impl FnOnce(&SuperVersion) -> SuperVersion,
    ) {
        let _gate = self.published.exclusive();
        self.install(change);
    }

    /// The tail every write takes: waits out a write stall for `bytes`, runs `insert` on
    /// the active memtable under the write gate (held shared, so that no rotation seals a
    /// memtable a write is still landing in), and seals a full memtable after, waking
    /// the flush thread. Returns what `insert` returns: the bytes added and the
    /// memtable's new size.
    fn write_tail(&self, bytes: u64, insert: impl FnOnce(&Memtable) -> (u64, u64)) -> (u64, u64) {
        if let Some(background) = &self.background {
            background.admit(|| self.backlog(), bytes, &self.metrics);
        }
        let written = self.published.write(|current| insert(&current.active));
        if let Some(background) = &self.background
            && written.1 >= background.options.memtable_size_bytes
            && self.rotate().is_some()
        {
            background.request_flush();
        }
        written
    }

    /// Writes one version of `user_key` at `seqno` (see [`Self::write_tail`]).
    ///
    /// # Panics
    /// On an empty key, a key longer than 65,535 bytes, a value longer than
    /// `u32::MAX` bytes, or a seqno above [`crate::MAX_SEQNO`]: a caller bug.
    pub(crate) fn insert_entry(
        &self,
        user_key: UserKey,
        value: UserValue,
        seqno: SeqNo,
        value_type: ValueType,
    ) -> (u64, u64) {
        let entry = InternalEntry::new(user_key, value, seqno, value_type);
        check_entry(&entry);
        self.write_tail(entry_bytes(&entry), |memtable| memtable.insert(entry))
    }

    /// Inserts a batch's entries into one memtable, with no sealing in between (see
    /// [`Self::write_tail`]), after checking every one of them.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for the first entry out of the limits; nothing is
    /// written.
    pub(crate) fn append_batch(&self, entries: Vec<InternalEntry>) -> Result<(u64, u64)> {
        self.append_changes(entries, Vec::new())
    }

    /// [`Self::append_batch`] with range tombstones too, all into one memtable (so that
    /// a flush never persists part of one seqno's changes).
    ///
    /// # Errors
    /// As [`Self::append_batch`], for entries and tombstones alike.
    pub(crate) fn append_changes(
        &self,
        entries: Vec<InternalEntry>,
        tombstones: Vec<RangeTombstone>,
    ) -> Result<(u64, u64)> {
        for entry in &entries {
            crate::argument::check_entry(entry)?;
        }
        for tombstone in &tombstones {
            crate::argument::check_range_tombstone(tombstone)?;
        }
        let bytes = entries.iter().map(entry_bytes).sum::<u64>()
            + tombstones
                .iter()
                .map(|tombstone| (tombstone.start.len() + tombstone.end.len()) as u64)
                .sum::<u64>();
        Ok(self.write_tail(bytes, |memtable| {
            let (mut added, mut size) = (0, memtable.approximate_size());
            for entry in entries {
                let (entry_added, memtable_size) = memtable.insert(entry);
                added += entry_added;
                size = memtable_size;
            }
            for tombstone in tombstones {
                let (tombstone_added, memtable_size) = memtable.insert_range_tombstone(tombstone);
                added += tombstone_added;
                size = memtable_size;
            }
            (added, size)
        }))
    }

    /// Writes a range tombstone into the active memtable (see [`Self::write_tail`]);
    /// returns the bytes added.
    ///
    /// # Panics
    /// When a bound is longer than 65,535 bytes or the seqno is above [`crate::MAX_SEQNO`].
    pub(crate) fn insert_range_tombstone(&self, tombstone: RangeTombstone) -> u64 {
        match self.append_changes(Vec::new(), vec![tombstone]) {
            Ok((added, _)) => added,
            Err(error) => panic!("{error}"),
        }
    }

    /// The lowest seqno held in memory (the active and sealed memtables), if any: every
    /// write of the tree below it is in tables (memtables are flushed oldest first).
    pub(crate) fn lowest_memory_seqno(&self) -> Option<SeqNo> {
        self.published.peek(|current| {
            current
                .memtables()
                .filter_map(|memtable| memtable.lowest_seqno())
                .min()
        })
    }

    /// Bytes held in memtables: the active one's, and all of them.
    pub(crate) fn memory_bytes(&self) -> (u64, u64) {
        self.published.peek(|current| {
            let active = current.active.approximate_size();
            let sealed: u64 = current
                .sealed
                .iter()
                .map(|memtable| memtable.approximate_size())
                .sum();
            (active, active + sealed)
        })
    }

    /// Seals the active memtable and wakes the flush thread (for an owner that flushes
    /// trees to keep their shared memory or log in bounds). Without background
    /// maintenance the memtable stays sealed until a flush.
    pub(crate) fn request_flush(&self) {
        self.rotate();
        if let Some(background) = &self.background {
            background.request_flush();
        }
    }

    /// What the background threads have waiting, as write admission sees it.
    fn backlog(&self) -> Backlog {
        self.published.peek(|current| Backlog {
            sealed_memtables: current.sealed.len(),
            l0_runs: current
                .version
                .levels()
                .first()
                .map_or(0, |level| level.runs().len()),
            poisoned: self.health.is_poisoned(),
        })
    }

    /// Makes `edit` durable, with the blob values it kills credited (and blob files
    /// left without a live value removed); returns the new version. A failure poisons
    /// the tree.
    pub(crate) fn apply_edit(&self, edit: &VersionEdit) -> Result<Arc<Version>> {
        self.health.check()?;
        let mut manifest = self.manifest.lock().unwrap_or_else(PoisonError::into_inner);
        let mut edit = edit.clone();
        edit.credit_blob_garbage(manifest.version());
        edit.next_blob_file_id = edit.next_blob_file_id.max(self.ids.next_blob_file());
        match manifest.apply(&edit) {
            Ok(version) => Ok(Arc::new(version.clone())),
            Err(error) => {
                self.health.poison();
                tracing::error!(%error, "manifest write failed; the tree is poisoned");
                Err(error.into())
            }
        }
    }

    /// The merge operator as the streams' merge function.
    pub(crate) fn merge_fn(&self) -> Option<lsm_core::mvcc::MergeFn<Error>> {
        self.config
            .merge_operator
            .as_ref()
            .map(crate::merge_operator::merge_fn)
    }

    /// Takes the flush lock.
    pub(crate) fn flush_lock(&self) -> FlushGuard<'_> {
        self.flush_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Tree {
    /// Whether a compaction job runs right now.
    #[doc(hidden)]
    #[must_use]
    pub fn is_compacting(&self) -> bool {
        self.jobs.any_running()
    }

    /// The sum of one pinned figure over the live tables.
    fn pinned_table_bytes(&self, bytes: impl Fn(&lsm_table::Table) -> u64) -> usize {
        let total: u64 = self
            .super_version()
            .tables
            .values()
            .map(|live| bytes(&live.table))
            .sum();
        usize::try_from(total).unwrap_or(usize::MAX)
    }
}

impl crate::abstract_tree::sealed::Sealed for Tree {}

impl AbstractTree for Tree {
    fn insert<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        value: V,
        seqno: SeqNo,
    ) -> (u64, u64) {
        self.insert_entry(key.into(), value.into(), seqno, ValueType::Value)
    }

    fn remove<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> (u64, u64) {
        self.insert_entry(key.into(), UserValue::empty(), seqno, ValueType::Tombstone)
    }

    fn remove_weak<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> (u64, u64) {
        self.insert_entry(
            key.into(),
            UserValue::empty(),
            seqno,
            ValueType::WeakTombstone,
        )
    }

    fn apply_batch(&self, batch: WriteBatch, seqno: SeqNo) -> Result<(u64, u64)> {
        self.write_admission()?;
        crate::argument::check_seqno(seqno)?;
        let entries = batch.into_entries(seqno, self.config.merge_operator.as_deref())?;
        // Every entry is checked before any is written: a bad one writes none.
        let written = self.append_batch(entries)?;
        // Published after the whole batch: readers at the visible seqno see all or none.
        self.config.visible_seqno.fetch_max(seqno + 1);
        Ok(written)
    }

    fn tombstone_count(&self) -> u64 {
        self.super_version()
            .tables
            .values()
            .map(|live| {
                let properties = live.table.properties();
                properties.tombstone_count + properties.weak_tombstone_count
            })
            .sum()
    }

    fn weak_tombstone_count(&self) -> u64 {
        self.super_version()
            .tables
            .values()
            .map(|live| live.table.properties().weak_tombstone_count)
            .sum()
    }

    fn weak_tombstone_reclaimable_count(&self) -> u64 {
        // A weak tombstone with its value right below it in the same table: the next
        // compaction of that table drops both. Only tables with weak tombstones are read.
        let current = self.super_version();
        let mut reclaimable = 0;
        for live in current.tables.values() {
            if live.table.properties().weak_tombstone_count == 0 {
                continue;
            }
            let mut previous: Option<InternalEntry> = None;
            for entry in live.table.iter(SeqNo::MAX) {
                let Ok(entry) = entry else { break };
                if let Some(weak) = &previous
                    && weak.key.value_type == ValueType::WeakTombstone
                    && weak.key.user_key == entry.key.user_key
                    && entry.key.value_type == ValueType::Value
                {
                    reclaimable += 1;
                }
                previous = Some(entry);
            }
        }
        reclaimable
    }

    fn write_admission(&self) -> Result<()> {
        self.health.check()?;
        if let Some(error) = self
            .background
            .as_ref()
            .and_then(|background| background.take_error())
        {
            return Err(error);
        }
        self.storage_gate()
    }

    fn is_read_only(&self) -> bool {
        self.storage_gate().is_err()
    }

    fn runtime_config(&self) -> Arc<crate::RuntimeConfig> {
        self.runtime.load_full()
    }

    fn update_runtime_config<F: FnOnce(&mut crate::RuntimeConfig)>(&self, change: F) -> Result<()> {
        self.update_runtime(change)
    }

    fn remove_range<K: Into<UserKey>>(&self, start: K, end: K, seqno: SeqNo) -> u64 {
        let order = self.config.key_order();
        let Some(tombstone) = RangeTombstone::new(order, start.into(), end.into(), seqno) else {
            return 0;
        };
        self.insert_range_tombstone(tombstone)
    }

    fn remove_prefix<K: AsRef<[u8]>>(&self, prefix: K, seqno: SeqNo) -> u64 {
        let prefix = prefix.as_ref();
        if prefix.is_empty() {
            return 0;
        }
        if self.config.key_order().is_lexicographic() {
            return match read::prefix_bounds(prefix).1 {
                std::ops::Bound::Excluded(end) => {
                    self.remove_range(UserKey::new(prefix), end, seqno)
                }
                _ => 0,
            };
        }
        let keys: Result<Vec<UserKey>> = self
            .prefix(prefix, seqno, None)
            .map(crate::Guard::key)
            .collect();
        match keys {
            Ok(keys) => keys.into_iter().map(|key| self.remove(key, seqno).0).sum(),
            Err(error) => {
                tracing::error!(%error, "remove_prefix: reading the keys failed; nothing deleted");
                0
            }
        }
    }

    fn merge<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        operand: V,
        seqno: SeqNo,
    ) -> (u64, u64) {
        self.insert_entry(key.into(), operand.into(), seqno, ValueType::MergeOperand)
    }

    fn get<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<UserValue>> {
        let super_version = self.super_version_at(seqno);
        Ok(
            read::get_value(&super_version, key.as_ref(), seqno, self.merge_fn())?
                .map(|(value, _)| value),
        )
    }

    fn get_pinned<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<PinnableSlice>> {
        let super_version = self.super_version_at(seqno);
        let found = read::get_value(&super_version, key.as_ref(), seqno, self.merge_fn())?;
        Ok(found.map(|(value, origin)| match origin {
            read::Origin::Memtable | read::Origin::Blob => PinnableSlice::owned(value),
            read::Origin::Table => PinnableSlice::pinned(value),
        }))
    }

    fn multi_get<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
        seqno: SeqNo,
    ) -> Result<Vec<Option<UserValue>>> {
        let super_version = self.super_version_at(seqno);
        let merge = self.merge_fn();
        keys.into_iter()
            .map(|key| {
                let found = read::get_value(&super_version, key.as_ref(), seqno, merge.clone())?;
                Ok(found.map(|(value, _)| value))
            })
            .collect()
    }

    fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
        index: Index,
    ) -> IterBox {
        read::scan_bounds(
            self.super_version_at(seqno),
            read::owned_bounds(&range),
            seqno,
            index,
            self.merge_fn(),
            &self.read_options,
        )
    }

    fn range_seekable<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
        index: Index,
    ) -> Box<dyn crate::SeekableGuardIter + 'static> {
        Box::new(crate::seekable::Seekable::new(
            self.snapshot(seqno, index),
            read::owned_bounds(&range),
        ))
    }

    fn batch_range_scan<K, R, I>(
        &self,
        intervals: I,
        seqno: SeqNo,
        index: Index,
    ) -> Box<dyn Iterator<Item = crate::IterGuardImpl> + Send + 'static>
    where
        K: AsRef<[u8]>,
        R: RangeBounds<K> + 'static,
        I: IntoIterator<Item = R>,
        I::IntoIter: Send + 'static,
    {
        let intervals = intervals
            .into_iter()
            .map(|range| read::owned_bounds(&range));
        crate::seekable::batch_scan(self.snapshot(seqno, index), intervals)
    }

    fn prefix<K: AsRef<[u8]>>(&self, prefix: K, seqno: SeqNo, index: Index) -> IterBox {
        let shape = read::Shape::prefix(self.config.key_order(), prefix.as_ref());
        let probe = PrefixProbe::for_prefix(&self.read_options, prefix.as_ref());
        read::scan(
            self.super_version_at(seqno),
            shape,
            seqno,
            index,
            self.merge_fn(),
            probe.as_ref(),
        )
    }

    fn rotate_memtable(&self) -> Option<Arc<Memtable>> {
        self.rotate()
    }

    fn sealed_memtable_count(&self) -> usize {
        self.super_version().sealed.len()
    }

    fn active_memtable(&self) -> Arc<Memtable> {
        Arc::clone(&self.super_version().active)
    }

    fn get_flush_lock(&self) -> FlushGuard<'_> {
        self.flush_lock()
    }

    fn flush(&self, lock: &FlushGuard<'_>, seqno_threshold: SeqNo) -> Result<Option<u64>> {
        self.flush_sealed(lock, seqno_threshold)
    }

    fn compact(
        &self,
        strategy: Arc<dyn CompactionStrategy>,
        seqno_threshold: SeqNo,
    ) -> Result<CompactionResult> {
        let result = TreeInner::compact(self, strategy.as_ref(), seqno_threshold, Wait::ForFree);
        if let Some(background) = &self.background {
            // Background steps start no job while a caller waits: let them look again.
            background.request_compaction();
        }
        result
    }

    fn compaction_debt(&self, strategy: &dyn CompactionStrategy) -> u64 {
        strategy.pending_compaction_bytes(&self.super_version().version)
    }

    fn rotation_debt(&self) -> u64 {
        let current = self.super_version();
        let stale_tables = current.stale_key_tables();
        let stale_blob_files = current.stale_key_blob_files();
        let tables: u64 = current
            .version
            .tables()
            .filter(|meta| stale_tables.contains(&meta.id))
            .map(|meta| meta.size_bytes)
            .sum();
        let blob_files: u64 = current
            .version
            .blob_files()
            .values()
            .filter(|info| stale_blob_files.contains(&info.id))
            .map(|info| info.file_len)
            .sum();
        tables + blob_files
    }

    fn set_compaction_rate_limit(&self, bytes_per_sec: u64) {
        self.rate_limiter.set_rate(bytes_per_sec);
    }

    fn drop_range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<()> {
        TreeInner::drop_range(self, &read::owned_bounds(&range))
    }

    fn clear(&self) -> Result<()> {
        TreeInner::clear(self)
    }

    fn create_checkpoint(&self, target_path: &Path) -> Result<CheckpointInfo> {
        TreeInner::create_checkpoint(self, target_path)
    }

    fn get_highest_memtable_seqno(&self) -> Option<SeqNo> {
        self.super_version()
            .memtables()
            .filter(|memtable| !memtable.is_empty())
            .map(|memtable| memtable.highest_seqno())
            .max()
    }

    fn get_highest_persisted_seqno(&self) -> Option<SeqNo> {
        let version = Arc::clone(&self.super_version().version);
        (version.table_count() > 0 || version.last_seqno() > 0).then(|| version.last_seqno())
    }

    fn verify_checksum_with(
        &self,
        options: &crate::verify::VerifyOptions,
    ) -> crate::verify::BlockVerifyReport {
        crate::verify::scrub(self, options, &|_| {})
    }

    fn verify_integrity_with(
        &self,
        options: &crate::verify::VerifyOptions,
    ) -> crate::verify::IntegrityReport {
        crate::verify::integrity(self, options, &|_| {})
    }

    fn verify_integrity_with_progress(
        &self,
        options: &crate::verify::VerifyOptions,
        progress: &(dyn Fn(&crate::verify::VerifyProgress) + Sync),
    ) -> crate::verify::IntegrityReport {
        crate::verify::integrity(self, options, progress)
    }

    fn current_version(&self) -> Version {
        (*self.super_version().version).clone()
    }

    fn id(&self) -> TreeId {
        self.id
    }

    fn key_versions(&self, key: &[u8]) -> Result<Vec<read::KeyVersion>> {
        read::key_versions(&self.super_version(), key)
    }

    fn get_internal_entry(&self, key: &[u8], seqno: SeqNo) -> Result<Option<InternalEntry>> {
        let super_version = self.super_version_at(seqno);
        Ok(read::get_entry(&super_version, key, seqno)?.map(|(entry, _)| entry))
    }

    fn table_count(&self) -> usize {
        self.super_version().version.table_count()
    }

    fn level_table_count(&self, idx: usize) -> Option<usize> {
        self.super_version()
            .version
            .levels()
            .get(idx)
            .map(Level::table_count)
    }

    fn l0_run_count(&self) -> usize {
        self.super_version()
            .version
            .levels()
            .first()
            .map_or(0, |level| level.runs().len())
    }

    fn disk_space(&self) -> u64 {
        self.files_bytes()
    }

    fn size_of<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<u32>> {
        let super_version = self.super_version_at(seqno);
        read::size_of(&super_version, key.as_ref(), seqno, self.merge_fn())
    }

    fn blob_file_count(&self) -> usize {
        self.super_version().version.blob_file_count()
    }

    fn stale_blob_bytes(&self) -> u64 {
        self.super_version().version.stale_blob_bytes()
    }

    fn filter_size(&self) -> u64 {
        self.super_version()
            .tables
            .values()
            .map(|live| live.table.properties().filter_bytes_stored)
            .sum()
    }

    fn pinned_filter_size(&self) -> usize {
        self.pinned_table_bytes(lsm_table::Table::pinned_filter_bytes)
    }

    fn pinned_locator_size(&self) -> usize {
        self.pinned_table_bytes(lsm_table::Table::pinned_locator_bytes)
    }

    fn metrics(&self) -> &Arc<crate::Metrics> {
        &self.0.metrics
    }

    fn storage_stats(&self) -> Result<crate::StorageStats> {
        self.0.storage_stats()
    }

    fn level_segment_stats(&self) -> Result<Vec<crate::LevelStats>> {
        Ok(self.0.level_segment_stats())
    }

    fn approximate_range_stats<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
    ) -> Result<crate::ApproximateRangeStats> {
        let bounds = read::owned_bounds(&range);
        self.0.approximate_range_stats(&bounds, seqno)
    }

    fn approximate_range_cardinality<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
    ) -> Result<crate::RangeCardinality> {
        let bounds = read::owned_bounds(&range);
        self.0.approximate_range_cardinality(&bounds, seqno)
    }

    fn cache_stats(&self) -> crate::CacheStats {
        let cache = &self.config.cache;
        let stats = cache.stats();
        crate::CacheStats {
            hits: stats.hits,
            misses: stats.misses,
            hit_rate: lsm_core::read_counters::ratio(stats.hits, stats.hits + stats.misses),
            size_bytes: stats.used_bytes,
            capacity_bytes: cache.capacity(),
        }
    }

    fn filter_counters(&self) -> lsm_table::FilterCounters {
        // The tree's tables count in its shared read counters.
        let counts = self.metrics.read_counts();
        lsm_table::FilterCounters {
            rejected: counts.filter_rejected,
            passed_absent: counts.filter_passed_absent,
            prefix_rejected: counts.prefix_rejected,
        }
    }

    fn approximate_len(&self) -> usize {
        let super_version = self.super_version();
        let in_memory: usize = super_version
            .memtables()
            .map(|memtable| memtable.len())
            .sum();
        let on_disk: u64 = super_version
            .version
            .tables()
            .map(|meta| meta.entry_count)
            .sum();
        in_memory.saturating_add(usize::try_from(on_disk).unwrap_or(usize::MAX))
    }

    /// [`TreeType::Blob`] when the tree separates values (also for the index tree
    /// of a [`crate::BlobTree`]).
    fn tree_type(&self) -> TreeType {
        if self.config.kv_separation_opts.is_some() {
            TreeType::Blob
        } else {
            TreeType::Standard
        }
    }
}
