//! [`AnyTree`]: the tree [`crate::Config::open`] returns, of whichever type the
//! configuration asks for.

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use lsm_core::{SeqNo, UserKey, UserValue};
use lsm_memtable::Memtable;

use crate::abstract_tree::FlushGuard;
use crate::abstract_tree::sealed::Sealed;
use crate::compaction::{CompactionResult, CompactionStrategy};
use crate::guard::PinnableSlice;
use crate::read::{Index, IterBox};
use crate::{AbstractTree, BlobTree, CheckpointInfo, Result, Tree, TreeType, WriteBatch};

/// A tree of any type.
#[derive(Clone, Debug)]
pub enum AnyTree {
    /// A standard tree.
    Standard(Tree),
    /// A tree that stores large values in blob files.
    Blob(BlobTree),
}

impl Sealed for AnyTree {}

impl AnyTree {
    /// [`Tree::scan_since_seqno`] of the tree inside.
    ///
    /// # Errors
    /// As [`Tree::scan_since_seqno`].
    pub fn scan_since_seqno(
        &self,
        target_seqno: SeqNo,
    ) -> Result<impl Iterator<Item = crate::ScanSinceEvent> + use<>> {
        self.index_tree().scan_since_seqno(target_seqno)
    }

    /// [`Tree::scan_since_seqno_full_scan`] of the tree inside.
    ///
    /// # Errors
    /// As [`Tree::scan_since_seqno`].
    pub fn scan_since_seqno_full_scan(
        &self,
        target_seqno: SeqNo,
    ) -> Result<impl Iterator<Item = crate::ScanSinceEvent> + use<>> {
        self.index_tree().scan_since_seqno_full_scan(target_seqno)
    }

    /// [`Tree::oldest_exact_seqno`] of the tree inside.
    #[must_use]
    pub fn oldest_exact_seqno(&self) -> SeqNo {
        self.index_tree().oldest_exact_seqno()
    }

    /// The tree that holds the keys.
    pub(crate) fn index_tree(&self) -> &Tree {
        match self {
            Self::Standard(tree) => tree,
            Self::Blob(tree) => &tree.index,
        }
    }
}

/// Forwards a call to the tree inside.
macro_rules! forward_any {
    ($self:ident, $tree:ident => $call:expr) => {
        match $self {
            AnyTree::Standard($tree) => $call,
            AnyTree::Blob($tree) => $call,
        }
    };
}

/// Forwards a call to the index tree of a blob tree.
macro_rules! forward_index {
    ($self:ident, $tree:ident => $call:expr) => {{
        let $tree = &$self.index;
        $call
    }};
}

