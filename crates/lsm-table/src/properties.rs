//! [`TableProperties`]: what a table holds and where its sections are, encoded as
//! tag-length-value records so that readers skip properties they do not know.
#![deny(clippy::indexing_slicing)]

use lsm_codec::BlockHandle;
use lsm_core::coding::{Decoder, put_varint_u64};
use lsm_core::{DecodeError, SeqNo, TableId, UserKey};

use crate::layout::tag;

/// A table's properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableProperties {
    /// The top-level index block.
    pub index_handle: BlockHandle,
    /// Whether the index has partitions under the top level.
    pub index_partitioned: bool,
    /// The filter block, or the filter index when partitioned, if any.
    pub filter_handle: Option<BlockHandle>,
    /// Whether the filter is partitioned: `filter_handle` is then an index block of
    /// filter partitions keyed by the last user key each covers.
    pub filter_partitioned: bool,
    /// The range-tombstone block, if any.
    pub range_tombstone_handle: Option<BlockHandle>,
    /// The zstd dictionary block, if any.
    pub dictionary_handle: Option<BlockHandle>,
    /// The block of each data block's smallest and largest seqno, if written.
    pub seqno_bounds_handle: Option<BlockHandle>,
    /// Handle of the block locator, if one was written.
    pub locator_handle: Option<BlockHandle>,
    /// Smallest user key.
    pub key_min: UserKey,
    /// Largest user key.
    pub key_max: UserKey,
    /// Smallest seqno.
    pub seqno_min: SeqNo,
    /// Largest seqno.
    pub seqno_max: SeqNo,
    /// Entries.
    pub entry_count: u64,
    /// Distinct user keys.
    pub user_key_count: u64,
    /// Tombstones.
    pub tombstone_count: u64,
    /// Weak tombstones.
    pub weak_tombstone_count: u64,
    /// Merge operands.
    pub merge_operand_count: u64,
    /// Blob indirections.
    pub indirection_count: u64,
    /// Range tombstones.
    pub range_tombstone_count: u64,
    /// Data blocks.
    pub data_block_count: u64,
    /// Index blocks (partitions and the top level).
    pub index_block_count: u64,
    /// Uncompressed bytes of data blocks.
    pub data_bytes_raw: u64,
    /// On-disk bytes of data blocks.
    pub data_bytes_stored: u64,
    /// On-disk bytes of index blocks.
    pub index_bytes_stored: u64,
    /// On-disk bytes of the filter block.
    pub filter_bytes_stored: u64,
    /// Sum of user key lengths.
    pub key_bytes: u64,
    /// Sum of value lengths.
    pub value_bytes: u64,
    /// Compression of data blocks.
    pub data_compression: String,
    /// Compression of index blocks.
    pub index_compression: String,
    /// Creation time (milliseconds since the Unix epoch, from the writer's caller).
    pub created_at_ms: u64,
    /// Designed filter bits per key, times 1000 (0 without a filter).
    pub filter_bits_milli: u64,
    /// Whether the filter holds prefixes, and of which extractor.
    pub prefix_extractor: Option<String>,
    /// Target data block size.
    pub block_size: u64,
    /// Restart interval of data blocks.
    pub restart_interval: u64,
    /// The zstd dictionary's id, if data blocks use one.
    pub dictionary_id: Option<u32>,
    /// The name of the key order, when it is not the lexicographic one.
    pub comparator: Option<String>,
    /// Ids of the tables the merge that wrote this one replaces, ascending (see
    /// [`crate::TableOptions::replaces`]).
    pub replaces: Vec<TableId>,
    /// Ids of tables already obsolete when this one was written, ascending (see
    /// [`crate::TableOptions::obsolete`]).
    pub obsolete: Vec<TableId>,
    /// Written by a bulk ingestion (see [`crate::TableOptions::ingested`]).
    pub ingested: bool,
}

