//! [`MemtableIter`]: a `'static`, double-ended scan of a memtable.
//!
//! The skiplist's own iterators borrow it, so this one owns an `Arc` of the memtable
//! and walks by key: each end remembers the last key it yielded and refills a small
//! buffer with the next entries strictly beyond it (and strictly before the other end's
//! last key), one skiplist seek per refill. A refill takes a few entries at first and
//! twice as many each time after, so that a seek followed by a few steps copies a few
//! entries, and a long scan few seeks. The two ends therefore never yield an entry
//! twice, whatever the mix of `next` and `next_back`. Entries inserted during the scan
//! with seqnos at or above the read seqno are invisible to it, as all newer writes are.

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use lsm_core::{InternalEntry, InternalKey, KeyOrder, SeqNo, UserKey, ValueType};

use crate::Memtable;

/// Entries an end fetches with its first skiplist seek.
const REFILL_FIRST: usize = 8;

/// Entries fetched per skiplist seek at most.
const REFILL_MAX: usize = 64;

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
    /// Entries the next refill of each end fetches.
    front_batch: usize,
    back_batch: usize,
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
            front_batch: REFILL_FIRST,
            back_batch: REFILL_FIRST,
        }
    }

    fn refill_front(&mut self) {
        self.refill(false);
    }

    fn refill_back(&mut self) {
        self.refill(true);
    }

    /// Buffers the next entries of one end (`back`: the back end), moving that end past
    /// every entry it walked (visible or not).
    fn refill(&mut self, back: bool) {
        if is_empty_range(self.memtable.order(), &self.front, &self.back) {
            return;
        }
        let read_seqno = self.read_seqno;
        let (buffer, batch) = if back {
            (&mut self.back_buffer, &mut self.back_batch)
        } else {
            (&mut self.front_buffer, &mut self.front_batch)
        };
        let limit = *batch;
        *batch = (limit * 2).min(REFILL_MAX);
        let mut last = None;
        self.memtable
            .items
            .walk(&self.front, &self.back, back, limit, |entry| {
                last = Some(entry.key.clone());
                if entry.key.seqno < read_seqno {
                    buffer.push_back(entry);
                }
            });
        if let Some(last) = last {
            let end = if back {
                &mut self.back
            } else {
                &mut self.front
            };
            *end = Bound::Excluded(last);
        }
    }
}

/// The largest internal key of a user key's versions at `key.seqno == 0`: the value
/// type breaks ties after the seqno, so take the largest tag.
fn last_of(mut key: InternalKey) -> InternalKey {
    key.value_type = ValueType::Indirection;
    key
}

fn is_empty_range(order: &KeyOrder, front: &Bound<InternalKey>, back: &Bound<InternalKey>) -> bool {
    match (front, back) {
        (
            Bound::Included(start) | Bound::Excluded(start),
            Bound::Included(end) | Bound::Excluded(end),
        ) => {
            let ordering = order.cmp_internal(start, end);
            if matches!((front, back), (Bound::Included(_), Bound::Included(_))) {
                ordering == std::cmp::Ordering::Greater
            } else {
                ordering != std::cmp::Ordering::Less
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