/// Implements [`AbstractTree`] for `$ty` by forwarding every method with `$forward`.
macro_rules! forwarding_impl {
    ($ty:ty, $forward:ident) => {
        impl AbstractTree for $ty {

    fn insert<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        value: V,
        seqno: SeqNo,
    ) -> (u64, u64) {
        $forward!(self, tree => tree.insert(key, value, seqno))
    }

    fn remove_range<K: Into<UserKey>>(&self, start: K, end: K, seqno: SeqNo) -> u64 {
        $forward!(self, tree => tree.remove_range(start, end, seqno))
    }

    fn remove_prefix<K: AsRef<[u8]>>(&self, prefix: K, seqno: SeqNo) -> u64 {
        $forward!(self, tree => tree.remove_prefix(prefix, seqno))
    }

    fn merge<K: Into<UserKey>, V: Into<UserValue>>(
        &self,
        key: K,
        operand: V,
        seqno: SeqNo,
    ) -> (u64, u64) {
        $forward!(self, tree => tree.merge(key, operand, seqno))
    }

    fn remove<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> (u64, u64) {
        $forward!(self, tree => tree.remove(key, seqno))
    }

    fn remove_weak<K: Into<UserKey>>(&self, key: K, seqno: SeqNo) -> (u64, u64) {
        $forward!(self, tree => tree.remove_weak(key, seqno))
    }

    fn apply_batch(&self, batch: WriteBatch, seqno: SeqNo) -> Result<(u64, u64)> {
        $forward!(self, tree => tree.apply_batch(batch, seqno))
    }

    fn tombstone_count(&self) -> u64 {
        $forward!(self, tree => tree.tombstone_count())
    }

    fn weak_tombstone_count(&self) -> u64 {
        $forward!(self, tree => tree.weak_tombstone_count())
    }

    fn weak_tombstone_reclaimable_count(&self) -> u64 {
        $forward!(self, tree => tree.weak_tombstone_reclaimable_count())
    }

    fn write_admission(&self) -> Result<()> {
        $forward!(self, tree => tree.write_admission())
    }

    fn get<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<UserValue>> {
        $forward!(self, tree => tree.get(key, seqno))
    }

    fn get_pinned<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<PinnableSlice>> {
        $forward!(self, tree => tree.get_pinned(key, seqno))
    }

    fn multi_get<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
        seqno: SeqNo,
    ) -> Result<Vec<Option<UserValue>>> {
        $forward!(self, tree => tree.multi_get(keys, seqno))
    }

    fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
        index: Index,
    ) -> IterBox {
        $forward!(self, tree => tree.range(range, seqno, index))
    }

    fn prefix<K: AsRef<[u8]>>(&self, prefix: K, seqno: SeqNo, index: Index) -> IterBox {
        $forward!(self, tree => tree.prefix(prefix, seqno, index))
    }

    fn range_seekable<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
        index: Index,
    ) -> Box<dyn crate::SeekableGuardIter + 'static> {
        $forward!(self, tree => tree.range_seekable(range, seqno, index))
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
        $forward!(self, tree => tree.batch_range_scan(intervals, seqno, index))
    }

    fn rotate_memtable(&self) -> Option<Arc<Memtable>> {
        $forward!(self, tree => tree.rotate_memtable())
    }

    fn sealed_memtable_count(&self) -> usize {
        $forward!(self, tree => tree.sealed_memtable_count())
    }

    fn active_memtable(&self) -> Arc<Memtable> {
        $forward!(self, tree => tree.active_memtable())
    }

    fn get_flush_lock(&self) -> FlushGuard<'_> {
        $forward!(self, tree => tree.get_flush_lock())
    }

    fn flush(&self, lock: &FlushGuard<'_>, seqno_threshold: SeqNo) -> Result<Option<u64>> {
        $forward!(self, tree => tree.flush(lock, seqno_threshold))
    }

    fn compact(
        &self,
        strategy: Arc<dyn CompactionStrategy>,
        seqno_threshold: SeqNo,
    ) -> Result<CompactionResult> {
        $forward!(self, tree => tree.compact(strategy, seqno_threshold))
    }

    fn compaction_debt(&self, strategy: &dyn CompactionStrategy) -> u64 {
        $forward!(self, tree => tree.compaction_debt(strategy))
    }

    fn rotation_debt(&self) -> u64 {
        $forward!(self, tree => tree.rotation_debt())
    }

    fn set_compaction_rate_limit(&self, bytes_per_sec: u64) {
        $forward!(self, tree => tree.set_compaction_rate_limit(bytes_per_sec))
    }

    fn drop_range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<()> {
        $forward!(self, tree => tree.drop_range(range))
    }

    fn clear(&self) -> Result<()> {
        $forward!(self, tree => tree.clear())
    }

    fn create_checkpoint(&self, target_path: &Path) -> Result<CheckpointInfo> {
        $forward!(self, tree => tree.create_checkpoint(target_path))
    }

    fn get_highest_memtable_seqno(&self) -> Option<SeqNo> {
        $forward!(self, tree => tree.get_highest_memtable_seqno())
    }

    fn get_highest_persisted_seqno(&self) -> Option<SeqNo> {
        $forward!(self, tree => tree.get_highest_persisted_seqno())
    }

    fn verify_checksum_with(
        &self,
        options: &crate::verify::VerifyOptions,
    ) -> crate::verify::BlockVerifyReport {
        $forward!(self, tree => tree.verify_checksum_with(options))
    }

    fn verify_integrity_with(
        &self,
        options: &crate::verify::VerifyOptions,
    ) -> crate::verify::IntegrityReport {
        $forward!(self, tree => tree.verify_integrity_with(options))
    }

    fn verify_integrity_with_progress(
        &self,
        options: &crate::verify::VerifyOptions,
        progress: &(dyn Fn(&crate::verify::VerifyProgress) + Sync),
    ) -> crate::verify::IntegrityReport {
        $forward!(self, tree => tree.verify_integrity_with_progress(options, progress))
    }

    fn current_version(&self) -> crate::version::Version {
        $forward!(self, tree => tree.current_version())
    }

    fn table_count(&self) -> usize {
        $forward!(self, tree => tree.table_count())
    }

    fn id(&self) -> crate::TreeId {
        $forward!(self, tree => tree.id())
    }

    fn key_versions(&self, key: &[u8]) -> Result<Vec<crate::read::KeyVersion>> {
        $forward!(self, tree => tree.key_versions(key))
    }

    fn get_internal_entry(
        &self,
        key: &[u8],
        seqno: crate::SeqNo,
    ) -> Result<Option<crate::InternalValue>> {
        $forward!(self, tree => tree.get_internal_entry(key, seqno))
    }

    fn level_table_count(&self, idx: usize) -> Option<usize> {
        $forward!(self, tree => tree.level_table_count(idx))
    }

    fn l0_run_count(&self) -> usize {
        $forward!(self, tree => tree.l0_run_count())
    }

    fn disk_space(&self) -> u64 {
        $forward!(self, tree => tree.disk_space())
    }

    fn filter_size(&self) -> u64 {
        $forward!(self, tree => tree.filter_size())
    }

    fn pinned_filter_size(&self) -> usize {
        $forward!(self, tree => tree.pinned_filter_size())
    }

    fn pinned_locator_size(&self) -> usize {
        $forward!(self, tree => tree.pinned_locator_size())
    }

    fn filter_counters(&self) -> lsm_table::FilterCounters {
        $forward!(self, tree => tree.filter_counters())
    }

    fn metrics(&self) -> &Arc<crate::Metrics> {
        $forward!(self, tree => tree.metrics())
    }

    fn is_read_only(&self) -> bool {
        $forward!(self, tree => tree.is_read_only())
    }

    fn runtime_config(&self) -> Arc<crate::RuntimeConfig> {
        $forward!(self, tree => tree.runtime_config())
    }

    fn update_runtime_config<F: FnOnce(&mut crate::RuntimeConfig)>(&self, change: F) -> Result<()> {
        $forward!(self, tree => tree.update_runtime_config(change))
    }

    fn cache_stats(&self) -> crate::CacheStats {
        $forward!(self, tree => tree.cache_stats())
    }

    fn storage_stats(&self) -> Result<crate::StorageStats> {
        $forward!(self, tree => tree.storage_stats())
    }

    fn level_segment_stats(&self) -> Result<Vec<crate::LevelStats>> {
        $forward!(self, tree => tree.level_segment_stats())
    }

    fn approximate_range_stats<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
    ) -> Result<crate::ApproximateRangeStats> {
        $forward!(self, tree => tree.approximate_range_stats(range, seqno))
    }

    fn approximate_range_cardinality<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        seqno: SeqNo,
    ) -> Result<crate::RangeCardinality> {
        $forward!(self, tree => tree.approximate_range_cardinality(range, seqno))
    }

    fn approximate_len(&self) -> usize {
        $forward!(self, tree => tree.approximate_len())
    }

    fn tree_type(&self) -> TreeType {
        $forward!(self, tree => tree.tree_type())
    }

    fn size_of<K: AsRef<[u8]>>(&self, key: K, seqno: SeqNo) -> Result<Option<u32>> {
        $forward!(self, tree => tree.size_of(key, seqno))
    }

    fn blob_file_count(&self) -> usize {
        $forward!(self, tree => tree.blob_file_count())
    }

    fn stale_blob_bytes(&self) -> u64 {
        $forward!(self, tree => tree.stale_blob_bytes())
    }
        }
    };
}

forwarding_impl!(AnyTree, forward_any);
forwarding_impl!(BlobTree, forward_index);
