//! [`Metrics`]: a tree's counters since it opened. Block loads and filter answers are
//! counted where tables and blob files fetch them (`lsm_core::ReadCounters`, shared by
//! the tree's files), for reads and for the merges of compaction alike; flushes,
//! compactions and write stalls where the tree runs them.
//! Every count is a relaxed atomic add; the counters are always on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lsm_core::read_counters::ratio;
use lsm_core::{BlockKind, KindCounts, ReadCounters, ReadCounts};

use crate::compaction::{CompactionAction, CompactionReason};

fn reason_slot(reason: CompactionReason) -> usize {
    match reason {
        CompactionReason::Strategy => 0,
        CompactionReason::BlobGc => 1,
        CompactionReason::KeyRotation => 2,
    }
}

/// A tree's counters (see the module documentation), from
/// [`crate::AbstractTree::metrics`].
#[derive(Debug, Default)]
pub struct Metrics {
    reads: Arc<ReadCounters>,
    flushes: AtomicU64,
    flushed_bytes: AtomicU64,
    merges: AtomicU64,
    moves: AtomicU64,
    drops: AtomicU64,
    by_reason: [AtomicU64; 3],
    deferred_for_space: AtomicU64,
    compacted_read_bytes: AtomicU64,
    compacted_written_bytes: AtomicU64,
    stalls: AtomicU64,
    stall_nanos: AtomicU64,
    slowdowns: AtomicU64,
    slowdown_nanos: AtomicU64,
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn add(counter: &AtomicU64, value: u64) {
    counter.fetch_add(value, Ordering::Relaxed);
}

fn count(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Metrics {
    /// The counters the tree's tables and blob files count their reads in.
    pub(crate) fn read_counters(&self) -> &Arc<ReadCounters> {
        &self.reads
    }

    pub(crate) fn flushed(&self, bytes: u64) {
        add(&self.flushes, 1);
        add(&self.flushed_bytes, bytes);
    }

    /// A compaction step that did `action` for `reason`, reading and writing these
    /// bytes of files.
    pub(crate) fn compacted(
        &self,
        action: CompactionAction,
        reason: CompactionReason,
        read: u64,
        written: u64,
    ) {
        match action {
            CompactionAction::Nothing => return,
            CompactionAction::Merged => add(&self.merges, 1),
            CompactionAction::Moved => add(&self.moves, 1),
            CompactionAction::Dropped => add(&self.drops, 1),
        }
        add(&self.by_reason[reason_slot(reason)], 1);
        add(&self.compacted_read_bytes, read);
        add(&self.compacted_written_bytes, written);
    }

    pub(crate) fn deferred_for_space(&self) {
        add(&self.deferred_for_space, 1);
    }

    /// A writer waited `waited` at a stop limit.
    pub(crate) fn stalled(&self, waited: Duration) {
        add(&self.stalls, 1);
        add(&self.stall_nanos, nanos(waited));
    }

    /// A writer slept `slept` to slow down.
    pub(crate) fn slowed(&self, slept: Duration) {
        add(&self.slowdowns, 1);
        add(&self.slowdown_nanos, nanos(slept));
    }

    /// Every read counter at one moment.
    #[must_use]
    pub fn read_counts(&self) -> ReadCounts {
        self.reads.counts()
    }

    fn kind(&self, kind: BlockKind) -> KindCounts {
        self.reads.kind(kind)
    }

    /// Bytes of data blocks read from files.
    #[must_use]
    pub fn data_block_io(&self) -> u64 {
        self.kind(BlockKind::Data).bytes_io
    }

    /// Bytes of index blocks read from files.
    #[must_use]
    pub fn index_block_io(&self) -> u64 {
        self.kind(BlockKind::Index).bytes_io
    }

    /// Bytes of filter blocks read from files.
    #[must_use]
    pub fn filter_block_io(&self) -> u64 {
        self.kind(BlockKind::Filter).bytes_io
    }

    /// Bytes of range tombstone blocks read from files.
    #[must_use]
    pub fn range_tombstone_block_io(&self) -> u64 {
        self.kind(BlockKind::RangeTombstone).bytes_io
    }

    /// Bytes of table blocks of every kind read from files (blob values not included).
    #[must_use]
    pub fn block_io(&self) -> u64 {
        let counts = self.reads.counts();
        counts.total().bytes_io - counts.kind(BlockKind::Blob).bytes_io
    }

    /// Data blocks read from files.
    #[must_use]
    pub fn data_block_load_count(&self) -> usize {
        count(self.kind(BlockKind::Data).loads_io)
    }

    /// Index blocks read from files.
    #[must_use]
    pub fn index_block_load_count(&self) -> usize {
        count(self.kind(BlockKind::Index).loads_io)
    }

    /// Filter blocks read from files.
    #[must_use]
    pub fn filter_block_load_count(&self) -> usize {
        count(self.kind(BlockKind::Filter).loads_io)
    }

    /// Range tombstone blocks read from files.
    #[must_use]
    pub fn range_tombstone_block_load_count(&self) -> usize {
        count(self.kind(BlockKind::RangeTombstone).loads_io)
    }

    /// Table blocks of every kind read from files.
    #[must_use]
    pub fn block_load_io_count(&self) -> usize {
        let counts = self.reads.counts();
        count(counts.total().loads_io - counts.kind(BlockKind::Blob).loads_io)
    }

    /// Data blocks found in the block cache.
    #[must_use]
    pub fn data_block_load_cached_count(&self) -> usize {
        count(self.kind(BlockKind::Data).loads_cached)
    }

    /// Index blocks found in the block cache.
    #[must_use]
    pub fn index_block_load_cached_count(&self) -> usize {
        count(self.kind(BlockKind::Index).loads_cached)
    }

    /// Filter blocks found in the block cache.
    #[must_use]
    pub fn filter_block_load_cached_count(&self) -> usize {
        count(self.kind(BlockKind::Filter).loads_cached)
    }

    /// Range tombstone blocks found in the block cache.
    #[must_use]
    pub fn range_tombstone_block_load_cached_count(&self) -> usize {
        count(self.kind(BlockKind::RangeTombstone).loads_cached)
    }

    /// Table blocks of every kind found in the block cache.
    #[must_use]
    pub fn block_load_cached_count(&self) -> usize {
        count(self.reads.counts().total().loads_cached)
    }

    /// Table blocks loaded, from files or the cache.
    #[must_use]
    pub fn block_loads(&self) -> usize {
        self.block_load_io_count() + self.block_load_cached_count()
    }

    /// The share of data block loads the cache answered (0.0 before any).
    #[must_use]
    pub fn data_block_cache_hit_rate(&self) -> f64 {
        self.kind(BlockKind::Data).hit_rate()
    }

    /// The share of index block loads the cache answered (0.0 before any).
    #[must_use]
    pub fn index_block_cache_hit_rate(&self) -> f64 {
        self.kind(BlockKind::Index).hit_rate()
    }

    /// The share of filter block loads the cache answered (0.0 before any).
    #[must_use]
    pub fn filter_block_cache_hit_rate(&self) -> f64 {
        self.kind(BlockKind::Filter).hit_rate()
    }

    /// The share of range tombstone block loads the cache answered (0.0 before any).
    #[must_use]
    pub fn range_tombstone_block_cache_hit_rate(&self) -> f64 {
        self.kind(BlockKind::RangeTombstone).hit_rate()
    }

    /// The share of all table block loads the cache answered (0.0 before any).
    #[must_use]
    pub fn block_cache_hit_rate(&self) -> f64 {
        let cached = self.block_load_cached_count() as u64;
        ratio(cached, cached + self.block_load_io_count() as u64)
    }

    /// Point reads that asked a table's key filter.
    #[must_use]
    pub fn filter_queries(&self) -> usize {
        count(self.reads.counts().filter_queries)
    }

    /// Point reads a key filter answered "absent" for: a table not read.
    #[must_use]
    pub fn io_skipped_by_filter(&self) -> usize {
        count(self.reads.counts().filter_rejected)
    }

    /// The share of filter queries that skipped a table (0.0 before any).
    #[must_use]
    pub fn filter_efficiency(&self) -> f64 {
        let counts = self.reads.counts();
        ratio(counts.filter_rejected, counts.filter_queries)
    }

    /// Point reads a key filter passed that found nothing in the table.
    #[must_use]
    pub fn filter_false_positives(&self) -> u64 {
        self.reads.counts().filter_passed_absent
    }

    /// Scans a prefix filter kept from reading a table.
    #[must_use]
    pub fn prefix_bloom_skips(&self) -> usize {
        count(self.reads.counts().prefix_rejected)
    }

    /// Separated values read from blob files.
    #[must_use]
    pub fn blob_read_count(&self) -> u64 {
        self.kind(BlockKind::Blob).loads_io
    }

    /// Bytes of separated values read from blob files (as stored).
    #[must_use]
    pub fn blob_read_bytes(&self) -> u64 {
        self.kind(BlockKind::Blob).bytes_io
    }

    /// Flushes that wrote tables.
    #[must_use]
    pub fn flush_count(&self) -> u64 {
        load(&self.flushes)
    }

    /// Bytes flushes wrote (tables and blob files).
    #[must_use]
    pub fn bytes_flushed(&self) -> u64 {
        load(&self.flushed_bytes)
    }

    /// Compactions that merged tables into new ones.
    #[must_use]
    pub fn compactions_merged(&self) -> u64 {
        load(&self.merges)
    }

    /// Compactions that moved tables to another level without a rewrite.
    #[must_use]
    pub fn compactions_moved(&self) -> u64 {
        load(&self.moves)
    }

    /// Compactions that dropped tables (expired, or wholly deleted).
    #[must_use]
    pub fn compactions_dropped(&self) -> u64 {
        load(&self.drops)
    }

    /// Compaction steps (merges, moves and drops) that ran for `reason`.
    #[must_use]
    pub fn compactions_by_reason(&self, reason: CompactionReason) -> u64 {
        load(&self.by_reason[reason_slot(reason)])
    }

    /// Merges deferred by the storage gate: their output might not have fit.
    #[must_use]
    pub fn compactions_deferred_for_space(&self) -> u64 {
        load(&self.deferred_for_space)
    }

    /// Bytes of the tables merges read.
    #[must_use]
    pub fn bytes_compacted_read(&self) -> u64 {
        load(&self.compacted_read_bytes)
    }

    /// Bytes merges wrote (tables and blob files: relocated values included).
    #[must_use]
    pub fn bytes_compacted_written(&self) -> u64 {
        load(&self.compacted_written_bytes)
    }

    /// Writes that waited at a stop limit (too many sealed memtables or level-0 runs).
    #[must_use]
    pub fn stall_count(&self) -> u64 {
        load(&self.stalls)
    }

    /// Time writers spent waiting at stop limits, added over writers.
    #[must_use]
    pub fn stall_time(&self) -> Duration {
        Duration::from_nanos(load(&self.stall_nanos))
    }

    /// Writes that slept to slow down (past a slowdown limit).
    #[must_use]
    pub fn slowdown_count(&self) -> u64 {
        load(&self.slowdowns)
    }

    /// Time writers slept to slow down, added over writers.
    #[must_use]
    pub fn slowdown_time(&self) -> Duration {
        Duration::from_nanos(load(&self.slowdown_nanos))
    }
}

/// The block cache's counters and size, from [`crate::AbstractTree::cache_stats`].
/// The cache may be shared by several trees: these are all of theirs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheStats {
    /// Lookups that found their block.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0.0 before any lookup.
    pub hit_rate: f64,
    /// Bytes the cache holds.
    pub size_bytes: u64,
    /// Bytes it may hold.
    pub capacity_bytes: u64,
}
