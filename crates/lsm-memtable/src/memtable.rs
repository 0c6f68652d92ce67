//! [`Memtable`]: a concurrent skiplist of internal entries with size accounting.

use std::ops::RangeBounds;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use lsm_core::{
    InternalEntry, InternalKey, KeyOrder, MemtableId, RangeTombstone, SeqNo, UserKey, ValueType,
};

use crate::MemtableIter;
use crate::items::Items;

/// Bytes counted per entry on top of its key and value: the skiplist node, the internal
/// key's fields and the two reference counts, roughly.
pub const ENTRY_OVERHEAD_BYTES: u64 = 64;

/// An in-memory sorted set of internal entries; see the crate docs.
#[derive(Debug)]
pub struct Memtable {
    id: MemtableId,
    pub(crate) items: Items,
    order: KeyOrder,
    /// Range tombstones, in insertion order (few, and read whole).
    range_tombstones: RwLock<Vec<RangeTombstone>>,
    /// How many range tombstones are held (read without the lock on the hot path).
    range_tombstone_total: AtomicU64,
    approximate_size: AtomicU64,
    highest_seqno: AtomicU64,
    /// `SeqNo::MAX` while empty.
    lowest_seqno: AtomicU64,
}

impl Memtable {
    /// An empty memtable whose keys sort in the lexicographic order.
    #[must_use]
    pub fn new(id: MemtableId) -> Self {
        Self::new_in(id, &KeyOrder::lexicographic())
    }

    /// An empty memtable whose keys sort in `order` (an overlay given to a read of a
    /// tree must be in the tree's order).
    #[must_use]
    pub fn new_in(id: MemtableId, order: &KeyOrder) -> Self {
        Self {
            id,
            items: Items::new(order),
            order: order.clone(),
            range_tombstones: RwLock::new(Vec::new()),
            range_tombstone_total: AtomicU64::new(0),
            approximate_size: AtomicU64::new(0),
            highest_seqno: AtomicU64::new(0),
            lowest_seqno: AtomicU64::new(SeqNo::MAX),
        }
    }

    /// The memtable's id.
    #[must_use]
    pub fn id(&self) -> MemtableId {
        self.id
    }

    /// Widens the seqno bounds to `seqno` (a plain load when they already hold it, as
    /// for a memtable written in seqno order).
    fn note_seqno(&self, seqno: SeqNo) {
        self.highest_seqno.fetch_max(seqno, Ordering::AcqRel);
        if seqno < self.lowest_seqno.load(Ordering::Acquire) {
            self.lowest_seqno.fetch_min(seqno, Ordering::AcqRel);
        }
    }

    /// Inserts an entry; returns the bytes it added and the memtable's new size.
    ///
    /// Keys and values are assumed to be within the limits (the tree checks user input).
    /// Inserting the same internal key twice keeps the later value.
    pub fn insert(&self, entry: InternalEntry) -> (u64, u64) {
        let added =
            entry.key.user_key.len() as u64 + entry.value.len() as u64 + ENTRY_OVERHEAD_BYTES;
        self.note_seqno(entry.key.seqno);
        self.items.insert(entry.key, entry.value);
        let size = self.approximate_size.fetch_add(added, Ordering::AcqRel) + added;
        (added, size)
    }

