//! [`TableMeta`]: what a version records about one table.
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_u64, put_varint_u64};
use lsm_core::{BlobFileId, DecodeError, KeyOrder, KeyRange, SeqNo, TableId, UserKey};

/// The values of one blob file that a table points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobRef {
    /// The blob file.
    pub file_id: BlobFileId,
    /// Values of that file the table points to.
    pub frames: u64,
    /// Sum of their lengths.
    pub value_bytes: u64,
}

/// A table as a version sees it: identity, key and seqno ranges, size and counts, and
/// the blob files it points into.
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
    /// The blob files its indirections point into, by ascending file id (empty unless
    /// the tree separates values). Garbage collection reads them: the values a merge
    /// drops are what its inputs referenced and its outputs no longer do.
    pub blob_refs: Vec<BlobRef>,
    /// XXH3-64 of the whole file, recorded when the table was added (`None` for tables
    /// recorded by a manifest older than format version 4).
    pub digest: Option<u64>,
    /// For a table written by a bulk ingestion, the one seqno all its entries read at
    /// (they are stored at 0); `seqno_min` and `seqno_max` are this seqno then. `None`
    /// for every other table, and for tables recorded before format version 6.
    pub global_seqno: Option<SeqNo>,
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
        put_varint_u64(out, self.blob_refs.len() as u64);
        for blob_ref in &self.blob_refs {
            for value in [blob_ref.file_id, blob_ref.frames, blob_ref.value_bytes] {
                put_varint_u64(out, value);
            }
        }
        put_u64(out, self.digest.unwrap_or(0));
        put_varint_u64(out, self.global_seqno.map_or(0, |seqno| seqno + 1));
    }

    /// Values this table points to in blob file `file_id`.
    #[must_use]
    pub fn blob_ref(&self, file_id: BlobFileId) -> Option<&BlobRef> {
        self.blob_refs
            .binary_search_by_key(&file_id, |blob_ref| blob_ref.file_id)
            .ok()
            .and_then(|position| self.blob_refs.get(position))
    }

    /// Decodes one table's metadata.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes end early, the key range is inverted, or the blob
    /// references are not in ascending file order.
    pub fn decode_from(decoder: &mut Decoder<'_>, order: &KeyOrder) -> Result<Self, DecodeError> {
        Self::decode_versioned(decoder, order, crate::layout::MANIFEST_FORMAT_VERSION)
    }

    /// [`Self::decode_from`] of a record written by manifest format `version` (before
    /// version 4 a record has no digest, before version 6 no global seqno).
    ///
    /// # Errors
    /// As [`Self::decode_from`].
    pub fn decode_versioned(
        decoder: &mut Decoder<'_>,
        order: &KeyOrder,
        version: u8,
    ) -> Result<Self, DecodeError> {
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
        if order.lt(&max, &min) {
            return Err(DecodeError::InvalidField {
                field: "key range",
                value: 0,
                offset,
            });
        }
        let ref_count = crate::edit::bounded_count(decoder)?;
        let mut blob_refs: Vec<BlobRef> = Vec::with_capacity(ref_count);
        for _ in 0..ref_count {
            let offset = decoder.offset();
            let blob_ref = BlobRef {
                file_id: decoder.varint_u64()?,
                frames: decoder.varint_u64()?,
                value_bytes: decoder.varint_u64()?,
            };
            if blob_refs
                .last()
                .is_some_and(|last| last.file_id >= blob_ref.file_id)
            {
                return Err(DecodeError::InvalidField {
                    field: "blob references out of order",
                    value: blob_ref.file_id,
                    offset,
                });
            }
            blob_refs.push(blob_ref);
        }
        let digest = if version >= crate::layout::FIRST_VERSION_WITH_DIGESTS {
            Some(decoder.u64()?).filter(|&digest| digest != 0)
        } else {
            None
        };
        let global_seqno = if version >= crate::layout::FIRST_VERSION_WITH_GLOBAL_SEQNOS {
            let offset = decoder.offset();
            match decoder.varint_u64()? {
                0 => None,
                stored => {
                    let seqno = stored - 1;
                    if seqno != seqno_min || seqno != seqno_max {
                        return Err(DecodeError::InvalidField {
                            field: "global seqno outside the seqno range",
                            value: seqno,
                            offset,
                        });
                    }
                    Some(seqno)
                }
            }
        } else {
            None
        };
        Ok(Self {
            digest,
            global_seqno,
            id,
            key_range: KeyRange::new(order, min, max),
            seqno_min,
            seqno_max,
            size_bytes,
            entry_count,
            tombstone_count,
            blob_refs,
        })
    }
}
