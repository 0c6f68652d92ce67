//! [`DataBlock`]: a decoded view of a data (or index) block's payload.
//!
//! Opening a block reads and checks its trailer and restart array (a block checked
//! before, held in a cache, is reopened in constant time); entries are decoded
//! lazily. Every offset read from the block is bounds-checked, so a malformed payload
//! yields [`DecodeError`], never a panic or an out-of-bounds read. The format is the one
//! [`crate::DataBlockBuilder`] writes.
#![deny(clippy::indexing_slicing)]

use std::cmp::{Ordering, Reverse};

use lsm_core::coding::Decoder;
use lsm_core::{DecodeError, InternalEntry, InternalKey, KeyOrder, SeqNo, Slice, ValueType};

use crate::BlockIter;
use crate::hash_index::{self, Lookup};
use crate::layout::{
    BLOCK_FLAG_HASH_INDEX, BLOCK_FLAGS_KNOWN, BLOCK_TRAILER_LEN, HASH_BUCKET_COUNT_LEN,
    RESTART_OFFSET_LEN,
};

/// A data or index block, ready to search and iterate. Clones share the bytes.
#[derive(Clone, Debug)]
pub struct DataBlock {
    bytes: Slice,
    /// End of the entries, start of the restart array.
    data_end: usize,
    restart_count: usize,
    /// Range of the hash buckets, when the block has a hash index.
    hash_buckets: Option<(usize, usize)>,
}

/// An entry's header fields and where its parts lie in the block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryHeader {
    pub shared: usize,
    pub seqno: SeqNo,
    pub value_type: ValueType,
    pub suffix_start: usize,
    pub value_start: usize,
    pub next_offset: usize,
}

impl DataBlock {
    /// Opens a block payload, checking its trailer, hash index and whole restart array.
    ///
    /// # Errors
    /// [`DecodeError`] when the trailer, the hash index or the restart array is malformed.
    pub fn new(bytes: Slice) -> Result<Self, DecodeError> {
        let block = Self::reopen(bytes)?;
        block.check_restarts()?;
        Ok(block)
    }

    /// Opens a payload that [`Self::new`] accepted before (a block held in a cache after
    /// it was checked on its way in): the trailer and hash index are read again, in
    /// constant time, but the restart array is not walked. Entries are still decoded
    /// with bounds checks, so a payload that was never checked gives errors, not wrong
    /// answers or panics.
    ///
    /// # Errors
    /// [`DecodeError`] when the trailer or the hash index is malformed.
    pub fn reopen(bytes: Slice) -> Result<Self, DecodeError> {
        let len = bytes.len();
        let trailer_start =
            len.checked_sub(BLOCK_TRAILER_LEN)
                .ok_or(DecodeError::UnexpectedEof {
                    offset: 0,
                    needed: BLOCK_TRAILER_LEN,
                    available: len,
                })?;
        let mut trailer = Decoder::at(&bytes, trailer_start)?;
        let restart_count = trailer.u32()? as usize;
        let flags = trailer.u8()?;
        if flags & !BLOCK_FLAGS_KNOWN != 0 {
            return Err(invalid("block flags", u64::from(flags), trailer_start + 4));
        }

        let mut restarts_end = trailer_start;
        let mut hash_buckets = None;
        if flags & BLOCK_FLAG_HASH_INDEX != 0 {
            let count_offset = restarts_end
                .checked_sub(HASH_BUCKET_COUNT_LEN)
                .ok_or_else(|| invalid("hash index", 0, restarts_end))?;
            let bucket_count = usize::from(Decoder::at(&bytes, count_offset)?.u16()?);
            let buckets_start = count_offset
                .checked_sub(bucket_count)
                .filter(|_| bucket_count > 0)
                .ok_or_else(|| invalid("hash bucket count", bucket_count as u64, count_offset))?;
            hash_buckets = Some((buckets_start, count_offset));
            restarts_end = buckets_start;
        }

        let restarts_len = restart_count
            .checked_mul(RESTART_OFFSET_LEN)
            .filter(|&restarts_len| restarts_len <= restarts_end && restart_count > 0)
            .ok_or_else(|| invalid("restart count", restart_count as u64, trailer_start))?;
        let data_end = restarts_end - restarts_len;
        Ok(Self {
            bytes,
            data_end,
            restart_count,
            hash_buckets,
        })
    }

    /// Restart offsets must start at 0 and strictly increase inside the entry area.
    fn check_restarts(&self) -> Result<(), DecodeError> {
        let mut previous = None;
        for restart_idx in 0..self.restart_count {
            let offset = self.restart_offset(restart_idx)?;
            let valid = match previous {
                None => offset == 0,
                Some(previous) => offset > previous && offset < self.data_end,
            };
            if !valid || offset >= self.data_end {
                return Err(invalid(
                    "restart offset",
                    offset as u64,
                    self.data_end + restart_idx * RESTART_OFFSET_LEN,
                ));
            }
            previous = Some(offset);
        }
        Ok(())
    }

    /// The block's bytes.
    #[must_use]
    pub fn bytes(&self) -> &Slice {
        &self.bytes
    }

