//! [`RowCache`]: the answers of point reads, per table and key, so that a repeated
//! read of a hot key skips the filter, the index and the data block.
//!
//! A table never changes, so an answer stays right for as long as the table lives (a
//! new table has a new id, and entries of a dropped table age out). Only an answer that
//! holds at every seqno is cached: the table's newest version of the key, or that it
//! has none, taken by a read that saw every version of the table. A read at an older
//! seqno uses a cached version only if it is old enough, and reads the table otherwise.
//!
//! The rows live in a [`BlockCache`] of their own (the same sharded, two-ring CLOCK),
//! keyed by the table and a hash of the key; each cached row holds its key, which a
//! lookup compares, so a hash collision is a miss, never a wrong answer.

use lsm_core::coding::Decoder;
use lsm_core::{InternalEntry, SeqNo, Slice, ValueType};

use crate::block_cache::{BlockCache, BlockCacheStats, BlockPriority};

/// A cache of point-read answers (see the module documentation); share one between
/// tables through [`crate::ReadOptions::row_cache`].
#[derive(Debug)]
pub struct RowCache {
    rows: BlockCache,
}

/// A cached answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Row {
    /// The table holds no version of the key.
    Absent,
    /// The table's newest version of the key.
    Newest(InternalEntry),
}

const ABSENT: u8 = 0;
const NEWEST: u8 = 1;

impl RowCache {
    /// A row cache of about `capacity_bytes`.
    #[must_use]
    pub fn with_capacity_bytes(capacity_bytes: u64) -> Self {
        Self {
            rows: BlockCache::with_capacity_bytes(capacity_bytes),
        }
    }

    /// A fresh id for a table's rows.
    pub(crate) fn new_table_id(&self) -> u64 {
        self.rows.new_table_id()
    }

    /// Hits, misses (hash collisions count as misses only when the key differs),
    /// insertions, evictions and size.
    #[must_use]
    pub fn stats(&self) -> BlockCacheStats {
        self.rows.stats()
    }

    /// The cached answer for `key` in table `table_id`, if any.
    pub(crate) fn get(&self, table_id: u64, key: &[u8]) -> Option<Row> {
        let bytes = self.rows.get(table_id, key_hash(key))?;
        decode(&bytes, key)
    }

    /// Caches the answer for `key` in table `table_id`.
    pub(crate) fn insert(&self, table_id: u64, key: &[u8], row: &Row) {
        let mut bytes = Vec::with_capacity(key.len() + 16);
        bytes.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_le_bytes());
        bytes.extend_from_slice(key);
        match row {
            Row::Absent => bytes.push(ABSENT),
            Row::Newest(entry) => {
                bytes.push(NEWEST);
                bytes.extend_from_slice(&entry.key.seqno.to_le_bytes());
                bytes.push(entry.key.value_type.tag());
                bytes.extend_from_slice(&entry.value);
            }
        }
        self.rows.insert(
            table_id,
            key_hash(key),
            Slice::from(bytes),
            BlockPriority::Data,
        );
    }
}

fn key_hash(key: &[u8]) -> u64 {
    lsm_core::Checksum::of(key).into_raw()
}

/// The row `bytes` holds, if it is `key`'s (a colliding key's row is not).
fn decode(bytes: &Slice, key: &[u8]) -> Option<Row> {
    let mut decoder = Decoder::new(bytes);
    let key_len = decoder.u32().ok()? as usize;
    if decoder.bytes(key_len).ok()? != key {
        return None;
    }
    match decoder.u8().ok()? {
        ABSENT => Some(Row::Absent),
        NEWEST => {
            let seqno: SeqNo = decoder.u64().ok()?;
            let value_type = ValueType::try_from(decoder.u8().ok()?).ok()?;
            let start = bytes.len() - decoder.remaining();
            Some(Row::Newest(InternalEntry::new(
                Slice::new(key),
                bytes.slice(start..),
                seqno,
                value_type,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_a_colliding_key_is_a_miss() {
        let cache = RowCache::with_capacity_bytes(1 << 20);
        let table = cache.new_table_id();
        let entry = InternalEntry::new("apple", "red", 7, ValueType::Value);
        cache.insert(table, b"apple", &Row::Newest(entry.clone()));
        cache.insert(table, b"pear", &Row::Absent);
        assert_eq!(cache.get(table, b"apple"), Some(Row::Newest(entry)));
        assert_eq!(cache.get(table, b"pear"), Some(Row::Absent));
        assert_eq!(cache.get(table, b"plum"), None);
        assert_eq!(cache.get(cache.new_table_id(), b"apple"), None);
        // A row stored under another key's hash is not that key's answer.
        let stored = cache.rows.get(table, key_hash(b"apple")).unwrap();
        assert_eq!(decode(&stored, b"apples"), None);
        let tombstone = InternalEntry::new("fig", "", 9, ValueType::Tombstone);
        cache.insert(table, b"fig", &Row::Newest(tombstone.clone()));
        assert_eq!(cache.get(table, b"fig"), Some(Row::Newest(tombstone)));
    }
}
