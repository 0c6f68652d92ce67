//! How much a tree stores and where: [`StorageStats`], [`LevelStats`] per level with
//! [`SegmentStats`] per table, and estimates of a key range's size
//! ([`ApproximateRangeStats`], [`RangeCardinality`]). All of it comes from the version's
//! metadata, the tables' properties and their index blocks, and the memtables: no data
//! block is read.

use std::ops::Bound;

use lsm_core::{KeyOrder, SeqNo, TableId};

use crate::Result;
use crate::admission::Measure;
use crate::read::{OwnedBounds, contains, overlaps};
use crate::super_version::SuperVersion;
use crate::tree::TreeInner;

/// The coarse state of a tree's storage (see [`StorageStats::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageStatus {
    /// Free space unknown (the file system cannot tell): nothing to warn about.
    Healthy,
    /// Enough free space for the largest compaction (a whole level rewritten).
    FullCompactionAvailable,
    /// Room for a compaction of the largest table, not of the largest level.
    TightCompactionAvailable,
    /// The storage gate refuses writes for lack of space (see
    /// [`crate::RuntimeConfig::storage_admission_check`]).
    ReadOnlyOutOfSpace,
    /// A compaction is running.
    CompactionInProgress,
    /// Less free space than the largest table: a compaction that rewrites it may run
    /// out of space half way (writes are still accepted).
    CompactionLacksRoom,
}

/// A tree's storage at one moment (see [`crate::AbstractTree::storage_stats`]). Byte
/// figures are on disk: compressed, with blob files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageStats {
    /// Bytes of the tree's tables and blob files.
    pub used_bytes: u64,
    /// `used_bytes` plus [`Self::available_bytes`], when that is known.
    pub capacity_bytes: Option<u64>,
    /// The room left: the file system's free space (when it can tell), or less where
    /// the storage gate's quota leaves less.
    pub available_bytes: Option<u64>,
    /// Whether at least [`Self::tight_compaction_bytes`] are free (true when unknown).
    pub compaction_possible: bool,
    /// Free space the largest compaction needs: the bytes of the largest level.
    pub full_compaction_bytes: u64,
    /// Free space the smallest useful compaction needs: the bytes of the largest
    /// table.
    pub tight_compaction_bytes: u64,
    /// Entry versions in the tables (every version and tombstone).
    pub item_count: u64,
    /// Tables.
    pub table_count: u64,
    /// `used_bytes / item_count`, 0 for an empty tree.
    pub avg_entry_on_disk_bytes: u64,
    /// User key bytes per entry, uncompressed (`None` for an empty tree).
    pub avg_key_bytes: Option<u64>,
    /// Value bytes per entry, uncompressed, separated values counted at their length
    /// (`None` for an empty tree).
    pub avg_value_bytes: Option<u64>,
    /// An estimate of the bytes a full compaction would free: tombstones and the
    /// versions they shadow at the average entry size, plus blob bytes no table
    /// refers to any more.
    pub reclaimable_bytes_estimate: u64,
    /// The coarse state.
    pub status: StorageStatus,
}

impl StorageStats {
    /// How many more entries of the average size fit in `budget_bytes` (0 for an empty
    /// tree, whose average is unknown).
    #[must_use]
    pub fn estimated_remaining_entries(&self, budget_bytes: u64) -> u64 {
        budget_bytes
            .checked_div(self.avg_entry_on_disk_bytes)
            .unwrap_or(0)
    }
}

/// One table's figures (see [`LevelStats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentStats {
    /// The table.
    pub table_id: TableId,
    /// Its level.
    pub level: usize,
    /// Its bytes on disk.
    pub used_bytes: u64,
    /// Its entry versions.
    pub item_count: u64,
    /// Point reads that consulted its data since it was opened (a read its key range
    /// or filter ruled out does not count): a counter to take deltas of.
    pub reads: u64,
    /// Unix seconds of a recent such read (exact for the first 16, then within 16
    /// reads), 0 if none.
    pub last_access_secs: u64,
}

