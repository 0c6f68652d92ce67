//! [`BlockIter`]: a double-ended iterator over a block's entries, with seeks.
//!
//! Both ends work a restart interval at a time: the entries of the interval an end
//! enters are decoded together, and their keys (which prefix truncation stores in part)
//! are rebuilt into one shared buffer, so an interval of sixteen entries costs one
//! allocation for its keys rather than one per entry; values stay windows of the block.
//! The front queues its interval's entries from its offset on, the back stacks those
//! before its bound. The two ends meet without overlap: the front stops at the start of
//! the last entry the back returned, and the back stops at the front's offset.
//!
//! A malformed entry yields one `Err` and ends the iteration from that end.
#![deny(clippy::indexing_slicing)]

use std::cmp::Ordering;
use std::collections::VecDeque;

use lsm_core::{DecodeError, InternalEntry, InternalKey, KeyOrder, SeqNo, Slice};

use crate::DataBlock;
use crate::data_block::{Bound, EntryHeader, compare};

/// An entry decoded with where it lies in the block.
#[derive(Debug, Clone)]
struct Decoded {
    /// Start of the entry.
    start: usize,
    /// Start of the entry after it.
    next: usize,
    entry: InternalEntry,
}

/// Iterates over a [`DataBlock`] from both ends; see the module docs.
#[derive(Debug, Clone)]
pub struct BlockIter {
    block: DataBlock,
    /// Start of the next entry the front yields.
    front_offset: usize,
    /// Start of the last entry the back yielded; the front stops here.
    back_end: usize,
    /// Decoded entries of the front's interval from `front_offset` on, in order.
    front_queue: VecDeque<Decoded>,
    /// Decoded entries of the interval before `back_end`, in order (popped from the end).
    back_stack: Vec<Decoded>,
    /// Scratch for decoding an interval: the running key, the rebuilt keys, and each
    /// entry's place among them.
    scratch_key: Vec<u8>,
    scratch_keys: Vec<u8>,
    scratch_found: Vec<(usize, usize, usize, EntryHeader)>,
}

impl BlockIter {
    pub(crate) fn new(block: DataBlock) -> Self {
        let back_end = block.data_end();
        Self {
            block,
            front_offset: 0,
            back_end,
            front_queue: VecDeque::new(),
            back_stack: Vec::new(),
            scratch_key: Vec::new(),
            scratch_keys: Vec::new(),
            scratch_found: Vec::new(),
        }
    }

    /// Restarts both ends at the block's ends, as a new iterator over the block would
    /// stand (its buffers are kept).
    pub fn rewind(&mut self) {
        self.front_offset = 0;
        self.back_end = self.block.data_end();
        self.front_queue.clear();
        self.back_stack.clear();
    }

