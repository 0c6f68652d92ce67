//! [`Table`]: an open table. Opening reads and checks the footer and the properties, then
//! loads the top-level index, the filter and the dictionary; data blocks and index
//! partitions are read when a lookup or scan needs them.
//!
//! Every offset taken from the file is checked against the file's length before it is
//! read, and every block is checked (checksum bound to this file and offset) before it
//! is decoded, so a damaged or truncated table gives a typed error naming the table and
//! offset, never a panic or a wrong answer.
#![deny(clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lsm_burr::{BurrFilter, FilterRef};
use lsm_codec::envelope::{self, BlockContext, BlockType};
use lsm_codec::{
    BlockHandle, DataBlock, DecodeOptions, FileCipher, IndexBlock, IndexEntry, ZstdDictionary,
};
use lsm_core::coding::Decoder;
use lsm_core::{
    BlockKind, FileId, Fs, FsFile, InternalEntry, KeyOrder, OpenOptions, RangeTombstone,
    ReadCounters, ReadFile, SeqNo, Slice,
};
use xxhash_rust::xxh3::xxh3_64;

use crate::layout::{
    BLOCK_LEN_MAX, FOOTER_CHECKSUM_OFFSET, FOOTER_FLAG_ENCRYPTED, FOOTER_FLAGS_KNOWN, FOOTER_LEN,
    FOOTER_MAGIC, PROPERTIES_LEN_MAX, TABLE_FORMAT_VERSION,
};
use crate::locator::{Locator, Start};
use crate::pin_budget::PinGrant;
use crate::row_cache::{Row, RowCache};
use crate::writer::prefix_hash;
use crate::{BlockCache, BlockPriority, Error, ReadOptions, Result, TableProperties};

/// An open table; clones share it.
#[derive(Clone)]
pub struct Table {
    pub(crate) inner: Arc<TableInner>,
}

pub(crate) struct TableInner {
    source: BlockSource,
    pub(crate) file_id: FileId,
    pub(crate) properties: TableProperties,
    /// The top-level index, when pinned.
    top_index: Option<IndexBlock>,
    /// The full filter, when pinned.
    filter: Option<BurrFilter>,
    /// The filter partitions' index, when the filter is partitioned and pinned.
    filter_index: Option<IndexBlock>,
    /// The block locator, when the table has one, it is wanted, and it is pinned.
    locator: Option<Locator>,
    /// What the pinned index and filter took from the pin budget (given back on drop).
    #[expect(dead_code, reason = "held for its drop, which gives the bytes back")]
    pin_grant: PinGrant,
    prefix_filter: bool,
    /// The range tombstones, sorted by start key (read at open: they are few, and every
    /// read of the table's keys needs them).
    range_tombstones: Vec<RangeTombstone>,
    /// Point reads the filter answered "absent" for.
    filter_rejected: AtomicU64,
    /// Point reads the filter passed that found no visible entry.
    filter_passed_absent: AtomicU64,
    /// Prefix scans the prefix filter answered "absent" for.
    prefix_rejected: AtomicU64,
    /// The row cache and this table's id in it.
    row_cache: Option<(Arc<RowCache>, u64)>,
    /// Point reads that consulted the data (past the key range and the filter).
    data_reads: AtomicU64,
    /// Unix seconds of such a read: the first 16, then every 16th (a clock read costs
    /// more than the count).
    last_read_secs: AtomicU64,
    /// The order of the keys.
    pub(crate) order: KeyOrder,
    /// The seqno every entry reads at, for an ingested table (see
    /// [`ReadOptions::global_seqno`]).
    pub(crate) global_seqno: Option<SeqNo>,
}

/// `entry` read at `seqno` (an ingested table's entries are stored at 0).
pub(crate) fn with_seqno(mut entry: InternalEntry, seqno: SeqNo) -> InternalEntry {
    entry.key.seqno = seqno;
    entry
}

/// What a table's filter did for reads since the table opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterCounters {
    /// Reads the filter answered "absent" for (no block read).
    pub rejected: u64,
    /// Reads the filter passed that then found no visible entry: false positives, and
    /// the rare key whose every version is newer than the read.
    pub passed_absent: u64,
    /// Prefix scans (and range scans within one prefix) the prefix filter answered
    /// "absent" for: the table was not read.
    pub prefix_rejected: u64,
}

impl std::ops::AddAssign for FilterCounters {
    fn add_assign(&mut self, other: Self) {
        self.rejected += other.rejected;
        self.passed_absent += other.passed_absent;
        self.prefix_rejected += other.prefix_rejected;
    }
}

/// Where blocks come from, and what decoding them needs.
struct BlockSource {
    file: ReadFile,
    path: PathBuf,
    file_id: FileId,
    /// Bytes before the footer: every block lies below this.
    blocks_end: u64,
    dictionary: Option<ZstdDictionary>,
    cipher: Option<FileCipher>,
    /// The block cache and this table's id in it.
    cache: Option<(Arc<BlockCache>, u64)>,
    /// Where block loads are counted.
    counters: Option<Arc<ReadCounters>>,
}

/// The outcome of checking one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockReport {
    /// What the block is.
    pub block_type: &'static str,
    /// Where.
    pub handle: BlockHandle,
    /// The error, if the block is damaged.
    pub error: Option<String>,
}

/// The outcome of [`Table::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Every block checked, in file order (blocks whose listing failed first).
    pub blocks: Vec<BlockReport>,
    /// XXH3-64 of the whole file as the check read it (every byte once), to compare with
    /// a digest recorded when the table was written.
    pub file_digest: u64,
    /// The file's length: the bytes the check read.
    pub file_len: u64,
}

impl VerifyReport {
    /// Whether every block checked out.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.blocks.iter().all(|block| block.error.is_none())
    }
}

struct Footer {
    flags: u8,
    key_check: u32,
    salt: [u8; lsm_codec::FILE_SALT_LEN],
    properties: BlockHandle,
}