    /// Inserts a range tombstone; returns the bytes it added and the memtable's new size.
    pub fn insert_range_tombstone(&self, tombstone: RangeTombstone) -> (u64, u64) {
        let added =
            tombstone.start.len() as u64 + tombstone.end.len() as u64 + ENTRY_OVERHEAD_BYTES;
        self.note_seqno(tombstone.seqno);
        self.range_tombstones
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tombstone);
        self.range_tombstone_total.fetch_add(1, Ordering::AcqRel);
        let size = self.approximate_size.fetch_add(added, Ordering::AcqRel) + added;
        (added, size)
    }

    /// The range tombstones held.
    #[must_use]
    pub fn range_tombstones(&self) -> Vec<RangeTombstone> {
        self.range_tombstones
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The highest seqno of a range tombstone here that hides the version of `user_key`
    /// at `version_seqno` from a read at `read_seqno`.
    #[must_use]
    pub fn hiding_seqno(
        &self,
        user_key: &[u8],
        version_seqno: SeqNo,
        read_seqno: SeqNo,
    ) -> Option<SeqNo> {
        if self.range_tombstone_total.load(Ordering::Acquire) == 0 {
            return None;
        }
        let tombstones = self
            .range_tombstones
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        lsm_core::range_tombstone::hiding_seqno(
            &self.order,
            tombstones.iter(),
            user_key,
            version_seqno,
            read_seqno,
        )
    }

    /// Range tombstones held.
    #[must_use]
    pub fn range_tombstone_count(&self) -> usize {
        self.range_tombstones
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The newest version of `user_key` with a seqno below `read_seqno`, tombstones
    /// included (range tombstones are the caller's to apply: see
    /// [`Self::range_tombstones`]).
    #[must_use]
    pub fn get(&self, user_key: &[u8], read_seqno: SeqNo) -> Option<InternalEntry> {
        if read_seqno == 0 {
            return None;
        }
        // The first entry at or after (key, read_seqno - 1) is the newest visible version
        // of the key, if it has one.
        let target = InternalKey::new(UserKey::new(user_key), read_seqno - 1, ValueType::Value);
        self.items.version_at_or_after(target)
    }

    /// A double-ended scan of the versions with user keys in `range` and seqnos below
    /// `read_seqno` (every visible version, tombstones included), in internal-key order.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        self: &Arc<Self>,
        range: R,
        read_seqno: SeqNo,
    ) -> MemtableIter {
        MemtableIter::new(Arc::clone(self), range, read_seqno)
    }

    /// The order its keys sort in.
    #[must_use]
    pub fn order(&self) -> &KeyOrder {
        &self.order
    }

    /// Entries held (range tombstones not counted).
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether any entry is held (range tombstones aside).
    #[must_use]
    pub fn has_entries(&self) -> bool {
        !self.items.is_empty()
    }

    /// Whether nothing is held (no entry and no range tombstone).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.range_tombstone_count() == 0
    }

    /// Bytes of keys, values and per-entry overhead inserted so far.
    #[must_use]
    pub fn approximate_size(&self) -> u64 {
        self.approximate_size.load(Ordering::Acquire)
    }

    /// The highest seqno inserted (0 when empty).
    #[must_use]
    pub fn highest_seqno(&self) -> SeqNo {
        self.highest_seqno.load(Ordering::Acquire)
    }

    /// The lowest seqno inserted (`None` when empty).
    #[must_use]
    pub fn lowest_seqno(&self) -> Option<SeqNo> {
        let lowest = self.lowest_seqno.load(Ordering::Acquire);
        (lowest != SeqNo::MAX).then_some(lowest)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn range_tombstones_are_held_counted_and_sized() {
        let order = KeyOrder::lexicographic();
        let memtable = Memtable::new_in(1, &order);
        assert!(memtable.is_empty());
        let tombstone = RangeTombstone::new(&order, "a".into(), "c".into(), 7).unwrap();
        let (added, size) = memtable.insert_range_tombstone(tombstone.clone());
        assert_eq!(added, 2 + ENTRY_OVERHEAD_BYTES);
        assert_eq!(size, added);
        assert!(
            !memtable.is_empty(),
            "a memtable of range tombstones still flushes"
        );
        assert_eq!(memtable.len(), 0);
        assert_eq!(memtable.range_tombstones(), [tombstone]);
        assert_eq!(memtable.highest_seqno(), 7);
    }

    #[test]
    fn seqno_bounds_follow_inserts_in_any_order() {
        let order = KeyOrder::lexicographic();
        let memtable = Memtable::new_in(1, &order);
        assert_eq!(memtable.lowest_seqno(), None);
        for seqno in [9, 4, 12] {
            memtable.insert(InternalEntry::new("k", "v", seqno, ValueType::Value));
        }
        assert_eq!(memtable.lowest_seqno(), Some(4));
        assert_eq!(memtable.highest_seqno(), 12);
        let tombstone = RangeTombstone::new(&order, "a".into(), "c".into(), 2).unwrap();
        memtable.insert_range_tombstone(tombstone);
        assert_eq!(memtable.lowest_seqno(), Some(2));
    }
}
