//! [`BlobHandle`]: where a separated value lives; the tree stores it as an indirection.
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_varint_u64};
use lsm_core::{BlobFileId, DecodeError};

/// A value's place in a blob file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHandle {
    /// The blob file.
    pub file_id: BlobFileId,
    /// The frame's offset in the file.
    pub offset: u64,
    /// The frame's on-disk length.
    pub on_disk_len: u64,
    /// The value's length, so that sizes are known without reading the blob.
    pub value_len: u32,
}

impl BlobHandle {
    /// Appends the encoding (four varints).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        for value in [
            self.file_id,
            self.offset,
            self.on_disk_len,
            u64::from(self.value_len),
        ] {
            put_varint_u64(out, value);
        }
    }

    /// The encoding in a new buffer.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes a handle that fills `bytes` exactly.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are not exactly one handle.
    pub fn decode_from(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut decoder = Decoder::new(bytes);
        let handle = Self {
            file_id: decoder.varint_u64()?,
            offset: decoder.varint_u64()?,
            on_disk_len: decoder.varint_u64()?,
            value_len: decoder.varint_u32()?,
        };
        if !decoder.is_empty() {
            return Err(DecodeError::InvalidField {
                field: "blob handle trailing bytes",
                value: decoder.remaining() as u64,
                offset: decoder.offset(),
            });
        }
        Ok(handle)
    }
}
