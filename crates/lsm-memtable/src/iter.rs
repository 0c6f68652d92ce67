//! [`MemtableIter`]: a `'static`, double-ended scan of a memtable.
//!
//! The skiplist's own iterators borrow it, so this one owns an `Arc` of the memtable
//! and walks by key: each end remembers the last key it yielded and refills a small
//! buffer with the next entries strictly beyond it (and strictly before the other end's
//! last key), one skiplist seek per refill. The two ends therefore never yield an entry
//! twice, whatever the mix of `next` and `next_back`. Entries inserted during the scan
//! with seqnos at or above the read seqno are invisible to it, as all newer writes are.

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use lsm_core::{InternalEntry, InternalKey, SeqNo, UserKey, ValueType};

use crate::Memtable;

/// Entries fetched per skiplist seek.
const REFILL_COUNT: usize = 64;

/// A double-ended scan of a memtable; see the module docs.
pub struct MemtableIter {
    memtable: Arc<Memtable>,
    read_seqno: SeqNo,
    /// Where the front continues: at or after (`Included`) or after (`Excluded`) this key.
    front: Bound<InternalKey>,
    /// Where the back continues, symmetrically.
    back: Bound<InternalKey>,
    front_buffer: VecDeque<InternalEntry>,
    back_buffer: VecDeque<InternalEntry>,
}

impl MemtableIter {
    pub(crate) fn new<K: AsRef<[u8]>, R: RangeBounds<K>>(
        memtable: Arc<Memtable>,
        range: R,
        read_seqno: SeqNo,
    ) -> Self {
        // Internal keys of one user key span (key, MAX) ..= (key, 0) in sort order.
        let internal =
            |key: &K, seqno| InternalKey::new(UserKey::new(key.as_ref()), seqno, ValueType::Value);
        let front = match range.start_bound() {
            Bound::Included(key) => Bound::Included(internal(key, SeqNo::MAX)),
            Bound::Excluded(key) => Bound::Excluded(last_of(internal(key, 0))),
            Bound::Unbounded => Bound::Unbounded,
        };
        let back = match range.end_bound() {
            Bound::Included(key) => Bound::Included(last_of(internal(key, 0))),
            Bound::Excluded(key) => Bound::Excluded(internal(key, SeqNo::MAX)),
            Bound::Unbounded => Bound::Unbounded,
        };
        Self {
            memtable,
            read_seqno,
            front,
            back,
            front_buffer: VecDeque::new(),
            back_buffer: VecDeque::new(),
        }
    }

    fn refill_front(&mut self) {
        let range = (self.front.clone(), self.back.clone());
        if is_empty_range(&range) {
            return;
        }
        for entry in self.memtable.items.range(range).take(REFILL_COUNT) {
            self.front = Bound::Excluded(entry.key().clone());
            if entry.key().seqno < self.read_seqno {
                self.front_buffer.push_back(InternalEntry {
                    key: entry.key().clone(),
                    value: entry.value().clone(),
                });
            }
        }
    }

    fn refill_back(&mut self) {
        let range = (self.front.clone(), self.back.clone());
        if is_empty_range(&range) {
            return;
        }
        for entry in self.memtable.items.range(range).rev().take(REFILL_COUNT) {
            self.back = Bound::Excluded(entry.key().clone());
            if entry.key().seqno < self.read_seqno {
                self.back_buffer.push_back(InternalEntry {
                    key: entry.key().clone(),
                    value: entry.value().clone(),
                });
            }
        }
    }
}

/// The largest internal key of a user key's versions at `key.seqno == 0`: the value
/// type breaks ties after the seqno, so take the largest tag.
fn last_of(mut key: InternalKey) -> InternalKey {
    key.value_type = ValueType::Indirection;
    key
}

fn is_empty_range(range: &(Bound<InternalKey>, Bound<InternalKey>)) -> bool {
    match range {
        (
            Bound::Included(start) | Bound::Excluded(start),
            Bound::Included(end) | Bound::Excluded(end),
        ) => {
            let both_included = matches!(range, (Bound::Included(_), Bound::Included(_)));
            if both_included {
                start > end
            } else {
                start >= end
            }
        }
        _ => false,
    }
}

impl Iterator for MemtableIter {
    type Item = InternalEntry;

    fn next(&mut self) -> Option<InternalEntry> {
        loop {
            if let Some(entry) = self.front_buffer.pop_front() {
                return Some(entry);
            }
            let before = self.front.clone();
            self.refill_front();
            if self.front_buffer.is_empty() && self.front == before {
                // Nothing left between the ends: what the back buffered is all there is.
                return self.back_buffer.pop_back();
            }
            // Invisible entries may have filled the whole batch; keep going.
        }
    }
}

impl DoubleEndedIterator for MemtableIter {
    fn next_back(&mut self) -> Option<InternalEntry> {
        loop {
            if let Some(entry) = self.back_buffer.pop_front() {
                return Some(entry);
            }
            let before = self.back.clone();
            self.refill_back();
            if self.back_buffer.is_empty() && self.back == before {
                return self.front_buffer.pop_back();
            }
        }
    }
}