/// One level's figures and its tables' (see
/// [`crate::AbstractTree::level_segment_stats`]); summed over the levels, bytes and
/// items match the tables' part of [`StorageStats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelStats {
    /// The level (0 is the newest).
    pub level: usize,
    /// Its tables.
    pub segment_count: usize,
    /// Their bytes on disk.
    pub used_bytes: u64,
    /// Their entry versions.
    pub item_count: u64,
    /// Their reads, added up.
    pub reads: u64,
    /// The most recent of their last accesses, 0 if none.
    pub last_access_secs: u64,
    /// Each table, in run order.
    pub segments: Vec<SegmentStats>,
}

/// A key range's estimated size (see [`crate::AbstractTree::approximate_range_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApproximateRangeStats {
    /// Bytes: the tables' share on disk plus the memtables' entries in the range.
    pub bytes: u64,
    /// Entry versions: the tables' share plus the memtables' exact count.
    pub key_count: u64,
}

/// A key range's estimated row count and its share of the tree (see
/// [`crate::AbstractTree::approximate_range_cardinality`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RangeCardinality {
    /// Entry versions in the range (an estimate at block granularity).
    pub rows: u64,
    /// `rows` over every entry version of the tree (0.0 for an empty tree).
    pub selectivity: f64,
}

impl TreeInner {
    pub(crate) fn storage_stats(&self) -> Result<StorageStats> {
        let current = self.super_version();
        let version = &current.version;
        let mut stats = StorageStats {
            used_bytes: 0,
            capacity_bytes: None,
            available_bytes: None,
            compaction_possible: true,
            full_compaction_bytes: 0,
            tight_compaction_bytes: 0,
            item_count: 0,
            table_count: 0,
            avg_entry_on_disk_bytes: 0,
            avg_key_bytes: None,
            avg_value_bytes: None,
            reclaimable_bytes_estimate: 0,
            status: StorageStatus::Healthy,
        };
        let (mut key_bytes, mut value_bytes, mut tombstones) = (0, 0, 0);
        for level in version.levels() {
            let mut level_bytes = 0;
            for meta in level.runs().iter().flat_map(|run| run.tables()) {
                let properties = current.table(meta.id).table.properties();
                level_bytes += meta.size_bytes;
                stats.tight_compaction_bytes = stats.tight_compaction_bytes.max(meta.size_bytes);
                stats.item_count += meta.entry_count;
                stats.table_count += 1;
                key_bytes += properties.key_bytes;
                value_bytes += properties.value_bytes;
                tombstones += properties.tombstone_count + properties.weak_tombstone_count;
            }
            stats.used_bytes += level_bytes;
            stats.full_compaction_bytes = stats.full_compaction_bytes.max(level_bytes);
        }
        stats.used_bytes += version
            .blob_files()
            .values()
            .map(|info| info.file_len)
            .sum::<u64>();
        stats.avg_entry_on_disk_bytes = stats.used_bytes.checked_div(stats.item_count).unwrap_or(0);
        stats.avg_key_bytes = key_bytes.checked_div(stats.item_count);
        stats.avg_value_bytes = value_bytes.checked_div(stats.item_count);
        // A tombstone frees itself and (at most) the version it shadows.
        stats.reclaimable_bytes_estimate = (tombstones * 2)
            .saturating_mul(stats.avg_entry_on_disk_bytes)
            .min(stats.used_bytes)
            + version.stale_blob_bytes();
        let runtime = self.runtime.load();
        let quota = runtime
            .storage_admission_check
            .then_some(runtime.storage_limit_bytes)
            .flatten();
        let measure = Measure {
            files: stats.used_bytes,
            available: self.available_space(),
        };
        if let Some(limit) = measure.limit(quota) {
            let available = limit.saturating_sub(stats.used_bytes);
            stats.available_bytes = Some(available);
            stats.capacity_bytes = Some(stats.used_bytes.saturating_add(available));
            stats.compaction_possible = available >= stats.tight_compaction_bytes;
            stats.status = if available >= stats.full_compaction_bytes {
                StorageStatus::FullCompactionAvailable
            } else if stats.compaction_possible {
                StorageStatus::TightCompactionAvailable
            } else {
                StorageStatus::CompactionLacksRoom
            };
        }
        if self.jobs.any_running() {
            stats.status = StorageStatus::CompactionInProgress;
        }
        // A refusing gate is the news that matters most.
        if self.storage_gate().is_err() {
            stats.status = StorageStatus::ReadOnlyOutOfSpace;
        }
        Ok(stats)
    }

