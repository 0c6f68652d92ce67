//! [`VersionEdit`]: one change to a version, and its encoding.
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_varint_u64};
use lsm_core::{BlobFileId, DecodeError, KeyOrder, SeqNo, TableId};

use std::collections::{BTreeMap, BTreeSet};

use crate::{BlobFileInfo, BlobGarbage, TableMeta, Version};

/// Tables and blob files added and removed, dead blob values credited, and the counters
/// a recovery must restore.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionEdit {
    /// `(level, tables)` to add; see [`crate::Version::apply`] for where they go.
    pub added: Vec<(u8, Vec<TableMeta>)>,
    /// Ids of tables to remove.
    pub removed: Vec<TableId>,
    /// The next unused table id (a version keeps the highest it has seen).
    pub next_table_id: TableId,
    /// The highest seqno persisted (a version keeps the highest it has seen).
    pub last_seqno: SeqNo,
    /// Blob files to add (their dead counters start as given, normally zero).
    pub added_blob_files: Vec<BlobFileInfo>,
    /// Ids of blob files to remove.
    pub removed_blob_files: Vec<BlobFileId>,
    /// Values of blob files (present after this edit's additions) that died.
    pub blob_garbage: Vec<BlobGarbage>,
    /// The next unused blob file id (a version keeps the highest it has seen).
    pub next_blob_file_id: BlobFileId,
    /// The GC watermark of the flush or merge this edit installs (a version keeps the
    /// highest); `None` when the edit collapses nothing.
    pub gc_watermark: Option<SeqNo>,
}

impl VersionEdit {
    /// Appends the encoding.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_varint_u64(out, self.next_table_id);
        put_varint_u64(out, self.last_seqno);
        put_varint_u64(out, self.removed.len() as u64);
        for &id in &self.removed {
            put_varint_u64(out, id);
        }
        put_varint_u64(out, self.added.len() as u64);
        for (level, tables) in &self.added {
            out.push(*level);
            put_varint_u64(out, tables.len() as u64);
            for table in tables {
                table.encode_into(out);
            }
        }
        put_varint_u64(out, self.next_blob_file_id);
        put_varint_u64(out, self.removed_blob_files.len() as u64);
        for &id in &self.removed_blob_files {
            put_varint_u64(out, id);
        }
        put_varint_u64(out, self.added_blob_files.len() as u64);
        for blob_file in &self.added_blob_files {
            blob_file.encode_into(out);
        }
        put_varint_u64(out, self.blob_garbage.len() as u64);
        for garbage in &self.blob_garbage {
            garbage.encode_into(out);
        }
        put_optional_seqno(out, self.gc_watermark);
    }

    /// Decodes an edit of a tree whose keys are in `order`.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are malformed; counts are bounded by the bytes left,
    /// so no allocation exceeds the input.
    pub fn decode_from(decoder: &mut Decoder<'_>, order: &KeyOrder) -> Result<Self, DecodeError> {
        Self::decode_versioned(decoder, order, crate::layout::MANIFEST_FORMAT_VERSION)
    }

    /// [`Self::decode_from`] of an edit written by manifest format `version`.
    ///
    /// # Errors
    /// As [`Self::decode_from`].
    pub fn decode_versioned(
        decoder: &mut Decoder<'_>,
        order: &KeyOrder,
        version: u8,
    ) -> Result<Self, DecodeError> {
        let next_table_id = decoder.varint_u64()?;
        let last_seqno = decoder.varint_u64()?;
        let removed_count = bounded_count(decoder)?;
        let mut removed = Vec::with_capacity(removed_count);
        for _ in 0..removed_count {
            removed.push(decoder.varint_u64()?);
        }
        let added_count = bounded_count(decoder)?;
        let mut added = Vec::with_capacity(added_count);
        for _ in 0..added_count {
            let level = decoder.u8()?;
            let table_count = bounded_count(decoder)?;
            let mut tables = Vec::with_capacity(table_count);
            for _ in 0..table_count {
                tables.push(TableMeta::decode_versioned(decoder, order, version)?);
            }
            added.push((level, tables));
        }
        let next_blob_file_id = decoder.varint_u64()?;
        let removed_blob_count = bounded_count(decoder)?;
        let mut removed_blob_files = Vec::with_capacity(removed_blob_count);
        for _ in 0..removed_blob_count {
            removed_blob_files.push(decoder.varint_u64()?);
        }
        let added_blob_count = bounded_count(decoder)?;
        let mut added_blob_files = Vec::with_capacity(added_blob_count);
        for _ in 0..added_blob_count {
            added_blob_files.push(BlobFileInfo::decode_versioned(decoder, version)?);
        }
        let garbage_count = bounded_count(decoder)?;
        let mut blob_garbage = Vec::with_capacity(garbage_count);
        for _ in 0..garbage_count {
            blob_garbage.push(BlobGarbage::decode_from(decoder)?);
        }
        let gc_watermark = if version >= crate::layout::FIRST_VERSION_WITH_GC_WATERMARK {
            decode_optional_seqno(decoder)?
        } else {
            None
        };
        Ok(Self {
            added,
            removed,
            next_table_id,
            last_seqno,
            added_blob_files,
            removed_blob_files,
            blob_garbage,
            next_blob_file_id,
            gc_watermark,
        })
    }
}

