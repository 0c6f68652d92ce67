//! [`ReadCounters`]: what reads cost, by kind of block, counted where the blocks are
//! fetched (tables and blob files) and shared by every file of a tree.
//!
//! Each count is one relaxed atomic add on a cache line the tree's readers share; the
//! counters are always on.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a fetched block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Entries.
    Data,
    /// A table index (top level or a partition).
    Index,
    /// A key or prefix filter (whole, a partition, or a partitioned filter's index).
    Filter,
    /// A table's range tombstones.
    RangeTombstone,
    /// A separated value's frame in a blob file.
    Blob,
    /// Anything else a table reads (properties, dictionary, seqno bounds).
    Other,
}

impl BlockKind {
    /// Every kind, in the order [`ReadCounts::by_kind`] lists them.
    pub const ALL: [Self; 6] = [
        Self::Data,
        Self::Index,
        Self::Filter,
        Self::RangeTombstone,
        Self::Blob,
        Self::Other,
    ];

    /// A short name for reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Index => "index",
            Self::Filter => "filter",
            Self::RangeTombstone => "range tombstone",
            Self::Blob => "blob",
            Self::Other => "other",
        }
    }

    fn slot(self) -> usize {
        match self {
            Self::Data => 0,
            Self::Index => 1,
            Self::Filter => 2,
            Self::RangeTombstone => 3,
            Self::Blob => 4,
            Self::Other => 5,
        }
    }
}

#[derive(Debug, Default)]
struct KindCounters {
    loads_io: AtomicU64,
    loads_cached: AtomicU64,
    bytes_io: AtomicU64,
}

impl KindCounters {
    fn counts(&self) -> KindCounts {
        KindCounts {
            loads_io: self.loads_io.load(Ordering::Relaxed),
            loads_cached: self.loads_cached.load(Ordering::Relaxed),
            bytes_io: self.bytes_io.load(Ordering::Relaxed),
        }
    }
}

/// The read counters of one tree (see the module documentation).
#[derive(Debug, Default)]
pub struct ReadCounters {
    kinds: [KindCounters; 6],
    filter_passed: AtomicU64,
    filter_rejected: AtomicU64,
    filter_passed_absent: AtomicU64,
    prefix_rejected: AtomicU64,
}

/// One kind's counts (see [`ReadCounters::counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Blocks read from their file (decoded and checked).
    pub loads_io: u64,
    /// Blocks found in the block cache.
    pub loads_cached: u64,
    /// Bytes read from files for these blocks (as stored: compressed, sealed).
    pub bytes_io: u64,
}

impl KindCounts {
    /// Cache hits over all loads, 0.0 before any load.
    #[must_use]
    pub fn hit_rate(&self) -> f64 {
        ratio(self.loads_cached, self.loads_cached + self.loads_io)
    }
}

/// A copy of [`ReadCounters`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadCounts {
    /// Per kind, in the order of [`BlockKind::ALL`].
    pub by_kind: [KindCounts; 6],
    /// Point reads that asked a table's key filter.
    pub filter_queries: u64,
    /// Of those, the reads the filter answered "absent" for: no block read.
    pub filter_rejected: u64,
    /// Of those, the reads the filter passed that then found no entry: false positives
    /// (and the rare key whose every version is newer than the read).
    pub filter_passed_absent: u64,
    /// Scans a prefix filter kept from reading a table.
    pub prefix_rejected: u64,
}

impl ReadCounts {
    /// The counts of `kind`.
    #[must_use]
    pub fn kind(&self, kind: BlockKind) -> KindCounts {
        self.by_kind[kind.slot()]
    }

    /// Every kind's counts added up.
    #[must_use]
    pub fn total(&self) -> KindCounts {
        self.by_kind
            .iter()
            .fold(KindCounts::default(), |sum, kind| KindCounts {
                loads_io: sum.loads_io + kind.loads_io,
                loads_cached: sum.loads_cached + kind.loads_cached,
                bytes_io: sum.bytes_io + kind.bytes_io,
            })
    }
}

/// `part / whole`, 0.0 for an empty whole.
#[must_use]
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl ReadCounters {
    /// A block of `kind` read from its file: `bytes` as stored.
    pub fn loaded_io(&self, kind: BlockKind, bytes: u64) {
        let counters = &self.kinds[kind.slot()];
        counters.loads_io.fetch_add(1, Ordering::Relaxed);
        counters.bytes_io.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A block of `kind` found in the block cache.
    pub fn loaded_cached(&self, kind: BlockKind) {
        self.kinds[kind.slot()]
            .loads_cached
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A point read asked a key filter; `passed`: whether it may hold the key. (One
    /// add either way: the queries are the passes and the rejections together.)
    pub fn filter_queried(&self, passed: bool) {
        let counter = if passed {
            &self.filter_passed
        } else {
            &self.filter_rejected
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A point read the filter passed found nothing.
    pub fn filter_false_positive(&self) {
        self.filter_passed_absent.fetch_add(1, Ordering::Relaxed);
    }

    /// A prefix filter kept a scan from reading a table.
    pub fn prefix_skipped(&self) {
        self.prefix_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts of `kind` now (its three counters only).
    #[must_use]
    pub fn kind(&self, kind: BlockKind) -> KindCounts {
        self.kinds[kind.slot()].counts()
    }

    /// The counts now (each counter read once; a read in flight may be half counted).
    #[must_use]
    pub fn counts(&self) -> ReadCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut by_kind = [KindCounts::default(); 6];
        for (counts, counters) in by_kind.iter_mut().zip(&self.kinds) {
            *counts = counters.counts();
        }
        let filter_rejected = load(&self.filter_rejected);
        ReadCounts {
            by_kind,
            filter_queries: load(&self.filter_passed) + filter_rejected,
            filter_rejected,
            filter_passed_absent: load(&self.filter_passed_absent),
            prefix_rejected: load(&self.prefix_rejected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_kind_and_add_up() {
        let counters = ReadCounters::default();
        counters.loaded_io(BlockKind::Data, 4096);
        counters.loaded_io(BlockKind::Data, 100);
        counters.loaded_cached(BlockKind::Data);
        counters.loaded_cached(BlockKind::Index);
        counters.loaded_io(BlockKind::Blob, 7);
        counters.filter_queried(true);
        counters.filter_queried(false);
        counters.filter_false_positive();
        counters.prefix_skipped();
        let counts = counters.counts();
        let data = counts.kind(BlockKind::Data);
        assert_eq!(
            (data.loads_io, data.loads_cached, data.bytes_io),
            (2, 1, 4196)
        );
        assert!((data.hit_rate() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(counts.kind(BlockKind::Index).loads_cached, 1);
        assert_eq!(counters.kind(BlockKind::Data), data);
        assert_eq!(counts.kind(BlockKind::Filter), KindCounts::default());
        assert_eq!(counts.kind(BlockKind::Filter).hit_rate(), 0.0);
        let total = counts.total();
        assert_eq!(
            (total.loads_io, total.loads_cached, total.bytes_io),
            (3, 2, 4203)
        );
        assert_eq!(
            (
                counts.filter_queries,
                counts.filter_rejected,
                counts.filter_passed_absent,
                counts.prefix_rejected
            ),
            (2, 1, 1, 1)
        );
        for (i, kind) in BlockKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.slot(), i, "{}", kind.name());
        }
    }
}
