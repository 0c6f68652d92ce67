//! Index blocks: the data-block encoding with [`BlockHandle`]s as values.
//!
//! Each entry maps the internal key of the *last* entry of a block to that block's
//! handle, so the first index entry at or after a target names the only block that can
//! hold the target. Entries are stored with value type [`ValueType::Value`].
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_varint_u64};
use lsm_core::{DecodeError, InternalEntry, InternalKey, KeyOrder, SeqNo, Slice, ValueType};

use crate::{BlockIter, DataBlock, DataBlockBuilder};

/// Where a block lies in its file: offset and on-disk length (envelope included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct BlockHandle {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// The block's on-disk length, header included.
    pub len_bytes: u64,
}

impl BlockHandle {
    /// Appends the handle as two varints.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_varint_u64(out, self.offset);
        put_varint_u64(out, self.len_bytes);
    }

    /// Decodes a handle that fills `bytes` exactly.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are not exactly two varints.
    pub fn decode_from(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut decoder = Decoder::new(bytes);
        let handle = Self {
            offset: decoder.varint_u64()?,
            len_bytes: decoder.varint_u64()?,
        };
        if !decoder.is_empty() {
            return Err(DecodeError::InvalidField {
                field: "block handle trailing bytes",
                value: decoder.remaining() as u64,
                offset: decoder.offset(),
            });
        }
        Ok(handle)
    }
}

/// One index entry: the last key of a block and the block's handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The internal key of the block's last entry.
    pub last_key: InternalKey,
    /// Where the block is.
    pub handle: BlockHandle,
}

impl TryFrom<InternalEntry> for IndexEntry {
    type Error = DecodeError;

    fn try_from(entry: InternalEntry) -> Result<Self, DecodeError> {
        Ok(Self {
            handle: BlockHandle::decode_from(&entry.value)?,
            last_key: entry.key,
        })
    }
}

/// Builds an index block.
#[derive(Debug, Clone)]
pub struct IndexBlockBuilder {
    inner: DataBlockBuilder,
    handle_buffer: Vec<u8>,
}

impl IndexBlockBuilder {
    /// A builder with a restart every `restart_interval` entries.
    ///
    /// # Panics
    /// As [`DataBlockBuilder::new`].
    #[must_use]
    pub fn new(restart_interval: usize) -> Self {
        Self {
            inner: DataBlockBuilder::new(restart_interval),
            handle_buffer: Vec::new(),
        }
    }

    /// The builder for keys in `order` (lexicographic by default).
    #[must_use]
    pub fn with_order(mut self, order: &KeyOrder) -> Self {
        self.inner = self.inner.with_order(order);
        self
    }

    /// Adds the entry for a block whose last internal key is `(user_key, seqno)`.
    ///
    /// # Panics
    /// When keys are not strictly increasing, as [`DataBlockBuilder::add`].
    pub fn add(&mut self, user_key: &[u8], seqno: SeqNo, handle: BlockHandle) {
        self.handle_buffer.clear();
        handle.encode_into(&mut self.handle_buffer);
        self.inner
            .add(user_key, seqno, ValueType::Value, &self.handle_buffer);
    }

    /// How many entries were added.
    #[must_use]
    pub fn entry_count(&self) -> usize {
        self.inner.entry_count()
    }

    /// The length the block would have if finished now.
    #[must_use]
    pub fn estimated_len(&self) -> usize {
        self.inner.estimated_len()
    }

    /// Encodes the block and resets the builder.
    ///
    /// # Panics
    /// When no entry was added.
    #[must_use]
    pub fn finish(&mut self) -> Vec<u8> {
        self.inner.finish()
    }
}

/// A decoded index block.
#[derive(Debug, Clone)]
pub struct IndexBlock {
    block: DataBlock,
}

impl IndexBlock {
    /// Opens an index block payload.
    ///
    /// # Errors
    /// [`DecodeError`] when it is malformed.
    pub fn new(bytes: Slice) -> Result<Self, DecodeError> {
        Ok(Self {
            block: DataBlock::new(bytes)?,
        })
    }

    /// Opens a payload that [`Self::new`] accepted before (see [`DataBlock::reopen`]).
    ///
    /// # Errors
    /// [`DecodeError`] when the trailer is malformed.
    pub fn reopen(bytes: Slice) -> Result<Self, DecodeError> {
        Ok(Self {
            block: DataBlock::reopen(bytes)?,
        })
    }

    /// The first entry whose last key is at or after `(user_key, seqno)`: the block that
    /// holds the first entry at or after the target, if any does.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry is malformed.
    pub fn seek(
        &self,
        order: &KeyOrder,
        user_key: &[u8],
        seqno: SeqNo,
    ) -> Result<Option<IndexEntry>, DecodeError> {
        BlockIter::first_at_or_after(&self.block, order, user_key, seqno)?
            .map(IndexEntry::try_from)
            .transpose()
    }

    /// The handle of the `ordinal`-th block the index names (its entry at that
    /// position), for a block built with restarts every `restart_interval` entries;
    /// `None` past the last entry. The entry's key is not rebuilt.
    ///
    /// # Errors
    /// [`DecodeError`] when an entry on the way is malformed.
    pub fn handle_at(
        &self,
        ordinal: usize,
        restart_interval: usize,
    ) -> Result<Option<BlockHandle>, DecodeError> {
        self.block
            .value_by_ordinal(ordinal, restart_interval)?
            .map(|value| BlockHandle::decode_from(&value))
            .transpose()
    }

    /// All entries, in order, from both ends.
    #[must_use]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Result<IndexEntry, DecodeError>> + use<> {
        self.block
            .iter()
            .map(|entry| entry.and_then(IndexEntry::try_from))
    }

    /// The payload's length in bytes.
    #[must_use]
    pub fn len_bytes(&self) -> usize {
        self.block.bytes().len()
    }

    /// The underlying block iterator, for seeks in both directions.
    #[must_use]
    pub fn block_iter(&self) -> BlockIter {
        self.block.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_finds_the_covering_block() {
        let mut builder = IndexBlockBuilder::new(2);
        for (block_idx, last_key) in [&b"c"[..], b"f", b"k", b"p"].iter().enumerate() {
            let handle = BlockHandle {
                offset: block_idx as u64 * 100,
                len_bytes: 100,
            };
            builder.add(last_key, 5, handle);
        }
        let index = IndexBlock::new(Slice::from(builder.finish())).unwrap();
        let offset_for = |key: &[u8], seqno| {
            index
                .seek(&KeyOrder::lexicographic(), key, seqno)
                .unwrap()
                .map(|entry| entry.handle.offset)
        };
        assert_eq!(offset_for(b"a", SeqNo::MAX), Some(0));
        assert_eq!(offset_for(b"c", 9), Some(0));
        // Versions of "c" older than 5 would sort after the block's last entry.
        assert_eq!(offset_for(b"c", 4), Some(100));
        assert_eq!(offset_for(b"g", SeqNo::MAX), Some(200));
        assert_eq!(offset_for(b"q", SeqNo::MAX), None);
        assert_eq!(index.iter().count(), 4);
        assert_eq!(
            index.iter().next_back().unwrap().unwrap().handle.offset,
            300
        );
    }

    #[test]
    fn handle_rejects_trailing_bytes() {
        let mut bytes = Vec::new();
        BlockHandle {
            offset: 1,
            len_bytes: 2,
        }
        .encode_into(&mut bytes);
        assert_eq!(BlockHandle::decode_from(&bytes).unwrap().len_bytes, 2);
        bytes.push(0);
        assert!(BlockHandle::decode_from(&bytes).is_err());
    }
}
