//! [`Cache`] and [`DescriptorTable`]: the block cache and the open-file cache, shareable
//! between trees.

use std::sync::{Arc, Mutex, PoisonError};

use lsm_core::{DescriptorCache, Fs};
use lsm_table::{BlockCache, RowCache};

/// A block cache; share one `Arc<Cache>` between trees to give them one memory budget.
#[derive(Debug)]
pub struct Cache {
    blocks: Arc<BlockCache>,
    rows: Option<Arc<RowCache>>,
    capacity_bytes: u64,
}

impl Cache {
    /// A cache of at most `capacity_bytes` of decoded blocks.
    #[must_use]
    pub fn with_capacity_bytes(capacity_bytes: u64) -> Self {
        Self {
            blocks: Arc::new(BlockCache::with_capacity_bytes(capacity_bytes)),
            rows: None,
            capacity_bytes,
        }
    }

    /// With `enabled`, a quarter of the capacity caches the answers of point reads per
    /// table and key (a repeated read of a hot key then skips the filter, the index and
    /// the data block), the rest caches blocks; the answers cached are those that hold
    /// at every seqno, so snapshots read right.
    #[must_use]
    pub fn with_row_cache(self, enabled: bool) -> Self {
        let metadata_priority = self.metadata_priority();
        let (blocks, rows) = if enabled {
            let rows = self.capacity_bytes / 4;
            (
                self.capacity_bytes - rows,
                Some(Arc::new(RowCache::with_capacity_bytes(rows))),
            )
        } else {
            (self.capacity_bytes, None)
        };
        let blocks = BlockCache::with_capacity_bytes(blocks);
        blocks.set_metadata_priority(metadata_priority);
        Self {
            blocks: Arc::new(blocks),
            rows,
            capacity_bytes: self.capacity_bytes,
        }
    }

    /// Whether the row cache is on.
    #[must_use]
    pub fn row_cache_enabled(&self) -> bool {
        self.rows.is_some()
    }

    /// With `enabled` (the default), index and filter blocks are evicted only after data
    /// blocks; without, all blocks age in one order.
    #[must_use]
    pub fn with_metadata_priority(self, enabled: bool) -> Self {
        self.blocks.set_metadata_priority(enabled);
        self
    }

    /// Whether index and filter blocks outlast data blocks.
    #[must_use]
    pub fn metadata_priority(&self) -> bool {
        self.blocks.metadata_priority()
    }

    /// The row cache's hits, misses, insertions, evictions and size, when it is on.
    #[must_use]
    pub fn row_stats(&self) -> Option<lsm_table::BlockCacheStats> {
        self.rows.as_ref().map(|rows| rows.stats())
    }

    pub(crate) fn rows(&self) -> Option<&Arc<RowCache>> {
        self.rows.as_ref()
    }

    /// Bytes of blocks (and rows, with the row cache) held now.
    #[must_use]
    pub fn size(&self) -> u64 {
        let rows = self.rows.as_ref().map_or(0, |rows| rows.stats().used_bytes);
        self.blocks.stats().used_bytes + rows
    }

    /// The capacity in bytes.
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.capacity_bytes
    }

    /// Hits, misses, insertions and evictions so far.
    #[must_use]
    pub fn stats(&self) -> lsm_table::BlockCacheStats {
        self.blocks.stats()
    }

    pub(crate) fn blocks(&self) -> &Arc<BlockCache> {
        &self.blocks
    }
}

/// A bound on open table files; share one `Arc<DescriptorTable>` between trees.
///
/// Files are reopened through the file system of the tree that reads them, so the bound
/// holds per file-system instance: trees opened with the default file system (or one
/// shared `Arc<dyn Fs>`) share `capacity` open files; each other instance gets its own
/// bound of `capacity`.
#[derive(Debug)]
pub struct DescriptorTable {
    capacity: usize,
    caches: Mutex<Vec<Arc<DescriptorCache>>>,
}

impl DescriptorTable {
    /// At most `capacity` open files (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            caches: Mutex::new(Vec::new()),
        }
    }

    /// The bound.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Files open now, over every file system.
    #[must_use]
    pub fn open_count(&self) -> usize {
        self.lock().iter().map(|cache| cache.open_count()).sum()
    }

    /// The cache of open files of `fs`.
    pub(crate) fn for_fs(&self, fs: &Arc<dyn Fs>) -> Arc<DescriptorCache> {
        let mut caches = self.lock();
        if let Some(cache) = caches.iter().find(|cache| Arc::ptr_eq(cache.fs(), fs)) {
            return Arc::clone(cache);
        }
        let cache = Arc::new(DescriptorCache::new(Arc::clone(fs), self.capacity));
        caches.push(Arc::clone(&cache));
        cache
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<DescriptorCache>>> {
        self.caches.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
