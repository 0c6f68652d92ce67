//! [`BlobFileInfo`] and [`BlobGarbage`]: what a version records about blob files.
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_u64, put_varint_u64};
use lsm_core::{BlobFileId, DecodeError};

/// A blob file as a version sees it: its totals, and how much of it is dead (values no
/// table points to any more). The dead counters are the fragmentation map that blob
/// garbage collection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobFileInfo {
    /// The blob file's id (its file is named after it).
    pub id: BlobFileId,
    /// Values in the file.
    pub frame_count: u64,
    /// Sum of the values' lengths.
    pub value_bytes: u64,
    /// The file's length.
    pub file_len: u64,
    /// Values no longer referenced.
    pub dead_frames: u64,
    /// Sum of the lengths of those values.
    pub dead_value_bytes: u64,
    /// XXH3-64 of the whole file, recorded when it was added (`None` before manifest
    /// format version 4, or when the writer did not say).
    pub digest: Option<u64>,
}

/// Values of one blob file that an edit marks dead (a compaction dropped the
/// indirections that pointed to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobGarbage {
    /// The blob file.
    pub file_id: BlobFileId,
    /// Values that died.
    pub frames: u64,
    /// Sum of their lengths.
    pub value_bytes: u64,
}

impl BlobFileInfo {
    /// A blob file with nothing dead yet.
    #[must_use]
    pub fn new(id: BlobFileId, frame_count: u64, value_bytes: u64, file_len: u64) -> Self {
        Self {
            id,
            frame_count,
            value_bytes,
            file_len,
            dead_frames: 0,
            dead_value_bytes: 0,
            digest: None,
        }
    }

    /// The same, with the whole file's digest.
    #[must_use]
    pub fn with_digest(mut self, digest: u64) -> Self {
        self.digest = Some(digest);
        self
    }

    /// The share of the file's value bytes that is dead, in `0.0..=1.0`; for a file
    /// whose values are all empty, the share of its frames (a file without frames is
    /// all dead, as [`Self::is_dead`] says).
    #[must_use]
    pub fn dead_ratio(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "a ratio")]
        let ratio = if self.value_bytes > 0 {
            self.dead_value_bytes as f64 / self.value_bytes as f64
        } else if self.frame_count > 0 {
            self.dead_frames as f64 / self.frame_count as f64
        } else {
            1.0
        };
        ratio
    }

    /// Whether every value in the file is dead.
    #[must_use]
    pub fn is_dead(&self) -> bool {
        self.dead_frames >= self.frame_count
    }

    /// Whether the dead counters stay within the totals.
    #[must_use]
    pub fn is_consistent(&self) -> bool {
        self.dead_frames <= self.frame_count && self.dead_value_bytes <= self.value_bytes
    }

    /// Appends the encoding.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        for value in [
            self.id,
            self.frame_count,
            self.value_bytes,
            self.file_len,
            self.dead_frames,
            self.dead_value_bytes,
        ] {
            put_varint_u64(out, value);
        }
        put_u64(out, self.digest.unwrap_or(0));
    }

    /// Decodes one blob file's record.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes end early or the dead counters exceed the totals.
    pub fn decode_from(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Self::decode_versioned(decoder, crate::layout::MANIFEST_FORMAT_VERSION)
    }

    /// [`Self::decode_from`] of a record written by manifest format `version` (before
    /// version 4 a record has no digest).
    ///
    /// # Errors
    /// As [`Self::decode_from`].
    pub fn decode_versioned(decoder: &mut Decoder<'_>, version: u8) -> Result<Self, DecodeError> {
        let offset = decoder.offset();
        let mut info = Self {
            id: decoder.varint_u64()?,
            frame_count: decoder.varint_u64()?,
            value_bytes: decoder.varint_u64()?,
            file_len: decoder.varint_u64()?,
            dead_frames: decoder.varint_u64()?,
            dead_value_bytes: decoder.varint_u64()?,
            digest: None,
        };
        if version >= crate::layout::FIRST_VERSION_WITH_DIGESTS {
            info.digest = Some(decoder.u64()?).filter(|&digest| digest != 0);
        }
        if !info.is_consistent() {
            return Err(DecodeError::InvalidField {
                field: "blob file dead counters",
                value: info.dead_frames,
                offset,
            });
        }
        Ok(info)
    }
}

impl BlobGarbage {
    /// Appends the encoding.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        for value in [self.file_id, self.frames, self.value_bytes] {
            put_varint_u64(out, value);
        }
    }

    /// Decodes one garbage record.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes end early.
    pub fn decode_from(decoder: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            file_id: decoder.varint_u64()?,
            frames: decoder.varint_u64()?,
            value_bytes: decoder.varint_u64()?,
        })
    }
}