impl TableProperties {
    /// Encodes the properties.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let handle = |out: &mut Vec<u8>, tag: u64, handle: Option<BlockHandle>| {
            if let Some(handle) = handle {
                let mut value = Vec::new();
                handle.encode_into(&mut value);
                put_record(out, tag, &value);
            }
        };
        handle(&mut out, tag::INDEX_HANDLE, Some(self.index_handle));
        handle(&mut out, tag::FILTER_HANDLE, self.filter_handle);
        handle(
            &mut out,
            tag::RANGE_TOMBSTONE_HANDLE,
            self.range_tombstone_handle,
        );
        handle(&mut out, tag::DICTIONARY_HANDLE, self.dictionary_handle);
        handle(&mut out, tag::SEQNO_BOUNDS_HANDLE, self.seqno_bounds_handle);
        handle(&mut out, tag::LOCATOR_HANDLE, self.locator_handle);
        put_record(
            &mut out,
            tag::INDEX_PARTITIONED,
            &[u8::from(self.index_partitioned)],
        );
        if self.filter_partitioned {
            put_record(&mut out, tag::FILTER_PARTITIONED, &[1]);
        }
        if self.ingested {
            put_record(&mut out, tag::INGESTED, &[1]);
        }
        put_record(&mut out, tag::KEY_MIN, &self.key_min);
        put_record(&mut out, tag::KEY_MAX, &self.key_max);
        for (tag, value) in self.numbers() {
            put_number(&mut out, tag, value);
        }
        put_record(
            &mut out,
            tag::DATA_COMPRESSION,
            self.data_compression.as_bytes(),
        );
        put_record(
            &mut out,
            tag::INDEX_COMPRESSION,
            self.index_compression.as_bytes(),
        );
        if let Some(name) = &self.prefix_extractor {
            put_record(&mut out, tag::FILTER_HAS_PREFIXES, &[1]);
            put_record(&mut out, tag::PREFIX_EXTRACTOR, name.as_bytes());
        }
        if let Some(dict_id) = self.dictionary_id {
            put_number(&mut out, tag::DICTIONARY_ID, u64::from(dict_id));
        }
        if let Some(name) = &self.comparator {
            put_record(&mut out, tag::COMPARATOR, name.as_bytes());
        }
        for (tag, ids) in [
            (tag::REPLACES, &self.replaces),
            (tag::OBSOLETE, &self.obsolete),
        ] {
            if !ids.is_empty() {
                let mut value = Vec::new();
                for &id in ids {
                    put_varint_u64(&mut value, id);
                }
                put_record(&mut out, tag, &value);
            }
        }
        out
    }

    fn numbers(&self) -> [(u64, u64); 21] {
        [
            (tag::SEQNO_MIN, self.seqno_min),
            (tag::SEQNO_MAX, self.seqno_max),
            (tag::ENTRY_COUNT, self.entry_count),
            (tag::USER_KEY_COUNT, self.user_key_count),
            (tag::TOMBSTONE_COUNT, self.tombstone_count),
            (tag::WEAK_TOMBSTONE_COUNT, self.weak_tombstone_count),
            (tag::MERGE_OPERAND_COUNT, self.merge_operand_count),
            (tag::INDIRECTION_COUNT, self.indirection_count),
            (tag::RANGE_TOMBSTONE_COUNT, self.range_tombstone_count),
            (tag::DATA_BLOCK_COUNT, self.data_block_count),
            (tag::INDEX_BLOCK_COUNT, self.index_block_count),
            (tag::DATA_BYTES_RAW, self.data_bytes_raw),
            (tag::DATA_BYTES_STORED, self.data_bytes_stored),
            (tag::INDEX_BYTES_STORED, self.index_bytes_stored),
            (tag::FILTER_BYTES_STORED, self.filter_bytes_stored),
            (tag::KEY_BYTES, self.key_bytes),
            (tag::VALUE_BYTES, self.value_bytes),
            (tag::CREATED_AT_MS, self.created_at_ms),
            (tag::FILTER_BITS_MILLI, self.filter_bits_milli),
            (tag::BLOCK_SIZE, self.block_size),
            (tag::RESTART_INTERVAL, self.restart_interval),
        ]
    }

    /// Decodes properties; unknown tags are skipped.
    ///
    /// # Errors
    /// [`DecodeError`] when a record is malformed or the index handle is missing.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut properties = Self::default();
        let mut has_index = false;
        let mut decoder = Decoder::new(bytes);
        while !decoder.is_empty() {
            let tag = decoder.varint_u64()?;
            let len = decoder.varint_len()?;
            let offset = decoder.offset();
            let value = decoder.bytes(len)?;
            let number = || Decoder::new(value).varint_u64();
            let handle = || BlockHandle::decode_from(value);
            let text = || {
                String::from_utf8(value.to_vec()).map_err(|_| DecodeError::InvalidField {
                    field: "property text",
                    value: tag,
                    offset,
                })
            };
            match tag {
                tag::INDEX_HANDLE => {
                    properties.index_handle = handle()?;
                    has_index = true;
                }
                tag::INDEX_PARTITIONED => properties.index_partitioned = value == [1],
                tag::FILTER_PARTITIONED => properties.filter_partitioned = value == [1],
                tag::INGESTED => properties.ingested = value == [1],
                tag::FILTER_HANDLE => properties.filter_handle = Some(handle()?),
                tag::RANGE_TOMBSTONE_HANDLE => properties.range_tombstone_handle = Some(handle()?),
                tag::DICTIONARY_HANDLE => properties.dictionary_handle = Some(handle()?),
                tag::SEQNO_BOUNDS_HANDLE => properties.seqno_bounds_handle = Some(handle()?),
                tag::LOCATOR_HANDLE => properties.locator_handle = Some(handle()?),
                tag::KEY_MIN => properties.key_min = UserKey::new(value),
                tag::KEY_MAX => properties.key_max = UserKey::new(value),
                tag::DATA_COMPRESSION => properties.data_compression = text()?,
                tag::INDEX_COMPRESSION => properties.index_compression = text()?,
                tag::PREFIX_EXTRACTOR => properties.prefix_extractor = Some(text()?),
                tag::COMPARATOR => properties.comparator = Some(text()?),
                tag::REPLACES => properties.replaces = ids(value)?,
                tag::OBSOLETE => properties.obsolete = ids(value)?,
                tag::DICTIONARY_ID => {
                    let dict_id = number()?;
                    properties.dictionary_id =
                        Some(
                            u32::try_from(dict_id).map_err(|_| DecodeError::InvalidField {
                                field: "dictionary id",
                                value: dict_id,
                                offset,
                            })?,
                        );
                }
                other => {
                    if let Some(slot) = properties.number_slot(other) {
                        *slot = number()?;
                    }
                }
            }
        }
        if !has_index {
            return Err(DecodeError::InvalidField {
                field: "index handle missing",
                value: 0,
                offset: bytes.len(),
            });
        }
        Ok(properties)
    }

    fn number_slot(&mut self, tag: u64) -> Option<&mut u64> {
        Some(match tag {
            tag::SEQNO_MIN => &mut self.seqno_min,
            tag::SEQNO_MAX => &mut self.seqno_max,
            tag::ENTRY_COUNT => &mut self.entry_count,
            tag::USER_KEY_COUNT => &mut self.user_key_count,
            tag::TOMBSTONE_COUNT => &mut self.tombstone_count,
            tag::WEAK_TOMBSTONE_COUNT => &mut self.weak_tombstone_count,
            tag::MERGE_OPERAND_COUNT => &mut self.merge_operand_count,
            tag::INDIRECTION_COUNT => &mut self.indirection_count,
            tag::RANGE_TOMBSTONE_COUNT => &mut self.range_tombstone_count,
            tag::DATA_BLOCK_COUNT => &mut self.data_block_count,
            tag::INDEX_BLOCK_COUNT => &mut self.index_block_count,
            tag::DATA_BYTES_RAW => &mut self.data_bytes_raw,
            tag::DATA_BYTES_STORED => &mut self.data_bytes_stored,
            tag::INDEX_BYTES_STORED => &mut self.index_bytes_stored,
            tag::FILTER_BYTES_STORED => &mut self.filter_bytes_stored,
            tag::KEY_BYTES => &mut self.key_bytes,
            tag::VALUE_BYTES => &mut self.value_bytes,
            tag::CREATED_AT_MS => &mut self.created_at_ms,
            tag::FILTER_BITS_MILLI => &mut self.filter_bits_milli,
            tag::BLOCK_SIZE => &mut self.block_size,
            tag::RESTART_INTERVAL => &mut self.restart_interval,
            _ => return None,
        })
    }
}