    /// Moves the front to the first entry at or after `(user_key, seqno)` in internal-key
    /// order (the newest version of `user_key` with a seqno at most `seqno`, or the next
    /// key). `seek(key, SeqNo::MAX)` lands on the newest version of `key`.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub fn seek(
        &mut self,
        order: &KeyOrder,
        user_key: &[u8],
        seqno: SeqNo,
    ) -> Result<(), DecodeError> {
        // One pass: decode from the restart before the target, and queue the entries of
        // that interval from the target on (the next `next` needs no second decode).
        let target = (user_key, seqno);
        let restart_idx = self.block.restart_before(order, target, Bound::Lower)?;
        let until = self.interval_end(restart_idx)?.min(self.back_end);
        let mut decoded = Vec::from(std::mem::take(&mut self.front_queue));
        let found = self.decode_range(
            restart_idx,
            until,
            |_, key, seqno| compare(order, (key, seqno), target) != Ordering::Less,
            &mut decoded,
        );
        self.front_queue = decoded.into();
        match found {
            Ok(offset) => {
                self.front_offset = offset;
                Ok(())
            }
            Err(error) => {
                self.front_queue.clear();
                Err(error)
            }
        }
    }

    /// Moves the back to the last entry at or before `(user_key, seqno)` in internal-key
    /// order. `seek_for_prev(key, 0)` lands on the oldest version of `key`.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub fn seek_for_prev(
        &mut self,
        order: &KeyOrder,
        user_key: &[u8],
        seqno: SeqNo,
    ) -> Result<(), DecodeError> {
        let target = (user_key, seqno);
        let offset = self.scan_to(order, target, Bound::Upper, |ordering| {
            ordering == Ordering::Greater
        })?;
        self.back_end = offset;
        self.back_stack.clear();
        Ok(())
    }

    /// The first entry at or after `(user_key, seqno)` in internal-key order, decoded
    /// alone (what an index lookup needs: no iterator, one key copied).
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub(crate) fn first_at_or_after(
        block: &DataBlock,
        order: &KeyOrder,
        user_key: &[u8],
        seqno: SeqNo,
    ) -> Result<Option<InternalEntry>, DecodeError> {
        let target = (user_key, seqno);
        let restart_idx = block.restart_before(order, target, Bound::Lower)?;
        let mut offset = block.restart_offset(restart_idx)?;
        let mut key = Vec::new();
        while offset < block.data_end() {
            let header = block.decode_header(offset, &key)?;
            block.apply_key(&header, &mut key)?;
            if compare(order, (&key, header.seqno), target) != Ordering::Less {
                return block.entry_at(&header, Slice::new(&key)).map(Some);
            }
            offset = header.next_offset;
        }
        Ok(None)
    }

    /// Decodes forward from the right restart to the first entry where `stop` holds for
    /// its order against `target`; returns that entry's offset.
    fn scan_to(
        &self,
        order: &KeyOrder,
        target: (&[u8], SeqNo),
        bound: Bound,
        stop: impl Fn(Ordering) -> bool,
    ) -> Result<usize, DecodeError> {
        let restart_idx = self.block.restart_before(order, target, bound)?;
        let mut offset = self.block.restart_offset(restart_idx)?;
        let mut key = Vec::new();
        while offset < self.block.data_end() {
            let header = self.block.decode_header(offset, &key)?;
            self.block.apply_key(&header, &mut key)?;
            if stop(compare(order, (&key, header.seqno), target)) {
                break;
            }
            offset = header.next_offset;
        }
        Ok(offset)
    }

    /// The index of the last restart that starts at or before `offset` (restart 0
    /// starts at 0), by binary search.
    fn restart_at_or_before(&self, offset: usize) -> Result<usize, DecodeError> {
        let (mut low, mut high) = (0, self.block.restart_count());
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if self.block.restart_offset(mid)? <= offset {
                low = mid;
            } else {
                high = mid;
            }
        }
        Ok(low)
    }

    /// Where the interval of restart `restart_idx` ends: the next restart, or the end of
    /// the entries.
    fn interval_end(&self, restart_idx: usize) -> Result<usize, DecodeError> {
        if restart_idx + 1 < self.block.restart_count() {
            self.block.restart_offset(restart_idx + 1)
        } else {
            Ok(self.block.data_end())
        }
    }

    /// Decodes from restart `restart_idx` up to `until` into `out`, in order, from the
    /// first entry `first` accepts (given its offset, key and seqno) on; their keys are
    /// rebuilt into one shared buffer. Returns the offset of the first entry taken, or
    /// where decoding stopped when none was. The scratch buffers are the iterator's,
    /// reused from interval to interval.
    fn decode_range(
        &mut self,
        restart_idx: usize,
        until: usize,
        first: impl Fn(usize, &[u8], SeqNo) -> bool,
        out: &mut Vec<Decoded>,
    ) -> Result<usize, DecodeError> {
        out.clear();
        let mut offset = self.block.restart_offset(restart_idx)?;
        let (key, keys, found) = (
            &mut self.scratch_key,
            &mut self.scratch_keys,
            &mut self.scratch_found,
        );
        key.clear();
        keys.clear();
        found.clear();
        let mut taking = false;
        let mut first_offset = None;
        while offset < until {
            let header = self.block.decode_header(offset, key)?;
            self.block.apply_key(&header, key)?;
            taking = taking || first(offset, key, header.seqno);
            if taking {
                first_offset.get_or_insert(offset);
                found.push((offset, keys.len(), key.len(), header));
                keys.extend_from_slice(key);
            }
            offset = header.next_offset;
        }
        let keys = Slice::new(keys);
        for &(start, key_start, key_len, header) in found.iter() {
            out.push(Decoded {
                start,
                next: header.next_offset,
                entry: InternalEntry {
                    key: InternalKey {
                        user_key: keys.slice(key_start..key_start + key_len),
                        seqno: header.seqno,
                        value_type: header.value_type,
                    },
                    value: self.block.value_of(&header)?,
                },
            });
        }
        Ok(first_offset.unwrap_or(offset))
    }

    /// Queues the entries of the front's interval, from the front's offset to the
    /// interval's end (or the back's bound).
    fn load_front_interval(&mut self) -> Result<(), DecodeError> {
        let from = self.front_offset;
        let restart_idx = self.restart_at_or_before(from)?;
        let until = self.interval_end(restart_idx)?.min(self.back_end);
        // The queue's buffer is reused (a deque turns into a vector and back in place).
        let mut decoded = Vec::from(std::mem::take(&mut self.front_queue));
        let result = self.decode_range(
            restart_idx,
            until,
            |offset, _, _| offset >= from,
            &mut decoded,
        );
        self.front_queue = decoded.into();
        result.map(|_| ())
    }

    /// Stacks the entries of the interval before the back's bound.
    fn load_back_interval(&mut self) -> Result<(), DecodeError> {
        let restart_idx = self.restart_at_or_before(self.back_end.saturating_sub(1))?;
        let mut stack = std::mem::take(&mut self.back_stack);
        let result = self.decode_range(restart_idx, self.back_end, |_, _, _| true, &mut stack);
        self.back_stack = stack;
        result.map(|_| ())
    }
}

impl Iterator for BlockIter {
    type Item = Result<InternalEntry, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(decoded) = self.front_queue.pop_front() {
                if decoded.start >= self.back_end {
                    // The back has yielded it already.
                    self.front_queue.clear();
                    self.front_offset = self.back_end;
                    return None;
                }
                self.front_offset = decoded.next;
                return Some(Ok(decoded.entry));
            }
            if self.front_offset >= self.back_end {
                return None;
            }
            if let Err(error) = self.load_front_interval() {
                self.front_offset = self.back_end;
                return Some(Err(error));
            }
            if self.front_queue.is_empty() {
                // Nothing starts where the front stands: the block ends there.
                self.front_offset = self.back_end;
                return None;
            }
        }
    }
}

impl DoubleEndedIterator for BlockIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(decoded) = self.back_stack.pop() {
                if decoded.start < self.front_offset {
                    // The front has yielded it already.
                    self.back_stack.clear();
                    self.back_end = self.front_offset;
                    return None;
                }
                self.back_end = decoded.start;
                return Some(Ok(decoded.entry));
            }
            if self.back_end <= self.front_offset {
                return None;
            }
            if let Err(error) = self.load_back_interval() {
                self.back_stack.clear();
                self.back_end = self.front_offset;
                return Some(Err(error));
            }
            if self.back_stack.is_empty() {
                self.back_end = self.front_offset;
                return None;
            }
        }
    }
}
