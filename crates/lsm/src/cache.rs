//! [`Cache`] and [`DescriptorTable`]: the block cache and the open-file cache, shareable
//! between trees.

use std::sync::{Arc, Mutex, PoisonError};

use lsm_core::{DescriptorCache, Fs};
use lsm_table::BlockCache;

/// A block cache; share one `Arc<Cache>` between trees to give them one memory budget.
#[derive(Debug)]
pub struct Cache {
    blocks: Arc<BlockCache>,
    capacity_bytes: u64,
}

impl Cache {
    /// A cache of at most `capacity_bytes` of decoded blocks.
    #[must_use]
    pub fn with_capacity_bytes(capacity_bytes: u64) -> Self {
        Self {
            blocks: Arc::new(BlockCache::with_capacity_bytes(capacity_bytes)),
            capacity_bytes,
        }
    }

    /// Bytes of blocks held now.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.blocks.stats().used_bytes
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