/// A list of table ids (varints).
fn ids(value: &[u8]) -> Result<Vec<TableId>, DecodeError> {
    let mut decoder = Decoder::new(value);
    let mut ids = Vec::new();
    while !decoder.is_empty() {
        ids.push(decoder.varint_u64()?);
    }
    Ok(ids)
}

fn put_record(out: &mut Vec<u8>, tag: u64, value: &[u8]) {
    put_varint_u64(out, tag);
    put_varint_u64(out, value.len() as u64);
    out.extend_from_slice(value);
}

fn put_number(out: &mut Vec<u8>, tag: u64, value: u64) {
    let mut encoded = Vec::new();
    put_varint_u64(&mut encoded, value);
    put_record(out, tag, &encoded);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_round_trip_and_skip_unknown_tags() {
        let properties = TableProperties {
            index_handle: BlockHandle {
                offset: 10,
                len_bytes: 20,
            },
            filter_handle: Some(BlockHandle {
                offset: 30,
                len_bytes: 40,
            }),
            key_min: "a".into(),
            key_max: "z".into(),
            entry_count: 7,
            data_compression: "zstd(3)".into(),
            prefix_extractor: Some("fixed".into()),
            dictionary_id: Some(0xDEAD_BEEF),
            filter_partitioned: true,
            index_partitioned: true,
            replaces: vec![3, 9, 300],
            obsolete: vec![1, 2],
            ..TableProperties::default()
        };
        let mut bytes = properties.encode();
        put_record(&mut bytes, 9999, b"a future property");
        assert_eq!(TableProperties::decode(&bytes).unwrap(), properties);
        assert!(TableProperties::decode(&[]).is_err());
    }
}
