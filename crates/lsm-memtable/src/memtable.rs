//! [`Memtable`]: a concurrent skiplist of internal entries with size accounting.

use std::ops::RangeBounds;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use lsm_core::checksum::ChecksumBuilder;
use lsm_core::{InternalEntry, InternalKey, KeyOrder, MemtableId, RangeTombstone, SeqNo};

use crate::MemtableIter;
use crate::items::Items;

/// Bytes counted per entry on top of its key and value, so that a memtable's size is the
/// memory it takes: its skiplist node (the key's head, seqno and type, the value's
/// handle, the reference count, a tower of two links on average, the allocator's
/// header and rounding) and the header of the value's buffer. Measured from the
/// process's resident memory before and after a million inserts of 16-byte keys: 229
/// bytes an entry with 100-byte values, 133 as tombstones.
pub const ENTRY_OVERHEAD_BYTES: u64 = 112;

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
    /// With entry checks on, the wrapping sum of the hash of every entry and range
    /// tombstone inserted (see [`Self::with_entry_digest`]).
    digest: Option<AtomicU64>,
}

/// What [`Memtable::verify_digest`] found: the entries held no longer hash to what was
/// inserted (memory was corrupted after the insert).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestMismatch {
    /// The memtable.
    pub memtable: MemtableId,
    /// The sum taken at insert.
    pub expected: u64,
    /// The sum of what it holds now.
    pub got: u64,
}

/// An entry's hash for the digest: its user key, seqno, type and value.
fn entry_hash(key: &InternalKey, value: &[u8]) -> u64 {
    let mut builder = ChecksumBuilder::with_seed(0x6d65_6d74_6162_6c65);
    builder.update(&(key.user_key.len() as u64).to_le_bytes());
    builder.update(&key.user_key);
    builder.update(&key.seqno.to_le_bytes());
    builder.update(&[key.value_type.tag()]);
    builder.update(value);
    builder.finish().into_raw()
}

/// A range tombstone's hash for the digest.
fn tombstone_hash(tombstone: &RangeTombstone) -> u64 {
    let mut builder = ChecksumBuilder::with_seed(0x7261_6e67_6564_656c);
    builder.update(&(tombstone.start.len() as u64).to_le_bytes());
    builder.update(&tombstone.start);
    builder.update(&tombstone.end);
    builder.update(&tombstone.seqno.to_le_bytes());
    builder.finish().into_raw()
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
            digest: None,
        }
    }

    /// This (empty) memtable with entry checks on: every insert adds its entry's hash to
    /// a digest, which [`Self::verify_digest`] compares with what the memtable holds
    /// (a flush checks it before writing, so memory corrupted after an insert does not
    /// reach disk unnoticed). It costs a hash per insert.
    #[must_use]
    pub fn with_entry_digest(mut self) -> Self {
        self.digest = Some(AtomicU64::new(0));
        self
    }

    /// Whether entry checks are on.
    #[must_use]
    pub fn has_entry_digest(&self) -> bool {
        self.digest.is_some()
    }

    /// Hashes every entry and range tombstone held and compares the sum with the one
    /// taken at insert (a full scan; `Ok` without entry checks).
    ///
    /// # Errors
    /// [`DigestMismatch`] when they differ.
    pub fn verify_digest(&self) -> Result<(), DigestMismatch> {
        let Some(digest) = &self.digest else {
            return Ok(());
        };
        let expected = digest.load(Ordering::Acquire);
        let mut got = 0_u64;
        self.items.for_each(|key, value| {
            got = got.wrapping_add(entry_hash(key, value));
        });
        for tombstone in self.range_tombstones() {
            got = got.wrapping_add(tombstone_hash(&tombstone));
        }
        if got == expected {
            Ok(())
        } else {
            Err(DigestMismatch {
                memtable: self.id,
                expected,
                got,
            })
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
        if let Some(digest) = &self.digest {
            // An entry replacing one of the same key, seqno and type takes its place in
            // the sum too.
            let hash = entry_hash(&entry.key, &entry.value);
            let key = entry.key.clone();
            let replaced = if entry.value.is_empty() {
                // Empty values may share a buffer: look the old entry up first.
                let old = self.items.exact(&key);
                self.items.insert(entry.key, entry.value);
                old
            } else {
                self.items.insert_replacing(entry.key, entry.value)
            };
            if let Some(old) = replaced {
                digest.fetch_sub(entry_hash(&key, &old), Ordering::AcqRel);
            }
            digest.fetch_add(hash, Ordering::AcqRel);
        } else {
            self.items.insert(entry.key, entry.value);
        }
        let size = self.approximate_size.fetch_add(added, Ordering::AcqRel) + added;
        (added, size)
    }

    /// Inserts a range tombstone; returns the bytes it added and the memtable's new size.
    pub fn insert_range_tombstone(&self, tombstone: RangeTombstone) -> (u64, u64) {
        let added =
            tombstone.start.len() as u64 + tombstone.end.len() as u64 + ENTRY_OVERHEAD_BYTES;
        self.note_seqno(tombstone.seqno);
        if let Some(digest) = &self.digest {
            digest.fetch_add(tombstone_hash(&tombstone), Ordering::AcqRel);
        }
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
        self.items.version_at_or_after(user_key, read_seqno - 1)
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
    use lsm_core::ValueType;

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
    fn the_entry_digest_follows_inserts_and_catches_an_entry_changed_behind_it() {
        let memtable = Memtable::new(1).with_entry_digest();
        assert!(memtable.has_entry_digest());
        memtable.verify_digest().unwrap();
        for seqno in 0..100 {
            let key = format!("key{}", seqno % 10);
            memtable.insert(InternalEntry::new(
                key,
                vec![b'v'; 20],
                seqno,
                ValueType::Value,
            ));
        }
        // The same key, seqno and type again: the new value replaces the old in the sum,
        // also between empty values (tombstones), whose buffers may be shared.
        memtable.insert(InternalEntry::new("key3", "again", 3, ValueType::Value));
        for _ in 0..2 {
            memtable.insert(InternalEntry::new("gone", "", 50, ValueType::Tombstone));
        }
        memtable.insert(InternalEntry::new("key4", "", 4, ValueType::Value));
        let tombstone =
            RangeTombstone::new(&KeyOrder::lexicographic(), "a".into(), "b".into(), 200);
        memtable.insert_range_tombstone(tombstone.unwrap());
        memtable.verify_digest().unwrap();

        // A value changed behind the memtable's back (as corrupted memory would).
        let key = InternalKey::new("key5", 5, ValueType::Value);
        memtable
            .items
            .insert(key, lsm_core::UserValue::new(b"flipped"));
        let mismatch = memtable.verify_digest().unwrap_err();
        assert_eq!(mismatch.memtable, 1);
        assert_ne!(mismatch.expected, mismatch.got);
        // Without entry checks there is nothing to compare.
        assert!(Memtable::new(2).verify_digest().is_ok());
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
