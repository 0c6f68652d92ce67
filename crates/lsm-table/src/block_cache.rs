//! [`BlockCache`]: a shared, byte-capped, sharded cache of decoded blocks.
//!
//! Keys are (table cache id, block offset); every table opened with the cache draws a
//! unique id from it, so trees and tables can share one cache. Each shard keeps two
//! CLOCK rings: *metadata* (index partitions, filters, top-level indexes) and *data*.
//! Eviction takes data blocks first, so a scan that churns through data cannot push
//! out the index and filter blocks every lookup needs; metadata is evicted only when
//! the shard holds nothing else. Counters record hits, misses, insertions and
//! evictions.
//!
//! A block evicted while nothing else holds it leaves its buffer with its shard (a few
//! per shard), and a miss in that shard takes one that fits for the read that follows:
//! a reader churning through more blocks than the cache holds then reads into buffers
//! it already has, without allocating, freeing or zeroing one per block.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lsm_core::Slice;

/// Shards of a cache (a power of two).
const SHARD_COUNT: usize = 16;

/// Buffers of evicted blocks a shard keeps for reads to fill again.
const SPARES_PER_SHARD: usize = 4;

/// What kind of block an entry holds: it decides the eviction order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockPriority {
    /// Index and filter blocks: evicted last.
    Metadata,
    /// Data blocks: evicted first.
    Data,
}

/// A shared cache of decoded blocks; see the module docs.
#[derive(Debug)]
pub struct BlockCache {
    shards: Vec<Mutex<Shard>>,
    shard_capacity_bytes: u64,
    next_table_id: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    insertions: AtomicU64,
    evictions: AtomicU64,
    /// Whether index and filter blocks outlast data blocks (on by default).
    metadata_priority: AtomicBool,
}

/// Counters of a [`BlockCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockCacheStats {
    /// Lookups that found the block.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Blocks inserted.
    pub insertions: u64,
    /// Blocks evicted to make room.
    pub evictions: u64,
    /// Bytes held now.
    pub used_bytes: u64,
    /// Blocks held now.
    pub block_count: u64,
}

type Key = (u64, u64);

/// Keys are two integers: a multiply-mix hashes them far faster than SipHash, and the
/// keys are not attacker-chosen (table ids come from a counter, offsets from the file).
#[derive(Debug, Clone, Copy, Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type KeyMap<V> = HashMap<Key, V, std::hash::BuildHasherDefault<KeyHasher>>;

#[derive(Debug, Default)]
struct Shard {
    map: KeyMap<(BlockPriority, usize)>,
    metadata: Ring,
    data: Ring,
    used_bytes: u64,
    /// Buffers evicted blocks left, shared with nothing.
    spares: Vec<Arc<[u8]>>,
}

/// A CLOCK ring: slots with a reference bit and a hand.
#[derive(Debug, Default)]
struct Ring {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    hand: usize,
}