impl Table {
    /// Opens table `file_id` at `path`.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Corruption`] / [`Error::Block`] for damaged or truncated
    /// files; [`Error::UnsupportedFormatVersion`]; [`Error::FileIdMismatch`];
    /// [`Error::KeyRequired`] / [`Error::WrongKey`] for encrypted tables.
    pub fn open(fs: &dyn Fs, path: &Path, file_id: FileId, options: &ReadOptions) -> Result<Self> {
        let file = fs
            .open(path, OpenOptions::read())
            .map_err(|source| Error::io("open", path, source))?;
        let file_len = file
            .len()
            .map_err(|source| Error::io("stat", path, source))?;
        let footer = read_footer(file.as_ref(), path, file_id, file_len)?;
        let file = match &options.descriptor_cache {
            Some(cache) => ReadFile::cached(cache, path),
            None => ReadFile::owned(file),
        };
        let cipher = match (
            footer.flags & FOOTER_FLAG_ENCRYPTED != 0,
            &options.encryption_key,
        ) {
            (true, None) => return Err(Error::KeyRequired { file_id }),
            (true, Some(key)) => {
                let cipher = FileCipher::new(key, &footer.salt);
                if cipher.key_check() != footer.key_check {
                    return Err(Error::WrongKey { file_id });
                }
                Some(cipher)
            }
            (false, Some(_)) => {
                return Err(corruption(
                    file_id,
                    file_len,
                    "plaintext table where a key was given",
                ));
            }
            (false, None) => None,
        };
        let mut source = BlockSource {
            file,
            path: path.to_path_buf(),
            file_id,
            blocks_end: file_len - FOOTER_LEN as u64,
            dictionary: None,
            cipher,
            cache: options
                .block_cache
                .as_ref()
                .map(|cache| (Arc::clone(cache), cache.new_table_id())),
            counters: options.counters.clone(),
        };
        if footer.properties.len_bytes > PROPERTIES_LEN_MAX {
            return Err(corruption(file_id, file_len, "properties block too large"));
        }
        let properties_bytes = source.read_block(footer.properties, BlockType::Properties)?;
        let properties = TableProperties::decode(&properties_bytes)
            .map_err(|source| block_error(file_id, footer.properties.offset, source.into()))?;
        // A table records its order's name unless the order is lexicographic.
        let same_order = match &properties.comparator {
            None => options.order.is_lexicographic(),
            Some(name) => !options.order.is_lexicographic() && name == options.order.name(),
        };
        if !same_order {
            return Err(Error::ComparatorMismatch {
                file_id,
                stored: properties
                    .comparator
                    .unwrap_or_else(|| lsm_core::order::LEXICOGRAPHIC_NAME.to_owned()),
                supplied: options.order.name(),
            });
        }
        if let Some(handle) = properties.dictionary_handle {
            let raw = source.read_block(handle, BlockType::Dictionary)?;
            let dictionary = ZstdDictionary::new(&raw);
            if Some(dictionary.id()) != properties.dictionary_id {
                return Err(corruption(
                    file_id,
                    handle.offset,
                    "dictionary id does not match",
                ));
            }
            source.dictionary = Some(dictionary);
        }
        // A table of range tombstones only has no index (and no data or filter).
        let top_index = if properties.entry_count == 0 {
            None
        } else {
            let index = source.read_block(properties.index_handle, BlockType::Index)?;
            Some(IndexBlock::reopen(index).map_err(|error| {
                block_error(file_id, properties.index_handle.offset, error.into())
            })?)
        };
        let mut filter = None;
        let mut filter_index = None;
        let mut prefix_filter = false;
        if let Some(handle) = properties.filter_handle {
            // Decoded now even when not pinned: a damaged filter fails the open.
            if properties.filter_partitioned {
                let bytes = source.read_block(handle, BlockType::Index)?;
                let index = IndexBlock::reopen(bytes)
                    .map_err(|error| block_error(file_id, handle.offset, error.into()))?;
                filter_index = Some(index);
            } else {
                let bytes = source.read_block(handle, BlockType::Filter)?;
                let decoded = BurrFilter::decode(bytes.to_vec())
                    .map_err(|_| corruption(file_id, handle.offset, "malformed filter"))?;
                filter = Some(decoded);
            }
            let extractor_name = options
                .prefix_extractor
                .as_ref()
                .map(|extractor| extractor.name());
            prefix_filter = extractor_name.is_some()
                && properties.prefix_extractor.as_deref() == extractor_name;
        }
        // Decoded now, when it can be used (it is kept only with a pinned index): a
        // damaged locator fails the open, like a damaged filter.
        let locator = match properties.locator_handle {
            Some(handle) if options.use_locator && options.pin_index && top_index.is_some() => {
                let payload = source.read_block(handle, BlockType::Meta)?;
                Some(
                    Locator::decode(&payload, properties.data_block_count)
                        .map_err(|error| block_error(file_id, handle.offset, error.into()))?,
                )
            }
            _ => None,
        };
        let range_tombstones = match properties.range_tombstone_handle {
            Some(handle) => {
                let bytes = source.read_block(handle, BlockType::RangeTombstone)?;
                crate::range_tombstones::decode(&options.order, &bytes)
                    .map_err(|error| block_error(file_id, handle.offset, error.into()))?
            }
            None => Vec::new(),
        };
        if range_tombstones.len() as u64 != properties.range_tombstone_count {
            return Err(corruption(
                file_id,
                footer.properties.offset,
                "range tombstone count does not match the block",
            ));
        }
        if options.global_seqno.is_some()
            && !(properties.ingested
                && properties.seqno_max == 0
                && properties.range_tombstone_count == 0
                && properties.user_key_count == properties.entry_count)
        {
            return Err(corruption(
                file_id,
                footer.properties.offset,
                "a global seqno for a table not written by an ingestion",
            ));
        }
        // What is pinned, within the budget: the index first, then the filter.
        let mut pin_grant = PinGrant::default();
        let budget = options.pin_budget.as_ref();
        let top_index = top_index
            .filter(|index| options.pin_index && pin_grant.take(budget, index.len_bytes() as u64));
        let filter = filter.filter(|filter| {
            options.pin_filter && pin_grant.take(budget, filter.size_in_bytes() as u64)
        });
        let filter_index = filter_index
            .filter(|index| options.pin_filter && pin_grant.take(budget, index.len_bytes() as u64));
        // The locator stands in for the index search, so it is kept with a pinned index.
        let locator = locator.filter(|locator| {
            top_index.is_some() && pin_grant.take(budget, locator.size_in_bytes() as u64)
        });
        let inner = TableInner {
            pin_grant,
            source,
            file_id,
            properties,
            top_index,
            filter,
            filter_index,
            locator,
            prefix_filter,
            range_tombstones,
            filter_rejected: AtomicU64::new(0),
            filter_passed_absent: AtomicU64::new(0),
            prefix_rejected: AtomicU64::new(0),
            row_cache: options
                .row_cache
                .as_ref()
                .map(|rows| (Arc::clone(rows), rows.new_table_id())),
            data_reads: AtomicU64::new(0),
            last_read_secs: AtomicU64::new(0),
            order: options.order.clone(),
            global_seqno: options.global_seqno,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The table's range tombstones, sorted by start key. Reads through [`Self::get`] and
    /// [`Self::range`] return point entries only; applying these is the caller's job.
    #[must_use]
    pub fn range_tombstones(&self) -> &[RangeTombstone] {
        &self.inner.range_tombstones
    }

    /// The table's id.
    #[must_use]
    pub fn file_id(&self) -> FileId {
        self.inner.file_id
    }

    /// The table's properties.
    #[must_use]
    pub fn properties(&self) -> &TableProperties {
        &self.inner.properties
    }

    /// The seqno every entry reads at, when the table was written by an ingestion and
    /// opened with one ([`ReadOptions::global_seqno`]).
    #[must_use]
    pub fn global_seqno(&self) -> Option<SeqNo> {
        self.inner.global_seqno
    }

    /// The newest version of `user_key` with a seqno below `read_seqno`, tombstones
    /// included (the caller interprets them).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Block`] when a block on the way is damaged.
    pub fn get(&self, user_key: &[u8], read_seqno: SeqNo) -> Result<Option<InternalEntry>> {
        if let Some(global) = self.inner.global_seqno {
            if read_seqno <= global {
                return Ok(None);
            }
            return Ok(self
                .stored_get(user_key, SeqNo::MAX)?
                .map(|entry| with_seqno(entry, global)));
        }
        self.stored_get(user_key, read_seqno)
    }

    /// [`Self::get`] on the seqnos as stored.
    fn stored_get(&self, user_key: &[u8], read_seqno: SeqNo) -> Result<Option<InternalEntry>> {
        let inner = &self.inner;
        let properties = &inner.properties;
        if read_seqno == 0
            || properties.entry_count == 0
            || inner.order.lt(user_key, &properties.key_min)
            || inner.order.lt(&properties.key_max, user_key)
        {
            return Ok(None);
        }
        if let Some((rows, table_id)) = &inner.row_cache {
            match rows.get(*table_id, user_key) {
                Some(Row::Absent) => return Ok(None),
                Some(Row::Newest(entry)) if entry.key.seqno < read_seqno => {
                    return Ok(Some(entry));
                }
                _ => {}
            }
        }
        // A read that sees every version of the table finds its answer for every seqno.
        let cacheable = read_seqno > properties.seqno_max;
        let has_filter = properties.filter_handle.is_some();
        let hash = lsm_burr::hash(user_key);
        let passed = inner.filter_contains(hash, user_key)?;
        // One count per outcome: in the shared counters when the table has them, else in
        // its own.
        match &inner.source.counters {
            Some(counters) if has_filter => counters.filter_queried(passed),
            Some(_) => {}
            None if !passed => {
                inner.filter_rejected.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
        if !passed {
            if cacheable && let Some((rows, table_id)) = &inner.row_cache {
                rows.insert(*table_id, user_key, &Row::Absent);
            }
            return Ok(None);
        }
        let reads = inner.data_reads.fetch_add(1, Ordering::Relaxed);
        if reads < 16 || reads.is_multiple_of(16) {
            inner.last_read_secs.store(unix_secs(), Ordering::Relaxed);
        }
        let found = inner.read_point(hash, user_key, read_seqno)?;
        if found.is_none() && has_filter {
            match &inner.source.counters {
                Some(counters) => counters.filter_false_positive(),
                None => {
                    inner.filter_passed_absent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if cacheable && let Some((rows, table_id)) = &inner.row_cache {
            let row = found.clone().map_or(Row::Absent, Row::Newest);
            rows.insert(*table_id, user_key, &row);
        }
        Ok(found)
    }

    /// Point reads ([`Self::get`]) that consulted the table's data since it opened (a
    /// read its key range or filter ruled out does not count), and the unix seconds of
    /// a recent one (exact for the first 16 reads, then within 16 reads), 0 before any.
    #[must_use]
    pub fn read_stats(&self) -> (u64, u64) {
        (
            self.inner.data_reads.load(Ordering::Relaxed),
            self.inner.last_read_secs.load(Ordering::Relaxed),
        )
    }

    /// What the filter did for [`Self::get`] since the table opened, when the table
    /// counts on its own: opened with [`ReadOptions::counters`], it counts there (once,
    /// not twice on the read path) and these stay 0.
    #[must_use]
    pub fn filter_counters(&self) -> FilterCounters {
        FilterCounters {
            rejected: self.inner.filter_rejected.load(Ordering::Relaxed),
            passed_absent: self.inner.filter_passed_absent.load(Ordering::Relaxed),
            prefix_rejected: self.inner.prefix_rejected.load(Ordering::Relaxed),
        }
    }

    /// Whether a scan over `prefix` may find keys here: false only when the filter holds
    /// prefixes of the reader's extractor and `prefix` is not among them.
    ///
    /// # Errors
    /// As [`Self::get`], when the filter is not pinned and must be read.
    pub fn may_contain_prefix(&self, prefix: &[u8], options: &ReadOptions) -> Result<bool> {
        let may = self.prefix_filter_passes(prefix, options)?;
        if !may {
            match &self.inner.source.counters {
                Some(counters) => counters.prefix_skipped(),
                None => {
                    self.inner.prefix_rejected.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(may)
    }

    fn prefix_filter_passes(&self, prefix: &[u8], options: &ReadOptions) -> Result<bool> {
        let inner = &self.inner;
        let Some(extractor) = &options.prefix_extractor else {
            return Ok(true);
        };
        if !inner.prefix_filter || !extractor.is_valid_scan_boundary(prefix) {
            return Ok(true);
        }
        if !inner.properties.filter_partitioned {
            return inner.filter_contains(prefix_hash(prefix), prefix);
        }
        // The prefix's keys may span partitions: ask each partition from the one that
        // can hold the prefix up to the first that ends beyond it. Only the lexicographic
        // order keeps a prefix's keys together; under another, every partition is asked.
        let index = inner.filter_index()?;
        let index_offset = inner
            .properties
            .filter_handle
            .map_or(0, |handle| handle.offset);
        let mut partitions = index.block_iter();
        let contiguous = inner.order.is_lexicographic();
        if contiguous {
            partitions
                .seek(&inner.order, prefix, SeqNo::MAX)
                .map_err(|error| block_error(inner.file_id, index_offset, error.into()))?;
        }
        for partition in partitions {
            let partition = partition
                .and_then(IndexEntry::try_from)
                .map_err(|error| block_error(inner.file_id, index_offset, error.into()))?;
            if inner.partition_contains(partition.handle, prefix_hash(prefix))? {
                return Ok(true);
            }
            if contiguous && !partition.last_key.user_key.starts_with(prefix) {
                break;
            }
        }
        Ok(false)
    }

    /// Checks every block's checksum (data and index blocks, filter, dictionary, range
    /// tombstones; the properties block was checked at open) and hashes the whole file,
    /// reading each byte once in file order ([`VerifyReport::file_digest`]).
    ///
    /// # Errors
    /// [`Error::Io`] when reading fails; damaged blocks are reported, not returned.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.inner.verify()
    }

    /// The data block handles with the last key of each block, in order.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn index_entries(&self) -> Result<Vec<IndexEntry>> {
        let inner = &self.inner;
        let mut entries = Vec::new();
        if inner.properties.entry_count == 0 {
            return Ok(entries);
        }
        for top in inner.top_index()?.iter() {
            let top = top.map_err(|source| {
                block_error(
                    inner.file_id,
                    inner.properties.index_handle.offset,
                    source.into(),
                )
            })?;
            if inner.properties.index_partitioned {
                let partition = inner.index_partition(top.handle)?;
                for entry in partition.iter() {
                    entries.push(entry.map_err(|source| {
                        block_error(inner.file_id, top.handle.offset, source.into())
                    })?);
                }
            } else {
                entries.push(top);
            }
        }
        Ok(entries)
    }

    /// The filter's figures, if the table has a filter.
    ///
    /// # Errors
    /// As [`Self::get`], when the filter is not pinned and must be read.
    pub fn filter_stats(&self) -> Result<Option<lsm_burr::FilterStats>> {
        let inner = &self.inner;
        if let Some(filter) = &inner.filter {
            return Ok(Some(filter.stats()));
        }
        let Some(handle) = inner.properties.filter_handle else {
            return Ok(None);
        };
        if inner.properties.filter_partitioned {
            return inner.partitioned_filter_stats().map(Some);
        }
        let bytes = inner.read_block(handle, BlockType::Filter)?;
        let filter = FilterRef::decode(&bytes)
            .map_err(|_| corruption(inner.file_id, handle.offset, "malformed filter"))?;
        Ok(Some(filter.stats()))
    }

    /// Bytes of the pinned filter, top-level index and block locator.
    #[must_use]
    pub fn pinned_bytes(&self) -> u64 {
        let index = self
            .inner
            .top_index
            .as_ref()
            .map_or(0, |index| index.len_bytes() as u64);
        self.pinned_filter_bytes() + index + self.pinned_locator_bytes()
    }

    /// Bytes of the pinned block locator (0 without one).
    #[must_use]
    pub fn pinned_locator_bytes(&self) -> u64 {
        self.inner
            .locator
            .as_ref()
            .map_or(0, |locator| locator.size_in_bytes() as u64)
    }

    /// Whether point reads of this table find their block through its block locator.
    #[must_use]
    pub fn uses_locator(&self) -> bool {
        self.inner.locator.is_some()
    }

    /// Bytes of the pinned filter, or of the pinned filter partitions' index.
    #[must_use]
    pub fn pinned_filter_bytes(&self) -> u64 {
        let inner = &self.inner;
        let filter = inner
            .filter
            .as_ref()
            .map_or(0, |filter| filter.size_in_bytes() as u64);
        let filter_index = inner
            .filter_index
            .as_ref()
            .map_or(0, |index| index.len_bytes() as u64);
        filter + filter_index
    }
}

impl TableInner {
    /// The newest version of `user_key` (whose hash is `hash`) below `read_seqno` in the
    /// data blocks: through the block locator when the table has one, else the index.
    fn read_point(
        &self,
        hash: u64,
        user_key: &[u8],
        read_seqno: SeqNo,
    ) -> Result<Option<InternalEntry>> {
        let Some(locator) = &self.locator else {
            return match self.seek_index(user_key, read_seqno - 1)? {
                Some(entry) => self
                    .data_block(entry.handle)?
                    .get(&self.order, user_key, read_seqno)
                    .map_err(|source| {
                        block_error(self.file_id, entry.handle.offset, source.into())
                    }),
                None => Ok(None),
            };
        };
        let (block, start) = locator.locate(hash);
        // A key of the table always gets its own block: any other answer is a key the
        // table does not hold.
        let Some(handle) = self.data_block_handle(locator, block)? else {
            return Ok(None);
        };
        let data = self.data_block(handle)?;
        let found = match start {
            Start::Search => data.get(&self.order, user_key, read_seqno),
            Start::At { restart, skip } => {
                data.get_from(&self.order, user_key, read_seqno, restart, skip)
            }
        };
        found.map_err(|source| block_error(self.file_id, handle.offset, source.into()))
    }

    /// The handle of data block number `block`, from the index by position; `None` past
    /// the last block.
    fn data_block_handle(&self, locator: &Locator, block: u64) -> Result<Option<BlockHandle>> {
        if block >= self.properties.data_block_count {
            return Ok(None);
        }
        let Ok(block) = usize::try_from(block) else {
            return Ok(None);
        };
        let index_offset = self.properties.index_handle.offset;
        // The handle at `position` of `index`: a block number within the index is an
        // entry of it.
        let handle_at = |index: &IndexBlock, position: usize| {
            index
                .handle_at(position, locator.index_restart_interval)
                .map_err(|error| block_error(self.file_id, index_offset, error.into()))?
                .ok_or_else(|| corruption(self.file_id, index_offset, "locator past the index"))
        };
        let top = self.top_index()?;
        let handle = match locator.partition_of(block) {
            None => handle_at(&top, block)?,
            Some((partition, position)) => {
                let partition = self.index_partition(handle_at(&top, partition)?)?;
                handle_at(&partition, position)?
            }
        };
        Ok(Some(handle))
    }

    /// The filter partitions' index, pinned or read through the cache.
    fn filter_index(&self) -> Result<IndexBlock> {
        if let Some(index) = &self.filter_index {
            return Ok(index.clone());
        }
        let handle = self
            .properties
            .filter_handle
            .ok_or_else(|| corruption(self.file_id, 0, "partitioned filter without an index"))?;
        let payload = self.read_block(handle, BlockType::Index)?;
        IndexBlock::reopen(payload)
            .map_err(|source| block_error(self.file_id, handle.offset, source.into()))
    }

    /// The figures of all filter partitions together.
    fn partitioned_filter_stats(&self) -> Result<lsm_burr::FilterStats> {
        let index = self.filter_index()?;
        let mut total: Option<lsm_burr::FilterStats> = None;
        for partition in index.iter() {
            let offset = self
                .properties
                .filter_handle
                .map_or(0, |handle| handle.offset);
            let partition =
                partition.map_err(|error| block_error(self.file_id, offset, error.into()))?;
            let bytes = self.read_block(partition.handle, BlockType::Filter)?;
            let stats = FilterRef::decode(&bytes)
                .map_err(|_| corruption(self.file_id, partition.handle.offset, "malformed filter"))?
                .stats();
            total = Some(match total {
                None => stats,
                Some(mut total) => {
                    total.key_count += stats.key_count;
                    total.size_in_bytes += stats.size_in_bytes;
                    total.header_len_bytes += stats.header_len_bytes;
                    total.layer_key_counts.extend(stats.layer_key_counts);
                    total.layer_slot_counts.extend(stats.layer_slot_counts);
                    total
                }
            });
        }
        let mut total = total
            .ok_or_else(|| corruption(self.file_id, 0, "partitioned filter without partitions"))?;
        #[expect(clippy::cast_precision_loss, reason = "a ratio for display")]
        let bits_per_key = total.size_in_bytes as f64 * 8.0 / total.key_count.max(1) as f64;
        total.bits_per_key = bits_per_key;
        Ok(total)
    }

    /// Whether the filter partition at `handle` may hold `hash`.
    fn partition_contains(&self, handle: BlockHandle, hash: u64) -> Result<bool> {
        let bytes = self.read_block(handle, BlockType::Filter)?;
        let filter = FilterRef::decode(&bytes)
            .map_err(|_| corruption(self.file_id, handle.offset, "malformed filter"))?;
        Ok(filter.contains_hash(hash))
    }

    /// The top-level index, pinned or read through the cache.
    pub(crate) fn top_index(&self) -> Result<IndexBlock> {
        if let Some(index) = &self.top_index {
            return Ok(index.clone());
        }
        let handle = self.properties.index_handle;
        let payload = self.read_block(handle, BlockType::Index)?;
        IndexBlock::reopen(payload)
            .map_err(|source| block_error(self.file_id, handle.offset, source.into()))
    }

    /// Whether the filter may hold `hash`, which belongs to `key` (the key picks the
    /// partition of a partitioned filter); true without a filter.
    fn filter_contains(&self, hash: u64, key: &[u8]) -> Result<bool> {
        if let Some(filter) = &self.filter {
            return Ok(filter.contains_hash(hash));
        }
        if self.properties.filter_partitioned {
            let index = self.filter_index()?;
            let index_offset = self
                .properties
                .filter_handle
                .map_or(0, |handle| handle.offset);
            let partition = index
                .seek(&self.order, key, SeqNo::MAX)
                .map_err(|error| block_error(self.file_id, index_offset, error.into()))?;
            return match partition {
                Some(partition) => self.partition_contains(partition.handle, hash),
                None => Ok(false),
            };
        }
        let Some(handle) = self.properties.filter_handle else {
            return Ok(true);
        };
        let bytes = self.read_block(handle, BlockType::Filter)?;
        let filter = FilterRef::decode(&bytes)
            .map_err(|_| corruption(self.file_id, handle.offset, "malformed filter"))?;
        Ok(filter.contains_hash(hash))
    }

    pub(crate) fn read_block(&self, handle: BlockHandle, block_type: BlockType) -> Result<Slice> {
        self.source.read_block(handle, block_type)
    }

    pub(crate) fn data_block(&self, handle: BlockHandle) -> Result<DataBlock> {
        let payload = self.read_block(handle, BlockType::Data)?;
        DataBlock::reopen(payload)
            .map_err(|source| block_error(self.file_id, handle.offset, source.into()))
    }

    /// Each data block's smallest and largest seqno, if the table records them.
    pub(crate) fn seqno_bounds(&self) -> Result<Option<Vec<(SeqNo, SeqNo)>>> {
        let Some(handle) = self.properties.seqno_bounds_handle else {
            return Ok(None);
        };
        let payload = self.read_block(handle, BlockType::Meta)?;
        crate::seqno_bounds::decode(&payload, self.properties.data_block_count)
            .map(Some)
            .map_err(|source| block_error(self.file_id, handle.offset, source.into()))
    }

    /// [`Self::data_block`] for a scan, reading ahead once the scan is sequential.
    pub(crate) fn data_block_ahead(
        &self,
        handle: BlockHandle,
        readahead: &mut Readahead,
    ) -> Result<DataBlock> {
        let payload = self
            .source
            .read_block_with(handle, BlockType::Data, Some(readahead))?;
        DataBlock::reopen(payload)
            .map_err(|source| block_error(self.file_id, handle.offset, source.into()))
    }

    pub(crate) fn index_partition(&self, handle: BlockHandle) -> Result<IndexBlock> {
        let payload = self.read_block(handle, BlockType::Index)?;
        IndexBlock::reopen(payload)
            .map_err(|source| block_error(self.file_id, handle.offset, source.into()))
    }

    /// The index entry of the data block holding the first entry at or after the target.
    pub(crate) fn seek_index(&self, user_key: &[u8], seqno: SeqNo) -> Result<Option<IndexEntry>> {
        let top_offset = self.properties.index_handle.offset;
        let top = self
            .top_index()?
            .seek(&self.order, user_key, seqno)
            .map_err(|source| block_error(self.file_id, top_offset, source.into()))?;
        match top {
            Some(top) if self.properties.index_partitioned => self
                .index_partition(top.handle)?
                .seek(&self.order, user_key, seqno)
                .map_err(|source| block_error(self.file_id, top.handle.offset, source.into())),
            other => Ok(other),
        }
    }

    fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let blocks = self.block_handles(&mut report);
        // Every block read once, in file order, checked and hashed; the bytes between
        // blocks (the properties block, the footer) are read only to be hashed.
        let mut digest = lsm_core::checksum::ChecksumBuilder::with_seed(0);
        let mut hashed_to = 0;
        for (block_type, handle) in blocks {
            let read = self.source.read_raw(handle, None);
            if let Ok(bytes) = &read {
                self.hash_up_to(&mut digest, &mut hashed_to, handle.offset)?;
                let skip = usize::try_from(hashed_to.saturating_sub(handle.offset)).unwrap_or(0);
                digest.update(bytes.get(skip..).unwrap_or_default());
                hashed_to = hashed_to.max(handle.offset + handle.len_bytes);
            }
            let error = match read {
                Ok(bytes) => {
                    let context = BlockContext {
                        file_id: self.file_id,
                        block_offset: handle.offset,
                    };
                    envelope::verify(&bytes, context)
                        .err()
                        .map(|error| error.to_string())
                }
                Err(Error::Io { source, .. }) => {
                    return Err(Error::io("read", &self.source.path, source));
                }
                Err(error) => Some(error.to_string()),
            };
            report.blocks.push(BlockReport {
                block_type,
                handle,
                error,
            });
        }
        let file_len = self.source.blocks_end + FOOTER_LEN as u64;
        self.hash_up_to(&mut digest, &mut hashed_to, file_len)?;
        report.file_digest = digest.finish().into_raw();
        report.file_len = file_len;
        Ok(report)
    }

    /// Hashes the file's bytes from `hashed_to` up to `end` (nothing when it is there).
    fn hash_up_to(
        &self,
        digest: &mut lsm_core::checksum::ChecksumBuilder,
        hashed_to: &mut u64,
        end: u64,
    ) -> Result<()> {
        if *hashed_to < end {
            let len = usize::try_from(end - *hashed_to)
                .map_err(|_| corruption(self.file_id, *hashed_to, "gap too large"))?;
            let bytes = Slice::filled_by(len, |bytes| {
                self.source.file.read_exact_at(bytes, *hashed_to)
            })
            .map_err(|source| Error::io("read", &self.source.path, source))?;
            digest.update(&bytes);
            *hashed_to = end;
        }
        Ok(())
    }

    /// Every block the table's metadata names, by ascending offset; a structure that
    /// cannot be read to list its blocks is reported as damaged.
    fn block_handles(&self, report: &mut VerifyReport) -> Vec<(&'static str, BlockHandle)> {
        let properties = &self.properties;
        let mut blocks = Vec::new();
        if properties.entry_count > 0 {
            blocks.push(("index", properties.index_handle));
        }
        if properties.filter_partitioned {
            match self.filter_index() {
                Ok(index) => {
                    for partition in index.iter().flatten() {
                        blocks.push(("filter partition", partition.handle));
                    }
                }
                Err(error) => report.blocks.push(BlockReport {
                    block_type: "filter index",
                    handle: properties.filter_handle.unwrap_or_default(),
                    error: Some(error.to_string()),
                }),
            }
        }
        for (block_type, handle) in [
            ("filter", properties.filter_handle),
            ("dictionary", properties.dictionary_handle),
            ("range tombstones", properties.range_tombstone_handle),
            ("seqno bounds", properties.seqno_bounds_handle),
            ("block locator", properties.locator_handle),
        ] {
            if let Some(handle) = handle {
                blocks.push((block_type, handle));
            }
        }
        // A table of range tombstones only has no index and no data blocks.
        if properties.entry_count > 0 {
            match self.top_index() {
                Ok(top_index) => {
                    for top in top_index.iter() {
                        let Ok(top) = top else {
                            report.blocks.push(BlockReport {
                                block_type: "index entry",
                                handle: properties.index_handle,
                                error: Some("malformed index entry".to_owned()),
                            });
                            break;
                        };
                        if !properties.index_partitioned {
                            blocks.push(("data", top.handle));
                            continue;
                        }
                        blocks.push(("index partition", top.handle));
                        match self.index_partition(top.handle) {
                            Ok(partition) => {
                                for entry in partition.iter().flatten() {
                                    blocks.push(("data", entry.handle));
                                }
                            }
                            Err(error) => report.blocks.push(BlockReport {
                                block_type: "index partition",
                                handle: top.handle,
                                error: Some(error.to_string()),
                            }),
                        }
                    }
                }
                Err(error) => report.blocks.push(BlockReport {
                    block_type: "index",
                    handle: properties.index_handle,
                    error: Some(error.to_string()),
                }),
            }
        }
        blocks.sort_by_key(|(_, handle)| handle.offset);
        blocks
    }
}

/// What a scan reads ahead: once it has read blocks in a row, one window of the file
/// (from [`READAHEAD_MIN`] doubling to [`READAHEAD_MAX`]) is read at once and the next
/// blocks are taken from it, so that a scan makes one read per window instead of one
/// per block. The window's buffer is reused.
#[derive(Debug, Default)]
pub(crate) struct Readahead {
    window: Vec<u8>,
    /// File offset of the window's first byte.
    start: u64,
    /// Where the last block read ended (forward) or began (backward).
    last: Option<(u64, u64)>,
    /// Blocks read in a row in one direction.
    streak: u32,
    /// The next window's size.
    size: usize,
}

/// Block read buffers are allocated in multiples of this, so that a buffer an evicted
/// block leaves fits the next block read of about its size (up to this much memory per
/// block beyond its bytes).
const SPARE_ROUNDING: usize = 256;

/// The first window a scan reads ahead.
const READAHEAD_MIN: usize = 16 << 10;
/// The largest window a scan reads ahead.
const READAHEAD_MAX: usize = 256 << 10;
/// Blocks read in a row before a scan reads ahead.
const READAHEAD_AFTER: u32 = 2;
/// Bytes between two blocks that still count as neighbours.
const ADJACENT_GAP: u64 = 64;

impl Readahead {
    /// The bytes of `handle` if the window holds them.
    fn get(&self, handle: BlockHandle) -> Option<&[u8]> {
        let from = usize::try_from(handle.offset.checked_sub(self.start)?).ok()?;
        let len = usize::try_from(handle.len_bytes).ok()?;
        self.window.get(from..from.checked_add(len)?)
    }

    /// Notes that `handle` was read; returns the window to read next, if the scan is
    /// sequential: `(start, len)` within `[0, blocks_end)`, holding the block.
    fn next_window(&mut self, handle: BlockHandle, blocks_end: u64) -> Option<(u64, usize)> {
        let end = handle.offset + handle.len_bytes;
        // Blocks lie back to back: a scan reads the neighbour of the block before.
        let adjacent = |from: u64, to: u64| to >= from && to - from <= ADJACENT_GAP;
        let forward = match self.last {
            Some((_, last_end)) if adjacent(last_end, handle.offset) => Some(true),
            Some((last_start, _)) if adjacent(end, last_start) => Some(false),
            _ => None,
        };
        self.last = Some((handle.offset, end));
        match forward {
            Some(_) => self.streak += 1,
            None => {
                self.streak = 0;
                self.size = READAHEAD_MIN;
            }
        }
        let forward = forward?;
        if self.streak < READAHEAD_AFTER {
            return None;
        }
        let block_len = usize::try_from(handle.len_bytes).ok()?;
        let size = self.size.clamp(READAHEAD_MIN, READAHEAD_MAX).max(block_len);
        self.size = (self.size * 2).min(READAHEAD_MAX);
        let size_u64 = size as u64;
        let start = if forward {
            handle.offset
        } else {
            end.saturating_sub(size_u64)
        };
        let len = (start + size_u64).min(blocks_end) - start;
        Some((start, usize::try_from(len).ok()?))
    }
}

/// Seconds since the unix epoch (0 if the clock is before it).
fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The counters' kind of a table block.
fn block_kind(block_type: BlockType) -> BlockKind {
    match block_type {
        BlockType::Data => BlockKind::Data,
        BlockType::Index => BlockKind::Index,
        BlockType::Filter => BlockKind::Filter,
        BlockType::RangeTombstone => BlockKind::RangeTombstone,
        BlockType::Blob => BlockKind::Blob,
        _ => BlockKind::Other,
    }
}

impl BlockSource {
    /// Reads and decodes one block after checking its handle against the file.
    fn read_block(&self, handle: BlockHandle, block_type: BlockType) -> Result<Slice> {
        self.read_block_with(handle, block_type, None)
    }

    /// [`Self::read_block`], through `readahead` when given.
    fn read_block_with(
        &self,
        handle: BlockHandle,
        block_type: BlockType,
        readahead: Option<&mut Readahead>,
    ) -> Result<Slice> {
        let kind = block_kind(block_type);
        // A miss comes with a buffer an evicted block left, when the cache has one: the
        // read fills it without allocating or zeroing.
        let spare = match &self.cache {
            Some((cache, table_id)) => {
                let len = usize::try_from(handle.len_bytes).unwrap_or(usize::MAX);
                match cache.get_or_spare(*table_id, handle.offset, len) {
                    Ok(payload) => {
                        if let Some(counters) = &self.counters {
                            counters.loaded_cached(kind);
                        }
                        // A block found in the cache keeps a scan sequential.
                        if let Some(readahead) = readahead {
                            readahead.last =
                                Some((handle.offset, handle.offset + handle.len_bytes));
                        }
                        return Ok(payload);
                    }
                    Err(spare) => spare,
                }
            }
            None => None,
        };
        let (bytes, sequential) = match readahead {
            Some(readahead) => self.read_ahead(handle, readahead, spare)?,
            None => (self.read_raw(handle, spare)?, false),
        };
        if let Some(counters) = &self.counters {
            counters.loaded_io(kind, handle.len_bytes);
        }
        let context = BlockContext {
            file_id: self.file_id,
            block_offset: handle.offset,
        };
        let dictionary = if block_type == BlockType::Data {
            self.dictionary.as_ref()
        } else {
            None
        };
        let options = DecodeOptions {
            dictionary,
            cipher: self.cipher.as_ref(),
        };
        let payload = envelope::decode(&bytes, block_type, options, context)
            .map_err(|source| block_error(self.file_id, handle.offset, source))?;
        // Checked once on its way into memory: readers reopen it in constant time.
        if matches!(block_type, BlockType::Data | BlockType::Index) {
            DataBlock::new(payload.clone())
                .map_err(|source| block_error(self.file_id, handle.offset, source.into()))?;
        }
        // A block a sequential scan took from its read-ahead window stays out of the
        // cache: a long scan would otherwise evict, block by block, what point reads
        // use, and pay an insertion and an eviction per block for blocks it will not
        // read again.
        if let Some((cache, table_id)) = self.cache.as_ref().filter(|_| !sequential) {
            let priority = if block_type == BlockType::Data {
                BlockPriority::Data
            } else {
                BlockPriority::Metadata
            };
            cache.insert(*table_id, handle.offset, payload.clone(), priority);
        }
        Ok(payload)
    }

    /// A block's bytes from `readahead`'s window, refilling it when the scan is
    /// sequential and the window does not hold them; and whether they came from the
    /// window.
    fn read_ahead(
        &self,
        handle: BlockHandle,
        readahead: &mut Readahead,
        spare: Option<Arc<[u8]>>,
    ) -> Result<(Slice, bool)> {
        if let Some(bytes) = readahead.get(handle).map(Slice::new) {
            readahead.last = Some((handle.offset, handle.offset + handle.len_bytes));
            return Ok((bytes, true));
        }
        let Some((start, len)) = readahead.next_window(handle, self.blocks_end) else {
            return Ok((self.read_raw(handle, spare)?, false));
        };
        self.check_handle(handle)?;
        readahead.window.resize(len, 0);
        readahead.start = start;
        if let Err(source) = self.file.read_exact_at(&mut readahead.window, start) {
            readahead.window.clear();
            return Err(Error::io("read", &self.path, source));
        }
        match readahead.get(handle) {
            Some(bytes) => Ok((Slice::new(bytes), true)),
            None => Ok((self.read_raw(handle, spare)?, false)),
        }
    }

    /// Checks a block's handle against the file.
    fn check_handle(&self, handle: BlockHandle) -> Result<()> {
        let end = handle.offset.checked_add(handle.len_bytes);
        if end.is_none_or(|end| end > self.blocks_end) || handle.len_bytes > BLOCK_LEN_MAX {
            return Err(corruption(
                self.file_id,
                handle.offset,
                "block handle outside the file",
            ));
        }
        Ok(())
    }

    /// Reads a block's bytes after checking its handle against the file, into `spare`
    /// when it fits (a new buffer otherwise; with a cache, which may keep the buffer
    /// when it evicts the block, with room for a block up to [`SPARE_ROUNDING`] bytes
    /// longer).
    fn read_raw(&self, handle: BlockHandle, spare: Option<Arc<[u8]>>) -> Result<Slice> {
        self.check_handle(handle)?;
        let len = usize::try_from(handle.len_bytes)
            .map_err(|_| corruption(self.file_id, handle.offset, "block too large"))?;
        let capacity = if self.cache.is_some() {
            len.next_multiple_of(SPARE_ROUNDING)
        } else {
            len
        };
        Slice::filled_reusing(spare, len, capacity, |bytes| {
            self.file.read_exact_at(bytes, handle.offset)
        })
        .map_err(|source| Error::io("read", &self.path, source))
    }
}

fn read_footer(file: &dyn FsFile, path: &Path, file_id: FileId, file_len: u64) -> Result<Footer> {
    if file_len < FOOTER_LEN as u64 {
        return Err(corruption(file_id, 0, "file shorter than a footer"));
    }
    let footer_offset = file_len - FOOTER_LEN as u64;
    let mut bytes = [0; FOOTER_LEN];
    file.read_exact_at(&mut bytes, footer_offset)
        .map_err(|source| Error::io("read", path, source))?;
    let body = bytes.get(..FOOTER_CHECKSUM_OFFSET).unwrap_or_default();
    let mut decoder = Decoder::new(&bytes);
    let bad = |what| corruption(file_id, footer_offset, what);
    let magic: [u8; 8] = decoder.array().map_err(|_| bad("footer"))?;
    if magic != FOOTER_MAGIC {
        return Err(bad("bad footer magic"));
    }
    let version = decoder.u8().map_err(|_| bad("footer"))?;
    let flags = decoder.u8().map_err(|_| bad("footer"))?;
    decoder.bytes(2).map_err(|_| bad("footer"))?;
    let key_check = decoder.u32().map_err(|_| bad("footer"))?;
    let salt = decoder.array().map_err(|_| bad("footer"))?;
    let properties = BlockHandle {
        offset: decoder.u64().map_err(|_| bad("footer"))?,
        len_bytes: decoder.u64().map_err(|_| bad("footer"))?,
    };
    let stored_file_id = decoder.u64().map_err(|_| bad("footer"))?;
    let checksum = decoder.u64().map_err(|_| bad("footer"))?;
    if xxh3_64(body) != checksum {
        return Err(bad("footer checksum mismatch"));
    }
    if version > TABLE_FORMAT_VERSION {
        return Err(Error::UnsupportedFormatVersion {
            found: version,
            max: TABLE_FORMAT_VERSION,
        });
    }
    if version == 0 || flags & !FOOTER_FLAGS_KNOWN != 0 {
        return Err(bad("bad footer version or flags"));
    }
    if stored_file_id != file_id {
        return Err(Error::FileIdMismatch {
            expected: file_id,
            found: stored_file_id,
        });
    }
    Ok(Footer {
        flags,
        key_check,
        salt,
        properties,
    })
}

pub(crate) fn corruption(file_id: FileId, offset: u64, what: &'static str) -> Error {
    Error::Corruption {
        file_id,
        offset,
        what,
    }
}

pub(crate) fn block_error(file_id: FileId, offset: u64, source: lsm_codec::Error) -> Error {
    Error::Block {
        file_id,
        offset,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(offset: u64) -> BlockHandle {
        BlockHandle {
            offset,
            len_bytes: 4_000,
        }
    }

    #[test]
    fn readahead_starts_on_a_sequential_scan_and_grows() {
        let end = 10 << 20;
        let mut readahead = Readahead::default();
        assert_eq!(
            readahead.next_window(block(0), end),
            None,
            "one block is no streak"
        );
        assert_eq!(readahead.next_window(block(4_000), end), None);
        let (start, len) = readahead.next_window(block(8_000), end).unwrap();
        assert_eq!((start, len), (8_000, READAHEAD_MIN));
        // The window serves what it holds, and the next one is twice as large.
        readahead.window = vec![7; len];
        readahead.start = start;
        assert_eq!(readahead.get(block(12_000)).map(<[u8]>::len), Some(4_000));
        assert_eq!(readahead.get(block(8_000 + READAHEAD_MIN as u64)), None);
        // Blocks served from the window count as read (`read_ahead` notes them).
        readahead.last = Some((20_000, 24_000));
        let (_, len) = readahead.next_window(block(24_000), end).unwrap();
        assert_eq!(len, 2 * READAHEAD_MIN);
        for offset in (28_000..4_000_000).step_by(4_000) {
            if let Some((_, len)) = readahead.next_window(block(offset), end) {
                assert!(len <= READAHEAD_MAX);
            }
        }
        // A jump elsewhere ends the streak.
        assert_eq!(readahead.next_window(block(0), end), None);
    }

    #[test]
    fn readahead_runs_backwards_and_stays_in_the_file() {
        let mut readahead = Readahead::default();
        let end = 100_000;
        for offset in [80_000, 76_000] {
            assert_eq!(readahead.next_window(block(offset), end), None);
        }
        let (start, len) = readahead.next_window(block(72_000), end).unwrap();
        assert_eq!(start + len as u64, 76_000, "the window ends with the block");
        assert_eq!(len, READAHEAD_MIN);
        let mut near_end = Readahead::default();
        for offset in [88_000, 92_000] {
            near_end.next_window(block(offset), end);
        }
        let (start, len) = near_end.next_window(block(96_000), end).unwrap();
        assert_eq!(
            (start, start + len as u64),
            (96_000, end),
            "clipped to the blocks"
        );
    }
}
