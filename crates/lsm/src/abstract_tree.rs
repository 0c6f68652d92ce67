//! [`AbstractTree`]: the operations every tree type offers.
//!
//! Reads take a read seqno and see versions with seqnos strictly below it; writes take
//! the seqno to write at. The trait is sealed: the engine's own tree types implement it.

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use lsm_core::{SeqNo, UserKey, UserValue};
use lsm_memtable::Memtable;
use lsm_table::FilterCounters;

use crate::compaction::{CompactionResult, CompactionStrategy};
use crate::guard::{Guard, IterGuardImpl, PinnableSlice};
use crate::read::{Index, IterBox};
use crate::{CheckpointInfo, Result, WriteBatch};

/// The guard of a tree's flush lock.
pub type FlushGuard<'a> = std::sync::MutexGuard<'a, ()>;

pub(crate) mod sealed {
    /// Keeps [`super::AbstractTree`] implemented by this crate only.
    pub trait Sealed {}
}

/// What kind of tree a tree is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TreeType {
    /// Values are stored in the tables.
    Standard,
    /// Large values are stored in blob files.
    Blob,
}

impl From<TreeType> for u8 {
    fn from(tree_type: TreeType) -> Self {
        match tree_type {
            TreeType::Standard => 0,
            TreeType::Blob => 1,
        }
    }
}