    /// The number of restart points.
    #[must_use]
    pub fn restart_count(&self) -> usize {
        self.restart_count
    }

    /// Whether the block carries a hash index.
    #[must_use]
    pub fn has_hash_index(&self) -> bool {
        self.hash_buckets.is_some()
    }

    /// A double-ended iterator over all entries.
    #[must_use]
    pub fn iter(&self) -> BlockIter {
        BlockIter::new(self.clone())
    }

    /// The newest version of `user_key` visible at `read_seqno` (seqno strictly below it),
    /// tombstones included, if this block holds one.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub fn get(
        &self,
        order: &KeyOrder,
        user_key: &[u8],
        read_seqno: SeqNo,
    ) -> Result<Option<InternalEntry>, DecodeError> {
        if read_seqno == 0 {
            return Ok(None);
        }
        let target = (user_key, read_seqno - 1);
        let start_restart = match self.hash_lookup(user_key) {
            Lookup::Absent => return Ok(None),
            Lookup::Restart(restart_idx) => restart_idx,
            Lookup::Collision => self.restart_before(order, target, Bound::Lower)?,
        };
        self.get_from(order, user_key, read_seqno, start_restart, 0)
    }

    /// [`Self::get`] starting at restart `restart_idx`, `skip` entries past it, instead
    /// of searching the block: for a caller that knows where `user_key`'s versions
    /// begin (a table's block locator). A start past the block, or past the key, finds
    /// nothing; a start before it walks forward to it.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub fn get_from(
        &self,
        order: &KeyOrder,
        user_key: &[u8],
        read_seqno: SeqNo,
        restart_idx: usize,
        skip: usize,
    ) -> Result<Option<InternalEntry>, DecodeError> {
        if read_seqno == 0 {
            return Ok(None);
        }
        let Some((mut offset, mut key)) = self.walk_from(restart_idx, skip)? else {
            return Ok(None);
        };
        let target = (user_key, read_seqno - 1);
        while offset < self.data_end {
            let header = self.decode_header(offset, &key)?;
            self.apply_key(&header, &mut key)?;
            match compare(order, (&key, header.seqno), target) {
                Ordering::Less => offset = header.next_offset,
                _ if key != user_key => return Ok(None),
                _ => return self.entry_at(&header, Slice::new(user_key)).map(Some),
            }
        }
        Ok(None)
    }

    /// The entry at position `ordinal` of a block whose restarts fall every
    /// `restart_interval` entries; `None` past the last entry.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub fn entry_by_ordinal(
        &self,
        ordinal: usize,
        restart_interval: usize,
    ) -> Result<Option<InternalEntry>, DecodeError> {
        let Some((offset, mut key)) = self.walk_to_ordinal(ordinal, restart_interval)? else {
            return Ok(None);
        };
        let header = self.decode_header(offset, &key)?;
        self.apply_key(&header, &mut key)?;
        self.entry_at(&header, Slice::from(key)).map(Some)
    }

    /// The value of the entry at position `ordinal` (see [`Self::entry_by_ordinal`]),
    /// a window of the block; its key is not rebuilt.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub fn value_by_ordinal(
        &self,
        ordinal: usize,
        restart_interval: usize,
    ) -> Result<Option<Slice>, DecodeError> {
        let Some((offset, key)) = self.walk_to_ordinal(ordinal, restart_interval)? else {
            return Ok(None);
        };
        let header = self.decode_header(offset, &key)?;
        self.value_of(&header).map(Some)
    }

    fn walk_to_ordinal(
        &self,
        ordinal: usize,
        restart_interval: usize,
    ) -> Result<Option<(usize, Vec<u8>)>, DecodeError> {
        let restart_interval = restart_interval.max(1);
        self.walk_from(ordinal / restart_interval, ordinal % restart_interval)
    }

    /// Walks `skip` entries from restart `restart_idx`: the offset of the entry reached
    /// and the key of the one before it (empty, and not allocated, at a restart), or
    /// `None` when the restart or the walk is past the entries.
    fn walk_from(
        &self,
        restart_idx: usize,
        skip: usize,
    ) -> Result<Option<(usize, Vec<u8>)>, DecodeError> {
        if restart_idx >= self.restart_count {
            return Ok(None);
        }
        let mut offset = self.restart_offset(restart_idx)?;
        let mut key = Vec::new();
        for _ in 0..skip {
            if offset >= self.data_end {
                return Ok(None);
            }
            let header = self.decode_header(offset, &key)?;
            self.apply_key(&header, &mut key)?;
            offset = header.next_offset;
        }
        Ok((offset < self.data_end).then_some((offset, key)))
    }

    fn hash_lookup(&self, user_key: &[u8]) -> Lookup {
        let Some((start, end)) = self.hash_buckets else {
            return Lookup::Collision;
        };
        match self
            .bytes
            .get(start..end)
            .map(|buckets| hash_index::lookup(buckets, user_key))
        {
            Some(Lookup::Restart(restart_idx)) if restart_idx >= self.restart_count => {
                Lookup::Collision
            }
            Some(lookup) => lookup,
            None => Lookup::Collision,
        }
    }

    pub(crate) fn data_end(&self) -> usize {
        self.data_end
    }

    pub(crate) fn restart_offset(&self, restart_idx: usize) -> Result<usize, DecodeError> {
        let offset = self.data_end + restart_idx * RESTART_OFFSET_LEN;
        Ok(Decoder::at(&self.bytes, offset)?.u32()? as usize)
    }

    /// The last restart whose key is below (`Lower`) or at most (`Upper`) the target, or 0.
    pub(crate) fn restart_before(
        &self,
        order: &KeyOrder,
        target: (&[u8], SeqNo),
        bound: Bound,
    ) -> Result<usize, DecodeError> {
        let (mut low, mut high) = (0, self.restart_count);
        // Invariant: restarts before `low` qualify (or low == 0); restarts from `high` do not.
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            let header = self.decode_header(self.restart_offset(mid)?, &[])?;
            if header.shared != 0 {
                return Err(invalid(
                    "shared length at restart",
                    header.shared as u64,
                    self.restart_offset(mid)?,
                ));
            }
            // A restart stores its whole key, so the suffix is the key.
            let restart_key = self.suffix(&header)?;
            let ordering = compare(order, (restart_key, header.seqno), target);
            let qualifies = match bound {
                Bound::Lower => ordering == Ordering::Less,
                Bound::Upper => ordering != Ordering::Greater,
            };
            if qualifies {
                low = mid;
            } else {
                high = mid;
            }
        }
        Ok(low)
    }

    /// Decodes the header of the entry at `offset`; `previous_key` is the key before it.
    pub(crate) fn decode_header(
        &self,
        offset: usize,
        previous_key: &[u8],
    ) -> Result<EntryHeader, DecodeError> {
        let entries = self
            .bytes
            .get(..self.data_end)
            .ok_or_else(|| invalid("data end", self.data_end as u64, 0))?;
        let mut decoder = Decoder::at(entries, offset)?;
        let shared = decoder.varint_len()?;
        let unshared = decoder.varint_len()?;
        let value_len = decoder.varint_len()?;
        let value_type = ValueType::try_from(decoder.u8()?)?;
        let seqno = decoder.varint_u64()?;
        if shared > previous_key.len() {
            return Err(invalid("shared key length", shared as u64, offset));
        }
        let suffix_start = decoder.offset();
        decoder.bytes(unshared)?;
        let value_start = decoder.offset();
        decoder.bytes(value_len)?;
        Ok(EntryHeader {
            shared,
            seqno,
            value_type,
            suffix_start,
            value_start,
            next_offset: decoder.offset(),
        })
    }

    /// Turns `key` (the previous entry's key) into this entry's key.
    pub(crate) fn apply_key(
        &self,
        header: &EntryHeader,
        key: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        key.truncate(header.shared);
        key.extend_from_slice(self.suffix(header)?);
        Ok(())
    }

    /// The value of the entry `header` describes, as a window of the block.
    pub(crate) fn value_of(&self, header: &EntryHeader) -> Result<Slice, DecodeError> {
        self.bytes
            .get_slice(header.value_start, header.next_offset)
            .ok_or_else(|| invalid("value range", header.value_start as u64, header.value_start))
    }

    /// The entry described by `header`, with `user_key` as its key.
    pub(crate) fn entry_at(
        &self,
        header: &EntryHeader,
        user_key: Slice,
    ) -> Result<InternalEntry, DecodeError> {
        let value = self
            .bytes
            .get_slice(header.value_start, header.next_offset)
            .ok_or_else(|| invalid("value range", header.value_start as u64, header.value_start))?;
        Ok(InternalEntry {
            key: InternalKey {
                user_key,
                seqno: header.seqno,
                value_type: header.value_type,
            },
            value,
        })
    }

    /// The key suffix bytes of `header`.
    pub(crate) fn suffix(&self, header: &EntryHeader) -> Result<&[u8], DecodeError> {
        self.slice(header.suffix_start, header.value_start)
    }

    fn slice(&self, start: usize, end: usize) -> Result<&[u8], DecodeError> {
        self.bytes
            .get(start..end)
            .ok_or_else(|| invalid("byte range", start as u64, start))
    }
}

/// Which side of a target a restart search stops on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The last restart strictly below the target.
    Lower,
    /// The last restart at or below the target.
    Upper,
}

/// Orders `(user key, seqno)` pairs as internal keys (user keys in `order`, seqno
/// descending); the value type is not part of a seek target.
#[inline]
pub(crate) fn compare(order: &KeyOrder, left: (&[u8], SeqNo), right: (&[u8], SeqNo)) -> Ordering {
    if order.is_lexicographic() {
        (left.0, Reverse(left.1)).cmp(&(right.0, Reverse(right.1)))
    } else {
        order
            .cmp(left.0, right.0)
            .then_with(|| Reverse(left.1).cmp(&Reverse(right.1)))
    }
}

fn invalid(field: &'static str, value: u64, offset: usize) -> DecodeError {
    DecodeError::InvalidField {
        field,
        value,
        offset,
    }
}