    pub(crate) fn level_segment_stats(&self) -> Vec<LevelStats> {
        let current = self.super_version();
        let mut levels = Vec::new();
        for (level_idx, level) in current.version.levels().iter().enumerate() {
            let mut stats = LevelStats {
                level: level_idx,
                segment_count: 0,
                used_bytes: 0,
                item_count: 0,
                reads: 0,
                last_access_secs: 0,
                segments: Vec::new(),
            };
            for meta in level.runs().iter().flat_map(|run| run.tables()) {
                let (reads, last_access_secs) = current.table(meta.id).table.read_stats();
                stats.segment_count += 1;
                stats.used_bytes += meta.size_bytes;
                stats.item_count += meta.entry_count;
                stats.reads += reads;
                stats.last_access_secs = stats.last_access_secs.max(last_access_secs);
                stats.segments.push(SegmentStats {
                    table_id: meta.id,
                    level: level_idx,
                    used_bytes: meta.size_bytes,
                    item_count: meta.entry_count,
                    reads,
                    last_access_secs,
                });
            }
            levels.push(stats);
        }
        levels
    }

    pub(crate) fn approximate_range_stats(
        &self,
        bounds: &OwnedBounds,
        seqno: SeqNo,
    ) -> Result<ApproximateRangeStats> {
        let current = self.super_version_at(seqno);
        let order = current.version.order().clone();
        let mut stats = ApproximateRangeStats::default();
        for memtable in current.memtables() {
            for entry in memtable.range(bounds.clone(), seqno) {
                stats.key_count += 1;
                stats.bytes += (entry.key.user_key.len() + entry.value.len()) as u64;
            }
        }
        for meta in current.version.tables() {
            let (min, max) = (meta.key_range.min(), meta.key_range.max());
            if meta.seqno_min >= seqno || !overlaps(&order, bounds, min, max) {
                continue;
            }
            let inside = contains(&order, bounds, min) && contains(&order, bounds, max);
            let (bytes, keys) = if inside {
                (meta.size_bytes, meta.entry_count)
            } else {
                self.table_share(&current, &order, meta, bounds)?
            };
            stats.bytes += bytes;
            stats.key_count += keys;
        }
        Ok(stats)
    }

    /// The share of a table that straddles a bound: its data blocks that may hold keys
    /// in the range (by the index's last keys) over all of them, applied to its bytes
    /// and entries.
    fn table_share(
        &self,
        current: &SuperVersion,
        order: &KeyOrder,
        meta: &lsm_version::TableMeta,
        bounds: &OwnedBounds,
    ) -> Result<(u64, u64)> {
        let index = current.table(meta.id).table.index_entries()?;
        if index.is_empty() {
            return Ok((0, 0));
        }
        // Block `i` holds keys from just above the last key of block `i-1` (the table's
        // smallest key for the first) to its own last key. A block wholly in the range
        // counts whole, one across a bound half (a linear guess within the block).
        let mut halves = 0_u64;
        let mut first: &[u8] = meta.key_range.min();
        for entry in &index {
            let last = entry.last_key.user_key.as_ref();
            if overlaps(order, bounds, first, last) {
                let whole = contains(order, bounds, first) && contains(order, bounds, last);
                halves += if whole { 2 } else { 1 };
            }
            first = last;
        }
        let blocks = index.len() as u64 * 2;
        let share = |total: u64| {
            u64::try_from(u128::from(total) * u128::from(halves) / u128::from(blocks))
                .unwrap_or(total)
        };
        Ok((share(meta.size_bytes), share(meta.entry_count)))
    }

    pub(crate) fn approximate_range_cardinality(
        &self,
        bounds: &OwnedBounds,
        seqno: SeqNo,
    ) -> Result<RangeCardinality> {
        let rows = self.approximate_range_stats(bounds, seqno)?.key_count;
        let all = (Bound::Unbounded, Bound::Unbounded);
        let total = self.approximate_range_stats(&all, seqno)?.key_count;
        Ok(RangeCardinality {
            rows,
            selectivity: lsm_core::read_counters::ratio(rows, total).min(1.0),
        })
    }
}