/// The operations of a tree; see the module docs.
pub trait AbstractTree: sealed::Sealed {
    /// Writes `key` = `value` at `seqno`; returns the bytes added and the active
    /// memtable's new size.
    ///
    /// # Panics
    /// On an empty key, a key above 65,535 bytes, a value above `u32::MAX` bytes or a
    /// seqno above [`crate::MAX_SEQNO`] ([`Self::try_insert`] returns an error instead).
    fn insert<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        value: V,
        seqno: SeqNo,
    ) -> (u64, u64);

    /// Deletes every key in `start..end` at `seqno` with one range tombstone; returns the
    /// bytes it added to the memtable (0, and nothing written, when `start >= end`). The
    /// empty start key is valid: it covers from the smallest key.
    ///
    /// # Panics
    /// When a bound is longer than 65,535 bytes or the seqno is above
    /// [`crate::MAX_SEQNO`] ([`Self::try_remove_range`] returns an error instead).
    fn remove_range<K: Into<UserKey>>(&self, start: K, end: K, seqno: SeqNo) -> u64;

    /// As [`Self::remove_range`], refused on a poisoned tree and checked instead of
    /// panicking.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] when a bound is longer than 65,535 bytes or the
    /// seqno is above [`crate::MAX_SEQNO`] (nothing is written); as
    /// [`Self::write_admission`].
    fn try_remove_range<K: Into<UserKey>>(&self, start: K, end: K, seqno: SeqNo) -> Result<u64> {
        self.write_admission()?;
        let (start, end) = (start.into(), end.into());
        crate::argument::check_range(&start, &end, seqno)?;
        Ok(self.remove_range(start, end, seqno))
    }

    /// Deletes every key starting with `prefix` at `seqno` with one range tombstone;
    /// returns the bytes added (0, and nothing written, for an empty prefix or one of
    /// only `0xFF` bytes, which no finite range bounds).
    ///
    /// Under a custom comparator (see [`crate::Config::comparator`]) a prefix's keys need
    /// not be contiguous, so no range covers them: each key with the prefix that a read
    /// at `seqno` sees gets a tombstone at `seqno` instead. When that read fails, nothing
    /// is written and 0 is returned (the error is logged).
    ///
    /// # Panics
    /// As [`Self::remove_range`].
    fn remove_prefix<K: AsRef<[u8]>>(&self, prefix: K, seqno: SeqNo) -> u64;

    /// Writes a merge operand for `key` at `seqno` (see [`crate::MergeOperator`]).
    ///
    /// # Panics
    /// As [`Self::insert`].
    fn merge<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        operand: V,
        seqno: SeqNo,
    ) -> (u64, u64);

    /// As [`Self::merge`], refused on a poisoned tree and checked instead of panicking.
    ///
    /// # Errors
    /// As [`Self::try_insert`].
    fn try_merge<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        operand: V,
        seqno: SeqNo,
    ) -> Result<(u64, u64)> {
        self.write_admission()?;
        let (key, operand) = (key.into(), operand.into());
        crate::argument::check_write(&key, &operand, seqno)?;
        Ok(self.merge(key, operand, seqno))
    }

    /// Deletes `key` at `seqno` (hiding every older version).
    ///
    /// # Panics
    /// As [`Self::insert`].
    fn remove<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> (u64, u64);

    /// Deletes `key` at `seqno` with a weak (single) tombstone, for keys written once:
    /// reads treat it as a tombstone; compaction may drop it with the one value it hides.
    ///
    /// # Panics
    /// As [`Self::insert`].
    #[doc(hidden)]
    fn remove_weak<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> (u64, u64);

    /// As [`Self::insert`], refused on a poisoned tree and checked instead of panicking.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for an empty key, a key above 65,535 bytes, a
    /// value above `u32::MAX` bytes or a seqno above [`crate::MAX_SEQNO`] (nothing is
    /// written); [`crate::Error::Unrecoverable`] on a poisoned tree.
    fn try_insert<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        value: V,
        seqno: SeqNo,
    ) -> Result<(u64, u64)> {
        self.write_admission()?;
        let (key, value) = (key.into(), value.into());
        crate::argument::check_write(&key, &value, seqno)?;
        Ok(self.insert(key, value, seqno))
    }

    /// As [`Self::remove`], refused on a poisoned tree and checked instead of panicking.
    ///
    /// # Errors
    /// As [`Self::try_insert`].
    fn try_remove<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> Result<(u64, u64)> {
        self.write_admission()?;
        let key = key.into();
        crate::argument::check_write(&key, &[], seqno)?;
        Ok(self.remove(key, seqno))
    }

    /// As [`Self::remove_weak`], refused on a poisoned tree and checked instead of
    /// panicking.
    ///
    /// # Errors
    /// As [`Self::try_insert`].
    fn try_remove_weak<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> Result<(u64, u64)> {
        self.write_admission()?;
        let key = key.into();
        crate::argument::check_write(&key, &[], seqno)?;
        Ok(self.remove_weak(key, seqno))
    }

    /// Writes every entry of `batch` at `seqno` (see [`WriteBatch`]) and publishes the
    /// visible seqno past it; returns the bytes added and the active memtable's size.
    ///
    /// # Errors
    /// [`crate::Error::MixedOperationBatch`] when one key takes different kinds of
    /// operation; [`crate::Error::InvalidArgument`] when any entry is out of the limits of
    /// [`Self::try_insert`] (or the seqno is); the merge operator's error when folding
    /// repeated merges of a key fails; as [`Self::write_admission`]. On any error nothing
    /// of the batch is written.
    fn apply_batch(&self, batch: WriteBatch, seqno: SeqNo) -> Result<(u64, u64)>;

    /// Tombstones (strong and weak) in the tree's tables.
    fn tombstone_count(&self) -> u64;

    /// Weak tombstones in the tree's tables.
    fn weak_tombstone_count(&self) -> u64;

    /// Weak tombstones whose value sits right below them in the same table, which the
    /// next compaction of that table drops together (reads the tables that hold weak
    /// tombstones).
    fn weak_tombstone_reclaimable_count(&self) -> u64;

    /// Whether the tree accepts writes.
    ///
    /// # Errors
    /// [`crate::Error::Unrecoverable`] after a failed flush or manifest write; an error
    /// of background maintenance; [`crate::Error::StorageFull`] while the storage gate
    /// ([`crate::RuntimeConfig::storage_admission_check`]) finds no room.
    fn write_admission(&self) -> Result<()>;

    /// Whether the storage gate refuses writes now (always false with the gate off).
    fn is_read_only(&self) -> bool;

    /// The settings in force that can change while the tree runs.
    fn runtime_config(&self) -> Arc<crate::RuntimeConfig>;

    /// Changes the runtime settings: `change` edits a copy, which is checked and
    /// swapped in whole; the next write, flush or compaction uses it. Not persisted (a
    /// reopen starts from [`crate::Config::with_runtime_config`]).
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] for settings that do not validate (nothing
    /// changes).
    fn update_runtime_config<F: FnOnce(&mut crate::RuntimeConfig)>(&self, change: F) -> Result<()>;

    /// The value of `key` at `seqno`.
    ///
    /// # Errors
    /// I/O and corruption errors of the tables read.
    fn get<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<UserValue>>;

    /// As [`Self::get`], telling whether the value is a view into a table block.
    ///
    /// # Errors
    /// As [`Self::get`].
    fn get_pinned<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<PinnableSlice>>;

    /// The values of `keys`, all read from one snapshot.
    ///
    /// # Errors
    /// As [`Self::get`].
    fn multi_get<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
        seqno: SeqNo,
    ) -> Result<Vec<Option<UserValue>>>;

    /// Whether `key` has a value at `seqno`.
    ///
    /// # Errors
    /// As [`Self::get`].
    fn contains_key<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<bool> {
        self.get(key, seqno).map(|value| value.is_some())
    }

    /// The length of `key`'s value at `seqno`.
    ///
    /// # Errors
    /// As [`Self::get`].
    fn size_of<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<u32>> {
        Ok(self
            .get(key, seqno)?
            .map(|value| crate::guard::value_len(&value)))
    }

    /// Every key-value pair at `seqno`, from both ends.
    fn iter(&self, seqno: SeqNo, index: Index) -> IterBox {
        self.range::<&[u8], _>(.., seqno, index)
    }

    /// Whether a key starting with `prefix` is visible at `seqno` (values are not read).
    /// With a prefix extractor, tables whose prefix filter proves the prefix absent are
    /// not read.
    ///
    /// # Errors
    /// I/O and corruption errors of the tables read.
    fn contains_prefix<K: AsRef<[u8]>>(
        &self,
        prefix: K,
        seqno: SeqNo,
        index: Index,
    ) -> Result<bool> {
        match self.prefix(prefix, seqno, index).next() {
            None => Ok(false),
            Some(item) => Guard::key(item).map(|_| true),
        }
    }

    /// The pairs with keys in `range` at `seqno`, from both ends; the iterator pins its
    /// snapshot (files it may read stay until it drops).
    fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
        index: Index,
    ) -> IterBox;

    /// The pairs with keys starting with `prefix` at `seqno`, from both ends.
    fn prefix<K: AsRef<[u8]>>(&self, prefix: K, seqno: SeqNo, index: Index) -> IterBox;

    /// The pairs with keys in `range` at `seqno`, from both ends, in an iterator that
    /// repositions in place ([`crate::SeekableGuardIter::seek_to`],
    /// [`crate::SeekableGuardIter::seek_to_for_prev`]) and peeks the next key, reading
    /// the snapshot taken here throughout (see [`crate::seekable`]).
    fn range_seekable<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
        index: Index,
    ) -> Box<dyn crate::SeekableGuardIter + 'static>;

    /// The pairs of every interval of `intervals` at `seqno`, interval after interval in
    /// the order given (ascending disjoint intervals give ascending keys), all from the
    /// snapshot taken here; intervals are drawn lazily, as the scan reaches them.
    fn batch_range_scan<K, R, I>(
        &self,
        intervals: I,
        seqno: SeqNo,
        index: Index,
    ) -> Box<dyn Iterator<Item = IterGuardImpl> + Send + 'static>
    where
        K: AsRef<[u8]>,
        R: RangeBounds<K> + 'static,
        I: IntoIterator<Item = R>,
        I::IntoIter: Send + 'static;

    /// The pair with the smallest key at `seqno`.
    fn first_key_value(&self, seqno: SeqNo, index: Index) -> Option<IterGuardImpl> {
        self.iter(seqno, index).next()
    }

    /// The pair with the largest key at `seqno`.
    fn last_key_value(&self, seqno: SeqNo, index: Index) -> Option<IterGuardImpl> {
        self.iter(seqno, index).next_back()
    }

    /// Keys with a value at `seqno` (a full scan).
    ///
    /// # Errors
    /// As [`Self::get`].
    fn len(&self, seqno: SeqNo, index: Index) -> Result<usize> {
        let mut count = 0;
        for item in self.iter(seqno, index) {
            item.key()?;
            count += 1;
        }
        Ok(count)
    }

    /// Whether no key has a value at `seqno`.
    ///
    /// # Errors
    /// As [`Self::get`].
    fn is_empty(&self, seqno: SeqNo, index: Index) -> Result<bool> {
        match self.first_key_value(seqno, index) {
            Some(item) => item.key().map(|_| false),
            None => Ok(true),
        }
    }

    /// Seals the active memtable (when it holds anything); returns it.
    fn rotate_memtable(&self) -> Option<Arc<Memtable>>;

    /// Sealed memtables waiting for a flush.
    fn sealed_memtable_count(&self) -> usize;

    /// The active memtable.
    fn active_memtable(&self) -> Arc<Memtable>;

    /// The flush lock, held across [`Self::flush`].
    fn get_flush_lock(&self) -> FlushGuard<'_>;

    /// Flushes every sealed memtable into a new level-0 run, dropping versions that no
    /// read at or above `seqno_threshold` can see; returns the bytes written, or `None`
    /// when nothing was sealed.
    ///
    /// # Errors
    /// [`crate::Error::Unrecoverable`] on a poisoned tree; I/O and table errors (nothing
    /// is lost: the memtables stay readable); manifest errors (which poison the tree).
    fn flush(&self, lock: &FlushGuard<'_>, seqno_threshold: SeqNo) -> Result<Option<u64>>;

    /// Seals the active memtable and flushes everything sealed; on return every write
    /// made before the call is durable.
    ///
    /// # Errors
    /// As [`Self::flush`].
    #[doc(hidden)]
    fn flush_active_memtable(&self, eviction_seqno: SeqNo) -> Result<()> {
        let lock = self.get_flush_lock();
        self.rotate_memtable();
        self.flush(&lock, eviction_seqno).map(|_| ())
    }

    /// Runs one compaction step chosen by `strategy`, dropping versions that no read at
    /// or above `seqno_threshold` can see (0: keep every version). The step runs beside
    /// the jobs already running on other tables; when the strategy finds nothing to do
    /// but jobs run, it waits for them and asks again. Takes the flush lock to install:
    /// do not call it while holding that lock.
    ///
    /// # Errors
    /// [`crate::Error::InvalidCompactionChoice`] when the strategy's choice would break
    /// the tree (nothing is done); [`crate::Error::Unrecoverable`]; I/O, table and
    /// manifest errors (a failed merge deletes its outputs; inputs stay).
    fn compact(
        &self,
        strategy: Arc<dyn CompactionStrategy>,
        seqno_threshold: SeqNo,
    ) -> Result<CompactionResult>;

    /// Merges every table into the last level in tables of about `target_size` bytes,
    /// dropping versions no read at or above `seqno_threshold` can see. Takes the flush
    /// lock.
    ///
    /// # Errors
    /// As [`Self::compact`].
    fn major_compact(&self, target_size: u64, seqno_threshold: SeqNo) -> Result<CompactionResult> {
        self.compact(
            Arc::new(crate::compaction::Major::new(target_size)),
            seqno_threshold,
        )
    }

    /// Bytes `strategy` would still rewrite to bring the tree within its targets.
    fn compaction_debt(&self, strategy: &dyn CompactionStrategy) -> u64;

    /// Bytes of tables and blob files still under an older key epoch (see
    /// [`crate::encryption`]): compactions rewrite them under the current key when they
    /// have nothing else to do, and the older keys can go once this is 0.
    fn rotation_debt(&self) -> u64;

    /// Caps the bytes compaction writes per second from now on (0: no cap), as
    /// [`crate::Config::compaction_rate_limit`] does at open; running merges pick up
    /// the new rate within 50 ms.
    fn set_compaction_rate_limit(&self, bytes_per_sec: u64);

    /// Removes the tables whose keys all lie within `range` (memtables are untouched).
    /// Reads below the change keep their answers until a flush's GC watermark passes it.
    /// Takes the flush lock: do not call it while holding that lock.
    ///
    /// # Errors
    /// [`crate::Error::Unrecoverable`]; manifest errors.
    fn drop_range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<()>;

    /// Removes every memtable and table. Reads below the change keep their answers until
    /// a flush's GC watermark passes it. Takes the flush lock.
    ///
    /// # Errors
    /// As [`Self::drop_range`].
    fn clear(&self) -> Result<()>;

    /// Writes a checkpoint to `target_path` (which must not exist); see
    /// [`CheckpointInfo`]. Takes the flush lock.
    ///
    /// # Errors
    /// [`crate::Error::CheckpointTargetExists`]; flush, I/O and manifest errors.
    fn create_checkpoint(&self, target_path: &Path) -> Result<CheckpointInfo>;

    /// The highest seqno written, in memory or on disk.
    fn get_highest_seqno(&self) -> Option<SeqNo> {
        match (
            self.get_highest_memtable_seqno(),
            self.get_highest_persisted_seqno(),
        ) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The highest seqno in the memtables.
    fn get_highest_memtable_seqno(&self) -> Option<SeqNo>;

    /// The highest seqno made durable by a flush.
    fn get_highest_persisted_seqno(&self) -> Option<SeqNo>;

    /// Scrubs one snapshot of the tree: every block of every table and every frame of
    /// every blob file is read and checked (see [`crate::verify`]); writers are not
    /// blocked.
    fn verify_checksum(&self) -> crate::verify::BlockVerifyReport
    where
        Self: Sized,
    {
        self.verify_checksum_with(&crate::verify::VerifyOptions::default())
    }

    /// [`Self::verify_checksum`] with `options` (threads, a pause after each file).
    fn verify_checksum_with(
        &self,
        options: &crate::verify::VerifyOptions,
    ) -> crate::verify::BlockVerifyReport;

    /// [`Self::verify_checksum_with`], and the manifest replayed without changing it.
    fn verify_integrity_with(
        &self,
        options: &crate::verify::VerifyOptions,
    ) -> crate::verify::IntegrityReport;

    /// [`Self::verify_integrity_with`], calling `progress` after each file is checked
    /// (from the thread that checked it).
    fn verify_integrity_with_progress(
        &self,
        options: &crate::verify::VerifyOptions,
        progress: &(dyn Fn(&crate::verify::VerifyProgress) + Sync),
    ) -> crate::verify::IntegrityReport;

    /// The current version: each level's runs and their tables (key and seqno ranges,
    /// sizes, counts), and the blob files with their dead values (for tools that show
    /// the shape of a tree).
    fn current_version(&self) -> crate::version::Version;

    /// The tree's identity within this process.
    fn id(&self) -> crate::TreeId;

    /// The newest version of `key` below `seqno` as stored: tombstones, merge operands
    /// and (in a blob tree) the value's indirection included, range tombstones not
    /// applied; `None` when no version is visible. For tools and tests.
    #[doc(hidden)]
    fn get_internal_entry(&self, key: &[u8], seqno: SeqNo) -> Result<Option<crate::InternalValue>>;

    /// Every stored version of `key`, newest first: memtables, then each level's runs,
    /// each version with where it lives (range tombstones not applied; a separated
    /// value is its indirection). For debugging a key's history.
    #[doc(hidden)]
    fn key_versions(&self, key: &[u8]) -> Result<Vec<crate::read::KeyVersion>>;

    /// Logs [`Self::key_versions`] of `key` (a `tracing` event at info level per
    /// version: a library does not print).
    #[doc(hidden)]
    fn print_trace(&self, key: &[u8]) -> Result<()> {
        for version in self.key_versions(key)? {
            tracing::info!(
                key = ?version.entry.key.user_key,
                seqno = version.entry.key.seqno,
                value_type = ?version.entry.key.value_type,
                value_len = version.entry.value.len(),
                source = %version.source,
                "key version"
            );
        }
        Ok(())
    }

    /// Tables in the tree.
    fn table_count(&self) -> usize;

    /// Tables in level `idx`, or `None` past the last level.
    fn level_table_count(&self, idx: usize) -> Option<usize>;

    /// Level-0 runs.
    fn l0_run_count(&self) -> usize;

    /// Bytes of the tree's table and blob files.
    fn disk_space(&self) -> u64;

    /// Blob files in the tree (0 without key-value separation).
    fn blob_file_count(&self) -> usize {
        0
    }

    /// Value bytes in blob files that no table points to any more: what blob garbage
    /// collection can reclaim.
    fn stale_blob_bytes(&self) -> u64 {
        0
    }

    /// Stored bytes of every table's key filter (partitions included).
    fn filter_size(&self) -> u64;

    /// Bytes of filters held in memory while their tables are open (pinned filters).
    fn pinned_filter_size(&self) -> usize;

    /// Bytes of block locators held in memory while their tables are open (see
    /// [`crate::Config::locator_policy`]; a table's locator is kept only with its pinned
    /// index). Beyond the mirrored API.
    fn pinned_locator_size(&self) -> usize;

    /// What the tree's filters did since it opened: point reads they ruled out, point
    /// reads they let through that found nothing (a measured false-positive rate is
    /// `passed_absent / (rejected + passed_absent)` over reads of absent keys), and
    /// scans a prefix filter skipped; the same counts as [`Self::metrics`]. Beyond the
    /// mirrored API.
    fn filter_counters(&self) -> FilterCounters;

    /// The tree's counters since it opened: block loads and cache hits by kind of
    /// block, filter answers, blob reads, flushes, compactions and write stalls.
    fn metrics(&self) -> &Arc<crate::Metrics>;

    /// The block cache's hits, misses and size (of every tree sharing the cache).
    fn cache_stats(&self) -> crate::CacheStats;

    /// What the tree stores: bytes used and free, entries and tables, the average
    /// entry, what a compaction needs and could free, and a coarse status. Reads no
    /// data block.
    ///
    /// # Errors
    /// None today; kept for checks that read files.
    fn storage_stats(&self) -> Result<crate::StorageStats>;

    /// Bytes, entries and reads per level, with each table's.
    ///
    /// # Errors
    /// None today; kept for checks that read files.
    fn level_segment_stats(&self) -> Result<Vec<crate::LevelStats>>;

    /// An estimate of the bytes and entry versions of `range` as of `seqno`: tables
    /// wholly inside count whole, tables across a bound by the share of their data
    /// blocks that may hold keys in it (from their index blocks, no data block read),
    /// and the memtables' entries exactly.
    ///
    /// # Errors
    /// Reading a table's index blocks.
    fn approximate_range_stats<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
    ) -> Result<crate::ApproximateRangeStats>;

    /// [`Self::approximate_range_stats`]' entry count, and its share of the tree.
    ///
    /// # Errors
    /// As [`Self::approximate_range_stats`].
    fn approximate_range_cardinality<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
    ) -> Result<crate::RangeCardinality>;

    /// Entries in memtables and tables, counting every version and tombstone (cheap).
    fn approximate_len(&self) -> usize;

    /// What kind of tree this is.
    fn tree_type(&self) -> TreeType;
}