/// An optional seqno as a varint: 0 for none, else the seqno plus one.
pub(crate) fn put_optional_seqno(out: &mut Vec<u8>, seqno: Option<SeqNo>) {
    put_varint_u64(out, seqno.map_or(0, |seqno| seqno.saturating_add(1)));
}

/// An optional seqno written by [`put_optional_seqno`].
pub(crate) fn decode_optional_seqno(
    decoder: &mut Decoder<'_>,
) -> Result<Option<SeqNo>, DecodeError> {
    Ok(decoder.varint_u64()?.checked_sub(1))
}

impl VersionEdit {
    /// Credits the blob values this edit kills, from the blob references of the tables
    /// it removes and adds (run it against the version the edit applies to): the values
    /// of a blob file that the removed tables point to and the added ones no longer do
    /// are dead. A blob file left with no live value is removed instead (it is deleted
    /// once no reader holds it). A table moved (removed and added unchanged) kills
    /// nothing. Garbage already in the edit is kept and counted.
    pub fn credit_blob_garbage(&mut self, version: &Version) {
        let removed: BTreeSet<_> = self.removed.iter().copied().collect();
        let mut dropped: BTreeMap<BlobFileId, (u64, u64)> = BTreeMap::new();
        for table in version.tables().filter(|table| removed.contains(&table.id)) {
            for blob_ref in &table.blob_refs {
                let entry = dropped.entry(blob_ref.file_id).or_default();
                entry.0 += blob_ref.frames;
                entry.1 += blob_ref.value_bytes;
            }
        }
        for table in self.added.iter().flat_map(|(_, tables)| tables) {
            for blob_ref in &table.blob_refs {
                if let Some(entry) = dropped.get_mut(&blob_ref.file_id) {
                    entry.0 = entry.0.saturating_sub(blob_ref.frames);
                    entry.1 = entry.1.saturating_sub(blob_ref.value_bytes);
                }
            }
        }
        for garbage in std::mem::take(&mut self.blob_garbage) {
            let entry = dropped.entry(garbage.file_id).or_default();
            entry.0 += garbage.frames;
            entry.1 += garbage.value_bytes;
        }
        for (file_id, (frames, value_bytes)) in dropped {
            if frames == 0 && value_bytes == 0 {
                continue;
            }
            let Some(info) = version.blob_files().get(&file_id) else {
                continue;
            };
            if info.dead_frames + frames >= info.frame_count {
                if !self.removed_blob_files.contains(&file_id) {
                    self.removed_blob_files.push(file_id);
                }
            } else {
                self.blob_garbage.push(BlobGarbage {
                    file_id,
                    frames,
                    value_bytes: value_bytes.min(info.value_bytes - info.dead_value_bytes),
                });
            }
        }
    }
}

/// A count that cannot exceed the bytes left (every counted item takes at least one).
pub(crate) fn bounded_count(decoder: &mut Decoder<'_>) -> Result<usize, DecodeError> {
    let offset = decoder.offset();
    let count = decoder.varint_u64()?;
    if count > decoder.remaining() as u64 {
        return Err(DecodeError::InvalidField {
            field: "count",
            value: count,
            offset,
        });
    }
    usize::try_from(count).map_err(|_| DecodeError::InvalidField {
        field: "count",
        value: count,
        offset,
    })
}