#[derive(Debug)]
struct Slot {
    key: Key,
    block: Slice,
    referenced: bool,
}

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of decoded blocks.
    #[must_use]
    pub fn with_capacity_bytes(capacity_bytes: u64) -> Self {
        Self {
            shards: (0..SHARD_COUNT)
                .map(|_| Mutex::new(Shard::default()))
                .collect(),
            shard_capacity_bytes: capacity_bytes / SHARD_COUNT as u64,
            next_table_id: AtomicU64::new(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            insertions: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            metadata_priority: AtomicBool::new(true),
        }
    }

    /// Whether index and filter blocks are evicted after data blocks (`true`, the
    /// default) or in one order with them.
    pub fn set_metadata_priority(&self, on: bool) {
        self.metadata_priority.store(on, Ordering::Relaxed);
    }

    /// See [`Self::set_metadata_priority`].
    #[must_use]
    pub fn metadata_priority(&self) -> bool {
        self.metadata_priority.load(Ordering::Relaxed)
    }

    /// A fresh id for a table's blocks.
    pub(crate) fn new_table_id(&self) -> u64 {
        self.next_table_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The shard a key lives in.
    fn shard_index(key: Key) -> usize {
        let mixed =
            (key.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ key.1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        usize::try_from(mixed >> 60).unwrap_or(0) % SHARD_COUNT
    }

    fn shard(&self, key: Key) -> MutexGuard<'_, Shard> {
        self.shards
            .get(Self::shard_index(key))
            .expect("shard index below the shard count")
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached block; on a miss, a buffer of at least `len` bytes (and not much
    /// more) that an evicted block left, when the shard has one.
    pub(crate) fn get_or_spare(
        &self,
        table_id: u64,
        offset: u64,
        len: usize,
    ) -> Result<Slice, Option<Arc<[u8]>>> {
        let key = (table_id, offset);
        let mut shard = self.shard(key);
        if let Some(found) = self.counted_get(&mut shard, key) {
            return Ok(found);
        }
        let fits = shard
            .spares
            .iter()
            .position(|spare| spare.len() >= len && spare.len() - len <= len / 4);
        Err(fits.map(|at| shard.spares.swap_remove(at)))
    }

    /// The cached block, if present.
    pub(crate) fn get(&self, table_id: u64, offset: u64) -> Option<Slice> {
        let key = (table_id, offset);
        self.counted_get(&mut self.shard(key), key)
    }

    /// `key`'s block from `shard` (its shard), counted as a hit or a miss.
    fn counted_get(&self, shard: &mut Shard, key: Key) -> Option<Slice> {
        let found = shard.get(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Caches a block; blocks larger than a shard are not cached. Readers trust what the
    /// cache holds (data and index blocks are checked before they are inserted).
    pub(crate) fn insert(&self, table_id: u64, offset: u64, block: Slice, priority: BlockPriority) {
        let len = block.len() as u64;
        if len > self.shard_capacity_bytes {
            return;
        }
        let key = (table_id, offset);
        let priority = if self.metadata_priority.load(Ordering::Relaxed) {
            priority
        } else {
            BlockPriority::Data
        };
        let mut shard = self.shard(key);
        if shard.map.contains_key(&key) {
            return;
        }
        while shard.used_bytes + len > self.shard_capacity_bytes {
            if !shard.evict_one() {
                break;
            }
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        shard.insert(key, block, priority);
        self.insertions.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters, and what the cache holds now.
    #[must_use]
    pub fn stats(&self) -> BlockCacheStats {
        let (mut used_bytes, mut block_count) = (0, 0);
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            used_bytes += shard.used_bytes;
            block_count += shard.map.len() as u64;
        }
        BlockCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            insertions: self.insertions.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            used_bytes,
            block_count,
        }
    }
}

impl Shard {
    fn ring(&mut self, priority: BlockPriority) -> &mut Ring {
        match priority {
            BlockPriority::Metadata => &mut self.metadata,
            BlockPriority::Data => &mut self.data,
        }
    }

    fn get(&mut self, key: Key) -> Option<Slice> {
        let &(priority, slot_idx) = self.map.get(&key)?;
        let slot = self.ring(priority).slots.get_mut(slot_idx)?.as_mut()?;
        slot.referenced = true;
        Some(slot.block.clone())
    }

    fn insert(&mut self, key: Key, block: Slice, priority: BlockPriority) {
        self.used_bytes += block.len() as u64;
        let slot = Slot {
            key,
            block,
            referenced: false,
        };
        let ring = self.ring(priority);
        let slot_idx = match ring.free.pop() {
            Some(free) => {
                if let Some(entry) = ring.slots.get_mut(free) {
                    *entry = Some(slot);
                }
                free
            }
            None => {
                ring.slots.push(Some(slot));
                ring.slots.len() - 1
            }
        };
        self.map.insert(key, (priority, slot_idx));
    }

    /// Evicts one block, data first; false when the shard is empty.
    fn evict_one(&mut self) -> bool {
        let (evicted, data) = match self.data.evict() {
            Some(slot) => (Some(slot), true),
            None => (self.metadata.evict(), false),
        };
        match evicted {
            Some(slot) => {
                self.used_bytes -= slot.block.len() as u64;
                self.map.remove(&slot.key);
                // Data blocks' buffers are the ones reads ask for again.
                if data
                    && self.spares.len() < SPARES_PER_SHARD
                    && let Some(buffer) = slot.block.into_unshared_buffer()
                {
                    self.spares.push(buffer);
                }
                true
            }
            None => false,
        }
    }
}

impl Ring {
    /// Advances the hand past referenced slots (clearing their bit) to a victim.
    fn evict(&mut self) -> Option<Slot> {
        let len = self.slots.len();
        if len == self.free.len() {
            return None;
        }
        // Two sweeps at most: the first clears reference bits.
        for _ in 0..2 * len {
            let slot_idx = self.hand % len;
            self.hand = (self.hand + 1) % len;
            let Some(Some(slot)) = self.slots.get_mut(slot_idx) else {
                continue;
            };
            if slot.referenced {
                slot.referenced = false;
                continue;
            }
            self.free.push(slot_idx);
            return self.slots.get_mut(slot_idx).and_then(Option::take);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_holds_and_metadata_outlives_data_churn() {
        let cache = BlockCache::with_capacity_bytes(16 * 1000);
        // One shard's worth is 1000 bytes; fill every shard with metadata and data.
        for offset in 0..200 {
            cache.insert(1, offset, Slice::from(vec![0; 40]), BlockPriority::Metadata);
        }
        for offset in 1000..5000 {
            cache.insert(1, offset, Slice::from(vec![0; 100]), BlockPriority::Data);
        }
        let stats = cache.stats();
        assert!(stats.used_bytes <= 16 * 1000, "{stats:?}");
        assert!(stats.evictions > 0);
        let metadata_kept = (0..200)
            .filter(|&offset| cache.get(1, offset).is_some())
            .count();
        assert_eq!(metadata_kept, 200, "data churn evicted metadata");
        assert!(cache.get(2, 0).is_none());
        let stats = cache.stats();
        assert_eq!(stats.hits, 200);
        assert_eq!(stats.misses, 1);
    }

    #[test]
    fn a_miss_gets_the_buffer_an_unshared_evicted_block_left() {
        // One shard's worth is 300 bytes: the fourth block evicts one of the first three.
        let cache = BlockCache::with_capacity_bytes(16 * 300);
        let block = |byte| {
            Slice::filled_reusing(None, 100, 100, |b: &mut [u8]| -> Result<(), ()> {
                b.fill(byte);
                Ok(())
            })
            .unwrap()
        };
        // Offsets chosen to land in one shard (the shard is a function of the key).
        let shard = BlockCache::shard_index((9, 0));
        let mut same_shard = (0..).filter(|&offset| BlockCache::shard_index((9, offset)) == shard);
        let offsets: Vec<u64> = same_shard.by_ref().take(4).collect();
        let held = block(1);
        cache.insert(9, offsets[0], held.clone(), BlockPriority::Data);
        cache.insert(9, offsets[1], block(2), BlockPriority::Data);
        cache.insert(9, offsets[2], block(3), BlockPriority::Data);
        // A miss before anything was evicted has no spare.
        let next = same_shard.next().unwrap();
        assert_eq!(cache.get_or_spare(9, next, 100).unwrap_err(), None);
        // Evicts the first (still held by a reader: its buffer stays with it), then the
        // second (held by nothing: its buffer is kept).
        cache.insert(9, offsets[3], block(4), BlockPriority::Data);
        cache.insert(9, next, block(5), BlockPriority::Data);
        assert_eq!(held, [1; 100]);
        let spare = cache
            .get_or_spare(9, same_shard.next().unwrap(), 90)
            .unwrap_err();
        let spare = spare.expect("the unshared evicted block's buffer");
        assert_eq!(spare.len(), 100);
        // A block much shorter than the spare does not take it.
        assert_eq!(
            cache
                .get_or_spare(9, same_shard.next().unwrap(), 10)
                .unwrap_err(),
            None
        );
    }

    #[test]
    fn referenced_blocks_get_a_second_chance() {
        let cache = BlockCache::with_capacity_bytes(16 * 300);
        let keys: Vec<u64> = (0..10_000).collect();
        for &offset in &keys {
            cache.insert(7, offset, Slice::from(vec![0; 100]), BlockPriority::Data);
            // Keep touching block 0: it should survive.
            let _ = cache.get(7, 0);
        }
        assert!(cache.get(7, 0).is_some());
        assert!(cache.stats().used_bytes <= 16 * 300);
    }
}
