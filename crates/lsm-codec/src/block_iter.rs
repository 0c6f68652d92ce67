//! [`BlockIter`]: a double-ended iterator over a block's entries, with seeks.
//!
//! The front decodes forward from its offset, carrying the previous key for prefix
//! truncation. The back cannot decode backwards, so it decodes the restart interval
//! before its bound into a small stack and pops from it. The two ends meet without
//! overlap: the front stops at the start of the last entry the back returned, and the
//! back stops at the front's offset.
//!
//! A malformed entry yields one `Err` and ends the iteration from that end.
#![deny(clippy::indexing_slicing)]

use std::cmp::Ordering;

use lsm_core::{DecodeError, InternalEntry, KeyOrder, SeqNo, Slice};

use crate::DataBlock;
use crate::data_block::{Bound, compare};

/// Iterates over a [`DataBlock`] from both ends; see the module docs.
#[derive(Debug, Clone)]
pub struct BlockIter {
    block: DataBlock,
    /// Start of the next entry the front yields.
    front_offset: usize,
    /// Key of the entry before `front_offset` (prefix truncation needs it).
    front_key: Vec<u8>,
    /// Start of the last entry the back yielded; the front stops here.
    back_end: usize,
    /// Decoded entries of the interval before `back_end`, with their start offsets.
    back_stack: Vec<(usize, InternalEntry)>,
}

impl BlockIter {
    pub(crate) fn new(block: DataBlock) -> Self {
        let back_end = block.data_end();
        Self {
            block,
            front_offset: 0,
            front_key: Vec::new(),
            back_end,
            back_stack: Vec::new(),
        }
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
        let target = (user_key, seqno);
        let (offset, previous_key) = self.scan_to(order, target, Bound::Lower, |ordering| {
            ordering != Ordering::Less
        })?;
        self.front_offset = offset;
        self.front_key = previous_key;
        Ok(())
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
        let (offset, _) = self.scan_to(order, target, Bound::Upper, |ordering| {
            ordering == Ordering::Greater
        })?;
        self.back_end = offset;
        self.back_stack.clear();
        Ok(())
    }

    /// Decodes forward from the right restart to the first entry where `stop` holds for
    /// its order against `target`; returns that entry's offset and the key before it.
    fn scan_to(
        &self,
        order: &KeyOrder,
        target: (&[u8], SeqNo),
        bound: Bound,
        stop: impl Fn(Ordering) -> bool,
    ) -> Result<(usize, Vec<u8>), DecodeError> {
        let restart_idx = self.block.restart_before(order, target, bound)?;
        let mut offset = self.block.restart_offset(restart_idx)?;
        let mut previous_key = Vec::new();
        let mut key = Vec::new();
        while offset < self.block.data_end() {
            let header = self.block.decode_header(offset, &previous_key)?;
            key.clone_from(&previous_key);
            self.block.apply_key(&header, &mut key)?;
            if stop(compare(order, (&key, header.seqno), target)) {
                break;
            }
            std::mem::swap(&mut previous_key, &mut key);
            offset = header.next_offset;
        }
        Ok((offset, previous_key))
    }

    fn next_front(&mut self) -> Result<InternalEntry, DecodeError> {
        let header = self
            .block
            .decode_header(self.front_offset, &self.front_key)?;
        self.block.apply_key(&header, &mut self.front_key)?;
        let entry = self.block.entry_at(&header, Slice::new(&self.front_key))?;
        self.front_offset = header.next_offset;
        Ok(entry)
    }

    /// Decodes the restart interval that holds the entry before `back_end`.
    fn load_back_interval(&mut self) -> Result<(), DecodeError> {
        let (mut low, mut high) = (0, self.block.restart_count());
        // Find the last restart starting before `back_end` (restart 0 starts at 0).
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if self.block.restart_offset(mid)? < self.back_end {
                low = mid;
            } else {
                high = mid;
            }
        }
        let mut offset = self.block.restart_offset(low)?;
        let mut key = Vec::new();
        while offset < self.back_end {
            let header = self.block.decode_header(offset, &key)?;
            self.block.apply_key(&header, &mut key)?;
            let entry = self.block.entry_at(&header, Slice::new(&key))?;
            self.back_stack.push((offset, entry));
            offset = header.next_offset;
        }
        Ok(())
    }
}

impl Iterator for BlockIter {
    type Item = Result<InternalEntry, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.front_offset >= self.back_end {
            return None;
        }
        let entry = self.next_front();
        if entry.is_err() {
            self.front_offset = self.back_end;
        }
        Some(entry)
    }
}

impl DoubleEndedIterator for BlockIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.back_stack.is_empty()
            && self.back_end > self.front_offset
            && let Err(error) = self.load_back_interval()
        {
            self.back_stack.clear();
            self.back_end = self.front_offset;
            return Some(Err(error));
        }
        let (start, entry) = self.back_stack.pop()?;
        if start < self.front_offset {
            self.back_stack.clear();
            self.back_end = self.front_offset;
            return None;
        }
        self.back_end = start;
        Some(Ok(entry))
    }
}
