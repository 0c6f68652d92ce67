//! [`TableMeta`]: what a version records about one table.
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_varint_u64};
use lsm_core::{DecodeError, KeyRange, SeqNo, TableId, UserKey};

/// A table as a version sees it: identity, key and seqno ranges, size and counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableMeta {
    /// The table's id (its file is named after it).
    pub id: TableId,
    /// Smallest and largest user key.
    pub key_range: KeyRange,
    /// Smallest seqno.
    pub seqno_min: SeqNo,
    /// Largest seqno.
    pub seqno_max: SeqNo,
    /// File size.
    pub size_bytes: u64,
    /// Entries.
    pub entry_count: u64,
    /// Tombstones (strong and weak).
    pub tombstone_count: u64,
}

impl TableMeta {
    /// Appends the encoding.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        for value in [
            self.id,
            self.seqno_min,
            self.seqno_max,
            self.size_bytes,
            self.entry_count,
            self.tombstone_count,
        ] {
            put_varint_u64(out, value);
        }
        for key in [self.key_range.min(), self.key_range.max()] {
            put_varint_u64(out, key.len() as u64);
            out.extend_from_slice(key);
        }
    }

    /// Decodes one table's metadata.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes end early or the key range is inverted.
    pub fn decode_from(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let id = decoder.varint_u64()?;
        let seqno_min = decoder.varint_u64()?;
        let seqno_max = decoder.varint_u64()?;
        let size_bytes = decoder.varint_u64()?;
        let entry_count = decoder.varint_u64()?;
        let tombstone_count = decoder.varint_u64()?;
        let offset = decoder.offset();
        let min_len = decoder.varint_len()?;
        let min = UserKey::new(decoder.bytes(min_len)?);
        let max_len = decoder.varint_len()?;
        let max = UserKey::new(decoder.bytes(max_len)?);
        if min > max {
            return Err(DecodeError::InvalidField {
                field: "key range",
                value: 0,
                offset,
            });
        }
        Ok(Self {
            id,
            key_range: KeyRange::new(min, max),
            seqno_min,
            seqno_max,
            size_bytes,
            entry_count,
            tombstone_count,
        })
    }
}
