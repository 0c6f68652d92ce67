//! [`TableIter`]: a double-ended scan of a table's entries in a key range.
//!
//! The index yields the data blocks of the range (through its partitions when it has
//! them); each block is read when an end reaches it. Bounds are applied where they can
//! cut: the lower bound seeks inside blocks, the upper bound inside any block whose last
//! key lies beyond it, and index partitions are bounded the same way.
#![deny(clippy::indexing_slicing)]

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use lsm_codec::{BlockIter, IndexBlock, IndexEntry};
use lsm_core::{InternalEntry, InternalKey, SeqNo, UserKey, ValueType};

use crate::Result;
use crate::reader::{TableInner, block_error};
use crate::two_level::TwoLevelIter;

/// Entries of a table in a key range, visible at a read seqno; see the module docs.
pub struct TableIter {
    inner: Box<dyn DoubleEndedIterator<Item = Result<InternalEntry>> + Send>,
}

/// A seek target: (user key, seqno) in internal-key order.
type Target = Option<(UserKey, SeqNo)>;

impl TableIter {
    pub(crate) fn new<K: AsRef<[u8]>, R: RangeBounds<K>>(
        table: &Arc<TableInner>,
        range: R,
        read_seqno: SeqNo,
    ) -> Self {
        let (lower, excluded_lower) = match range.start_bound() {
            Bound::Included(key) => (Some((UserKey::new(key.as_ref()), SeqNo::MAX)), None),
            Bound::Excluded(key) => (
                Some((UserKey::new(key.as_ref()), 0)),
                Some(UserKey::new(key.as_ref())),
            ),
            Bound::Unbounded => (None, None),
        };
        let upper = match range.end_bound() {
            Bound::Included(key) => Some((UserKey::new(key.as_ref()), 0)),
            Bound::Excluded(key) => Some((UserKey::new(key.as_ref()), SeqNo::MAX)),
            Bound::Unbounded => None,
        };
        let index = index_entries(table, &lower, &upper);
        let data_table = Arc::clone(table);
        let data = TwoLevelIter::new(index, move |entry: IndexEntry| {
            data_block_iter(&data_table, &entry, &lower, &upper)
        });
        let visible = data.filter(move |item| match item {
            Ok(entry) => {
                entry.key.seqno < read_seqno
                    && excluded_lower
                        .as_ref()
                        .is_none_or(|excluded| entry.key.user_key != *excluded)
            }
            Err(_) => true,
        });
        Self {
            inner: Box::new(visible),
        }
    }
}

impl Iterator for TableIter {
    type Item = Result<InternalEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl DoubleEndedIterator for TableIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
    }
}

type IndexIter = Box<dyn DoubleEndedIterator<Item = Result<IndexEntry>> + Send>;

/// The index entries of the data blocks that can hold keys in the bounds.
fn index_entries(table: &Arc<TableInner>, lower: &Target, upper: &Target) -> IndexIter {
    let top_offset = table.properties.index_handle.offset;
    let top_index = match table.top_index() {
        Ok(index) => index,
        Err(error) => return Box::new(std::iter::once(Err(error))),
    };
    let top = match bounded_index(&top_index, lower, upper) {
        Ok(top) => top,
        Err(error) => {
            return Box::new(std::iter::once(Err(block_error(
                table.file_id,
                top_offset,
                error.into(),
            ))));
        }
    };
    let file_id = table.file_id;
    let top = top.map(move |entry| {
        entry
            .and_then(IndexEntry::try_from)
            .map_err(|error| block_error(file_id, top_offset, error.into()))
    });
    if !table.properties.index_partitioned {
        return Box::new(top);
    }
    let partition_table = Arc::clone(table);
    let (lower, upper) = (lower.clone(), upper.clone());
    Box::new(TwoLevelIter::new(top, move |top_entry: IndexEntry| {
        let offset = top_entry.handle.offset;
        let partition = partition_table.index_partition(top_entry.handle)?;
        let entries = bounded_index(&partition, &lower, &upper)
            .map_err(|error| block_error(file_id, offset, error.into()))?;
        Ok(entries.map(move |entry| {
            entry
                .and_then(IndexEntry::try_from)
                .map_err(|error| block_error(file_id, offset, error.into()))
        }))
    }))
}

/// An index block's entries from the first whose last key reaches `lower` through the
/// first whose last key reaches `upper` (that block holds the last keys in bounds).
fn bounded_index(
    index: &IndexBlock,
    lower: &Target,
    upper: &Target,
) -> Result<BlockIter, lsm_core::DecodeError> {
    let mut entries = index.block_iter();
    if let Some((key, seqno)) = lower {
        entries.seek(key, *seqno)?;
    }
    if let Some((key, seqno)) = upper {
        let mut probe = index.block_iter();
        probe.seek(key, *seqno)?;
        if let Some(last) = probe.next().transpose()? {
            entries.seek_for_prev(&last.key.user_key, last.key.seqno)?;
        }
    }
    Ok(entries)
}

/// One data block's entries, cut to the bounds.
fn data_block_iter(
    table: &TableInner,
    entry: &IndexEntry,
    lower: &Target,
    upper: &Target,
) -> Result<impl DoubleEndedIterator<Item = Result<InternalEntry>> + Send + use<>> {
    let offset = entry.handle.offset;
    let file_id = table.file_id;
    let block = table.data_block(entry.handle)?;
    let mut entries = block.iter();
    let decode_error = |error: lsm_core::DecodeError| block_error(file_id, offset, error.into());
    if let Some((key, seqno)) = lower {
        entries.seek(key, *seqno).map_err(decode_error)?;
    }
    if let Some((key, seqno)) = upper {
        let bound = InternalKey::new(key.clone(), *seqno, ValueType::Value);
        if entry.last_key > bound {
            entries.seek_for_prev(key, *seqno).map_err(decode_error)?;
        }
    }
    Ok(entries.map(move |item| item.map_err(|error| block_error(file_id, offset, error.into()))))
}
