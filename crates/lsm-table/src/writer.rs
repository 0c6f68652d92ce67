//! [`TableWriter`]: writes a table from entries in internal-key order.
//!
//! Entries go into data blocks cut at the target size; each finished block is encoded
//! (compressed, encrypted, checksummed for its place) and appended. At the end come the
//! index (one block, or partitions under a top-level block when it is large), the filter
//! over user-key hashes (and prefix hashes), the dictionary if data blocks use one, the
//! properties, and the footer; then the file is synced. The caller makes the file's
//! directory entry durable (`Fs::sync_dir`) before anything refers to it.
//!
//! Invariant (asserted in release builds too): entries strictly increase in internal-key
//! order. Keys and values outside the limits are bad input and return an error.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use lsm_burr::BurrFilter;
use lsm_codec::envelope::{self, BlockContext, BlockType};
use lsm_codec::{
    BlockHandle, Compression, DataBlockBuilder, EncodeOptions, FileCipher, IndexBlockBuilder,
    ZstdDictionary, train_dictionary,
};
use lsm_core::coding::{put_u32, put_u64};
use lsm_core::{
    FileId, Fs, FsFile, InternalEntry, InternalKey, OpenOptions, RangeTombstone, SeqNo, UserKey,
    ValueType, limits,
};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::BuildError;
use crate::layout::{
    FOOTER_FLAG_ENCRYPTED, FOOTER_MAGIC, TABLE_FORMAT_VERSION, TABLE_FORMAT_VERSION_LEXICOGRAPHIC,
};
use crate::locator::{IndexShape, LocatorBuilder};
use crate::{Error, Result, TableOptions, TableProperties};

/// Bytes buffered before they are appended to the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Data blocks compressed together on a compression pool, per thread of the pool.
const BLOCKS_PER_POOL_THREAD: usize = 8;

/// Blocks back from the compression pool: each block's last key, payload and what
/// compressing it gave.
type CompressedBatch = Vec<(
    InternalKey,
    Vec<u8>,
    std::result::Result<envelope::Compressed, lsm_codec::Error>,
)>;

/// The hash a filter holds for a key prefix (kept apart from whole-key hashes).
pub(crate) fn prefix_hash(prefix: &[u8]) -> u64 {
    lsm_burr::hash(prefix) ^ 0x9E37_79B9_7F4A_7C15
}

/// Writes one table; see the module docs.
pub struct TableWriter {
    file: Box<dyn FsFile>,
    path: PathBuf,
    file_id: FileId,
    options: TableOptions,
    cipher: Option<FileCipher>,
    /// Offset of the next byte to write (buffered bytes included).
    offset: u64,
    buffer: Vec<u8>,
    /// XXH3-64 of every byte appended to the file so far: the whole file's digest once
    /// it is finished.
    file_digest: lsm_core::checksum::ChecksumBuilder,
    data_block: DataBlockBuilder,
    /// `(last internal key, handle)` of every data block.
    index_entries: Vec<(InternalKey, BlockHandle)>,
    /// Each finished data block's smallest and largest seqno, in block order.
    block_seqnos: Vec<(SeqNo, SeqNo)>,
    /// The open data block's smallest and largest seqno.
    open_block_seqnos: Option<(SeqNo, SeqNo)>,
    last_key: Option<InternalKey>,
    filter_hashes: Vec<u64>,
    /// `(last user key, handle)` of every finished filter partition.
    filter_partitions: Vec<(UserKey, BlockHandle)>,
    properties: TableProperties,
    /// Range tombstones to write at finish.
    range_tombstones: Vec<RangeTombstone>,
    /// Data blocks waiting for the dictionary they train.
    pending_blocks: Vec<(InternalKey, Vec<u8>)>,
    pending_bytes: usize,
    /// Data blocks waiting to be sent to the compression pool, in order.
    batch: Vec<(InternalKey, Vec<u8>)>,
    /// Uncompressed bytes of the batch and of the one on the pool.
    batch_bytes: usize,
    /// The batch being compressed on the pool (the one before `batch`), and its bytes.
    in_flight: Option<(Receiver<CompressedBatch>, usize)>,
    /// Each user key's place, for the block locator.
    locator: Option<LocatorBuilder>,
    /// The first block number of each index partition, once the index is written.
    partition_starts: Vec<u32>,
    /// Set by the first error after which the file's contents are unknown.
    failed: bool,
}

impl TableWriter {
    /// Creates the file at `path` (it must not exist) for table `file_id`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be created.
    ///
    /// # Panics
    /// When the options are invalid (a zero block size or restart interval).
    pub fn create(
        fs: &dyn Fs,
        path: &Path,
        file_id: FileId,
        options: TableOptions,
    ) -> Result<Self> {
        assert!(options.block_size > 0, "block size must be positive");
        let file = fs
            .open(path, OpenOptions::create_new())
            .map_err(|source| Error::io("create", path, source))?;
        let cipher = options
            .encryption
            .as_ref()
            .map(|(key, salt)| FileCipher::new(key, salt));
        let data_block = DataBlockBuilder::new(options.restart_interval)
            .with_hash_index(options.hash_index_ratio)
            .with_order(&options.order);
        let properties = TableProperties {
            data_compression: options.compression.to_string(),
            index_compression: options.index_compression.to_string(),
            created_at_ms: options.created_at_ms,
            block_size: options.block_size as u64,
            restart_interval: options.restart_interval as u64,
            seqno_min: SeqNo::MAX,
            dictionary_id: options.compression.dictionary().map(ZstdDictionary::id),
            comparator: (!options.order.is_lexicographic())
                .then(|| options.order.name().to_owned()),
            replaces: sorted_ids(&options.replaces),
            obsolete: sorted_ids(&options.obsolete),
            ingested: options.ingested,
            prefix_extractor: options
                .prefix_extractor
                .as_ref()
                .map(|extractor| extractor.name().to_owned()),
            ..TableProperties::default()
        };
        // A full filter of whole keys holds each user key's hash in order: the locator
        // reads them from it instead of keeping its own.
        let filter_has_every_hash = options.filter.is_some()
            && options.prefix_extractor.is_none()
            && options.filter_partition_keys.is_none();
        let locator = options.locator.map(|locator| {
            let builder = LocatorBuilder::new(locator, options.restart_interval);
            if filter_has_every_hash {
                builder.sharing_hashes()
            } else {
                builder
            }
        });
        Ok(Self {
            file,
            path: path.to_path_buf(),
            file_id,
            options,
            cipher,
            offset: 0,
            buffer: Vec::new(),
            file_digest: lsm_core::checksum::ChecksumBuilder::with_seed(0),
            data_block,
            index_entries: Vec::new(),
            block_seqnos: Vec::new(),
            open_block_seqnos: None,
            last_key: None,
            filter_hashes: Vec::new(),
            filter_partitions: Vec::new(),
            properties,
            range_tombstones: Vec::new(),
            pending_blocks: Vec::new(),
            pending_bytes: 0,
            batch: Vec::new(),
            batch_bytes: 0,
            in_flight: None,
            locator,
            partition_starts: Vec::new(),
            failed: false,
        })
    }

    /// Adds an entry.
    ///
    /// # Errors
    /// [`Error::InvalidEntry`] for a key or value outside the limits (the writer stays
    /// usable); [`Error::Io`] and [`Error::Build`] when writing a finished block fails,
    /// after which every call returns [`Error::WriterFailed`] and the file must be deleted.
    ///
    /// # Panics
    /// When the entry does not sort strictly after the previous one, or, in an ingested
    /// table, has a seqno other than 0 or the user key of the previous one.
    pub fn add(&mut self, entry: &InternalEntry) -> Result<()> {
        self.check_not_failed()?;
        limits::check_user_key(&entry.key.user_key).map_err(Error::InvalidEntry)?;
        limits::check_value(&entry.value).map_err(Error::InvalidEntry)?;
        let new_user_key = match &self.last_key {
            Some(last) => {
                assert!(
                    self.options.order.cmp_internal(last, &entry.key) == Ordering::Less,
                    "table entries out of order"
                );
                last.user_key != entry.key.user_key
            }
            None => true,
        };
        assert!(
            !self.options.ingested || (new_user_key && entry.key.seqno == 0),
            "an ingested table holds one version of each key, at seqno 0"
        );
        if new_user_key && self.data_block.estimated_len() >= self.options.block_size {
            let flushed = self.flush_data_block();
            self.fail_on_error(flushed)?;
        }
        if new_user_key {
            let cut = self.maybe_cut_filter_partition();
            self.fail_on_error(cut)?;
            self.note_user_key(&entry.key.user_key);
        }
        self.data_block.add_entry(entry);
        let seqno = entry.key.seqno;
        self.open_block_seqnos =
            Some(self.open_block_seqnos.map_or((seqno, seqno), |(min, max)| {
                (min.min(seqno), max.max(seqno))
            }));
        self.count(entry);
        self.last_key = Some(entry.key.clone());
        Ok(())
    }

    /// Adds a range tombstone (in any order relative to entries and other tombstones).
    /// The table's key range grows to cover it: from its start to its end (the end is
    /// past the deleted keys, so the range over-covers by that one key).
    ///
    /// # Errors
    /// [`Error::InvalidEntry`] for a bound above the key length limit (the writer stays
    /// usable); [`Error::WriterFailed`] after an earlier failure.
    ///
    /// # Panics
    /// In an ingested table (see [`crate::TableOptions::ingested`]).
    pub fn add_range_tombstone(&mut self, tombstone: &RangeTombstone) -> Result<()> {
        assert!(
            !self.options.ingested,
            "an ingested table holds no range tombstones"
        );
        self.check_not_failed()?;
        limits::check_user_key(&tombstone.end).map_err(Error::InvalidEntry)?;
        if !tombstone.start.is_empty() {
            limits::check_user_key(&tombstone.start).map_err(Error::InvalidEntry)?;
        }
        let (properties, order) = (&mut self.properties, &self.options.order);
        let first = properties.user_key_count == 0 && self.range_tombstones.is_empty();
        if first || order.lt(&tombstone.start, &properties.key_min) {
            properties.key_min = tombstone.start.clone();
        }
        if first || order.lt(&properties.key_max, &tombstone.end) {
            properties.key_max = tombstone.end.clone();
        }
        properties.seqno_min = properties.seqno_min.min(tombstone.seqno);
        properties.seqno_max = properties.seqno_max.max(tombstone.seqno);
        properties.range_tombstone_count += 1;
        self.range_tombstones.push(tombstone.clone());
        Ok(())
    }

    fn check_not_failed(&self) -> Result<()> {
        if self.failed {
            return Err(Error::WriterFailed {
                file_id: self.file_id,
            });
        }
        Ok(())
    }

    /// Passes `result` on, remembering an error: the file may hold part of a block.
    fn fail_on_error<T>(&mut self, result: Result<T>) -> Result<T> {
        self.failed |= result.is_err();
        result
    }

    fn note_user_key(&mut self, user_key: &UserKey) {
        self.properties.user_key_count += 1;
        let first = self.properties.user_key_count == 1 && self.range_tombstones.is_empty();
        let order = &self.options.order;
        if first || order.lt(user_key, &self.properties.key_min) {
            self.properties.key_min = user_key.clone();
        }
        if first || order.lt(&self.properties.key_max, user_key) {
            self.properties.key_max = user_key.clone();
        }
        let wants_hash = self.options.filter.is_some() || self.locator.is_some();
        let hash = if wants_hash {
            lsm_burr::hash(user_key)
        } else {
            0
        };
        if let Some(locator) = &mut self.locator {
            // Blocks are cut only between user keys: every version of this key lands in
            // the open block, whose number is the count of blocks finished before it.
            locator.note(hash, self.block_seqnos.len(), self.data_block.entry_count());
        }
        if self.options.filter.is_some() {
            self.filter_hashes.push(hash);
            if let Some(extractor) = &self.options.prefix_extractor {
                self.filter_hashes
                    .extend(extractor.prefixes(user_key).map(prefix_hash));
            }
        }
    }

    fn count(&mut self, entry: &InternalEntry) {
        let properties = &mut self.properties;
        properties.entry_count += 1;
        properties.seqno_min = properties.seqno_min.min(entry.key.seqno);
        properties.seqno_max = properties.seqno_max.max(entry.key.seqno);
        properties.key_bytes += entry.key.user_key.len() as u64;
        properties.value_bytes += entry.value.len() as u64;
        match entry.key.value_type {
            ValueType::Tombstone => properties.tombstone_count += 1,
            ValueType::WeakTombstone => properties.weak_tombstone_count += 1,
            ValueType::MergeOperand => properties.merge_operand_count += 1,
            ValueType::Indirection => properties.indirection_count += 1,
            ValueType::Value => {}
        }
    }

    /// Entries added so far.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.properties.entry_count
    }

    /// Bytes written or buffered so far, blocks waiting for dictionary training counted
    /// uncompressed (the finished file will be a little larger).
    #[must_use]
    pub fn written_bytes(&self) -> u64 {
        self.offset
            + (self.pending_bytes + self.batch_bytes) as u64
            + self.data_block.estimated_len() as u64
    }

    fn flush_data_block(&mut self) -> Result<()> {
        if self.data_block.is_empty() {
            return Ok(());
        }
        let last_key = self
            .last_key
            .clone()
            .expect("a non-empty block has a last key");
        let payload = self.data_block.finish();
        self.properties.data_bytes_raw += payload.len() as u64;
        // Blocks (also those waiting for a dictionary) are written in this order.
        self.block_seqnos
            .push(self.open_block_seqnos.take().unwrap_or_default());
        if let Some(training) = self.options.dictionary_training {
            // Blocks wait, uncompressed, until enough of them can train the dictionary.
            self.pending_bytes += payload.len();
            self.pending_blocks.push((last_key, payload));
            if self.pending_bytes >= training.sample_bytes {
                self.train_and_write_pending()?;
            }
            return Ok(());
        }
        if let Some(pool) = &self.options.compression_pool
            && !matches!(self.options.compression, Compression::None)
        {
            let batch_len = pool.current_num_threads().max(1) * BLOCKS_PER_POOL_THREAD;
            self.batch_bytes += payload.len();
            self.batch.push((last_key, payload));
            if self.batch.len() >= batch_len {
                self.send_batch()?;
            }
            return Ok(());
        }
        self.write_data_block(last_key, &payload)
    }

    /// Sends the batched data blocks to the compression pool, after writing the batch
    /// the pool was compressing: one batch compresses while the writer fills the next.
    fn send_batch(&mut self) -> Result<()> {
        self.write_in_flight()?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let Some(pool) = self.options.compression_pool.clone() else {
            // Blocks are batched only for a pool: nothing to send without one.
            self.batch_bytes = 0;
            for (last_key, payload) in batch {
                self.write_data_block(last_key, &payload)?;
            }
            return Ok(());
        };
        let compression = self.options.compression.clone();
        if rayon::current_thread_index().is_some() {
            // On a pool's thread (a sub-compaction, say), waiting for a task of the pool
            // could wait for ever: compress here, the pool helping through its own
            // scheduling.
            self.batch_bytes = 0;
            let compressed = pool.install(|| compress_batch(batch, &compression));
            return self.write_compressed(compressed);
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        pool.spawn(move || {
            // The writer may have failed and gone meanwhile.
            let _ = sender.send(compress_batch(batch, &compression));
        });
        // The batch's bytes stay counted (`batch_bytes`) until it is written.
        self.in_flight = Some((receiver, self.batch_bytes));
        Ok(())
    }

    /// Waits for the batch on the compression pool, then seals and appends its blocks
    /// in order.
    fn write_in_flight(&mut self) -> Result<()> {
        let Some((receiver, bytes)) = self.in_flight.take() else {
            return Ok(());
        };
        self.batch_bytes -= bytes;
        let compressed = receiver.recv().map_err(|_| Error::Build {
            file_id: self.file_id,
            source: BuildError::CompressionPool,
        })?;
        self.write_compressed(compressed)
    }

    /// Seals and appends blocks compressed on the pool, in order.
    fn write_compressed(&mut self, compressed: CompressedBatch) -> Result<()> {
        for (last_key, payload, compressed) in compressed {
            let compressed = compressed.map_err(|source| Error::Build {
                file_id: self.file_id,
                source: BuildError::Block(source),
            })?;
            let handle = self.append_block(|buffer, cipher, context| {
                envelope::encode_compressed_into(
                    &payload,
                    &compressed,
                    BlockType::Data,
                    cipher,
                    context,
                    buffer,
                )
            })?;
            self.note_data_block(last_key, handle);
        }
        Ok(())
    }

    fn write_data_block(&mut self, last_key: InternalKey, payload: &[u8]) -> Result<()> {
        let compression = self.options.compression.clone();
        let handle = self.write_block(payload, BlockType::Data, &compression)?;
        self.note_data_block(last_key, handle);
        Ok(())
    }

    fn note_data_block(&mut self, last_key: InternalKey, handle: BlockHandle) {
        self.properties.data_block_count += 1;
        self.properties.data_bytes_stored += handle.len_bytes;
        self.index_entries.push((last_key, handle));
    }

    /// Trains a dictionary on the buffered blocks (plain zstd when training fails, for
    /// instance on too few samples), then writes them with it.
    fn train_and_write_pending(&mut self) -> Result<()> {
        let Some(training) = self.options.dictionary_training.take() else {
            return Ok(());
        };
        let samples: Vec<&[u8]> = self
            .pending_blocks
            .iter()
            .map(|(_, payload)| payload.as_slice())
            .collect();
        self.options.compression = match train_dictionary(&samples, training.dictionary_bytes) {
            Ok(dictionary) => Compression::zstd_dict(training.level, &dictionary),
            Err(_) => Compression::zstd(training.level),
        };
        self.properties.data_compression = self.options.compression.to_string();
        self.properties.dictionary_id = self
            .options
            .compression
            .dictionary()
            .map(ZstdDictionary::id);
        for (last_key, payload) in std::mem::take(&mut self.pending_blocks) {
            self.write_data_block(last_key, &payload)?;
        }
        self.pending_bytes = 0;
        Ok(())
    }

    fn write_block(
        &mut self,
        payload: &[u8],
        block_type: BlockType,
        compression: &Compression,
    ) -> Result<BlockHandle> {
        self.append_block(|buffer, cipher, context| {
            let options = EncodeOptions {
                compression,
                cipher,
            };
            envelope::encode_into(payload, block_type, options, context, buffer)
        })
    }

    /// Appends the block `encode` writes into the buffer at the next offset (given the
    /// file's cipher and the block's context), and returns its handle.
    fn append_block(
        &mut self,
        encode: impl FnOnce(
            &mut Vec<u8>,
            Option<&FileCipher>,
            BlockContext,
        ) -> std::result::Result<(), lsm_codec::Error>,
    ) -> Result<BlockHandle> {
        let context = BlockContext {
            file_id: self.file_id,
            block_offset: self.offset,
        };
        let before = self.buffer.len();
        encode(&mut self.buffer, self.cipher.as_ref(), context).map_err(|source| Error::Build {
            file_id: self.file_id,
            source: BuildError::Block(source),
        })?;
        let len_bytes = (self.buffer.len() - before) as u64;
        let handle = BlockHandle {
            offset: self.offset,
            len_bytes,
        };
        self.offset += len_bytes;
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.flush_buffer()?;
        }
        Ok(handle)
    }

    fn flush_buffer(&mut self) -> Result<()> {
        self.file
            .append(&self.buffer)
            .map_err(|source| Error::io("append", &self.path, source))?;
        self.file_digest.update(&self.buffer);
        self.buffer.clear();
        Ok(())
    }

    /// Writes the index, filter, dictionary, properties and footer, and syncs the file.
    ///
    /// # Errors
    /// [`Error::EmptyTable`] when no entry was added; [`Error::WriterFailed`] after an
    /// earlier failure; [`Error::Io`] and [`Error::Build`] when writing fails (the file is
    /// then incomplete and must be deleted).
    pub fn finish(self) -> Result<TableProperties> {
        self.finish_with_digest().map(|(properties, _)| properties)
    }

    /// [`Self::finish`], also returning the XXH3-64 of the whole file (what a manifest
    /// records so that a verification can check the file end to end).
    ///
    /// # Errors
    /// As [`Self::finish`].
    pub fn finish_with_digest(mut self) -> Result<(TableProperties, u64)> {
        self.check_not_failed()?;
        if self.properties.entry_count == 0 && self.range_tombstones.is_empty() {
            return Err(Error::EmptyTable {
                file_id: self.file_id,
            });
        }
        self.flush_data_block()?;
        self.train_and_write_pending()?;
        self.send_batch()?;
        self.write_in_flight()?;
        if self.properties.entry_count > 0 {
            self.write_index()?;
            self.write_filter()?;
            self.write_locator()?;
            if self.options.seqno_bounds {
                let payload = crate::seqno_bounds::encode(&self.block_seqnos);
                let handle = self.write_block(&payload, BlockType::Meta, &Compression::None)?;
                self.properties.seqno_bounds_handle = Some(handle);
            }
        }
        if !self.range_tombstones.is_empty() {
            let payload =
                crate::range_tombstones::encode(&self.options.order, &self.range_tombstones);
            let compression = self.options.index_compression.clone();
            let handle = self.write_block(&payload, BlockType::RangeTombstone, &compression)?;
            self.properties.range_tombstone_handle = Some(handle);
        }
        if let Some(dictionary) = self.options.compression.dictionary().cloned() {
            let handle =
                self.write_block(dictionary.raw(), BlockType::Dictionary, &Compression::None)?;
            self.properties.dictionary_handle = Some(handle);
        }
        let encoded = self.properties.encode();
        let properties_handle =
            self.write_block(&encoded, BlockType::Properties, &Compression::None)?;
        self.write_footer(properties_handle);
        self.flush_buffer()?;
        self.file
            .sync_all()
            .map_err(|source| Error::io("sync", &self.path, source))?;
        let digest = self.file_digest.finish().into_raw();
        Ok((self.properties, digest))
    }

    fn write_index(&mut self) -> Result<()> {
        let entries = std::mem::take(&mut self.index_entries);
        let entry_bytes: usize = entries.iter().map(|(key, _)| key.user_key.len() + 16).sum();
        let compression = self.options.index_compression.clone();
        let restart_interval = self.options.index_restart_interval;
        let top_entries = if entry_bytes > self.options.index_partition_threshold {
            self.properties.index_partitioned = true;
            let mut partitions = Vec::new();
            let mut builder =
                IndexBlockBuilder::new(restart_interval).with_order(&self.options.order);
            let mut partition_start = 0;
            for (position, (key, handle)) in entries.iter().enumerate() {
                builder.add(&key.user_key, key.seqno, *handle);
                let is_last = position + 1 == entries.len();
                if builder.estimated_len() >= self.options.index_partition_size || is_last {
                    let handle =
                        self.write_block(&builder.finish(), BlockType::Index, &compression)?;
                    self.note_index_block(handle);
                    partitions.push((key.clone(), handle));
                    self.partition_starts
                        .push(u32::try_from(partition_start).unwrap_or(u32::MAX));
                    partition_start = position + 1;
                }
            }
            partitions
        } else {
            entries
        };
        let mut builder = IndexBlockBuilder::new(restart_interval).with_order(&self.options.order);
        for (key, handle) in &top_entries {
            builder.add(&key.user_key, key.seqno, *handle);
        }
        let handle = self.write_block(&builder.finish(), BlockType::Index, &compression)?;
        self.note_index_block(handle);
        self.properties.index_handle = handle;
        Ok(())
    }

    /// Writes the block locator, unless the table gets none (see `locator.rs`).
    fn write_locator(&mut self) -> Result<()> {
        let Some(locator) = self.locator.take() else {
            return Ok(());
        };
        let shape = IndexShape {
            index_restart_interval: self.options.index_restart_interval,
            partition_starts: &self.partition_starts,
        };
        // The filter is written: its hashes go to a locator that shares them (which frees
        // them early), or are dropped.
        let hashes = std::mem::take(&mut self.filter_hashes);
        let Some(payload) = locator.finish(self.properties.data_block_count, shape, hashes) else {
            return Ok(());
        };
        let handle = self.write_block(&payload, BlockType::Meta, &Compression::None)?;
        self.properties.locator_handle = Some(handle);
        Ok(())
    }

    fn note_index_block(&mut self, handle: BlockHandle) {
        self.properties.index_block_count += 1;
        self.properties.index_bytes_stored += handle.len_bytes;
    }

    /// Before a new user key: closes the filter partition when it holds enough hashes.
    fn maybe_cut_filter_partition(&mut self) -> Result<()> {
        let Some(target) = self.options.filter_partition_keys else {
            return Ok(());
        };
        if self.filter_hashes.len() < target.max(1) {
            return Ok(());
        }
        match self.last_key.as_ref().map(|key| key.user_key.clone()) {
            Some(last_user_key) => self.cut_filter_partition(last_user_key),
            None => Ok(()),
        }
    }

    /// Writes the hashes gathered so far as one filter partition ending at `last_user_key`.
    fn cut_filter_partition(&mut self, last_user_key: UserKey) -> Result<()> {
        let handle = self.write_filter_block()?;
        self.filter_partitions.push((last_user_key, handle));
        self.filter_hashes.clear();
        Ok(())
    }

    fn write_filter_block(&mut self) -> Result<BlockHandle> {
        let policy = self
            .options
            .filter
            .expect("filters are written only with a policy");
        let filter =
            BurrFilter::build(&self.filter_hashes, &policy).map_err(|source| Error::Build {
                file_id: self.file_id,
                source: BuildError::Filter(source),
            })?;
        let handle = self.write_block(filter.as_bytes(), BlockType::Filter, &Compression::None)?;
        self.properties.filter_bytes_stored += handle.len_bytes;
        Ok(handle)
    }

    fn write_filter(&mut self) -> Result<()> {
        let Some(policy) = self.options.filter else {
            return Ok(());
        };
        if self.options.filter_partition_keys.is_some() {
            if !self.filter_hashes.is_empty() {
                let last_user_key = self.properties.key_max.clone();
                self.cut_filter_partition(last_user_key)?;
            }
            let mut builder = IndexBlockBuilder::new(self.options.index_restart_interval)
                .with_order(&self.options.order);
            for (last_user_key, handle) in &self.filter_partitions {
                builder.add(last_user_key, 0, *handle);
            }
            let handle =
                self.write_block(&builder.finish(), BlockType::Index, &Compression::None)?;
            self.properties.filter_bytes_stored += handle.len_bytes;
            self.properties.filter_handle = Some(handle);
            self.properties.filter_partitioned = true;
        } else {
            let handle = self.write_filter_block()?;
            self.properties.filter_handle = Some(handle);
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "at most 32000"
        )]
        let bits_milli = (policy.design_bits_per_key() * 1000.0).round() as u64;
        self.properties.filter_bits_milli = bits_milli;
        Ok(())
    }

    fn write_footer(&mut self, properties_handle: BlockHandle) {
        let mut footer = Vec::with_capacity(crate::layout::FOOTER_LEN);
        footer.extend_from_slice(&FOOTER_MAGIC);
        let flags = if self.cipher.is_some() {
            FOOTER_FLAG_ENCRYPTED
        } else {
            0
        };
        // A table in a custom order is version 2, so that a reader that predates orders
        // refuses it rather than read it lexicographically.
        let version = if self.options.order.is_lexicographic() {
            TABLE_FORMAT_VERSION_LEXICOGRAPHIC
        } else {
            TABLE_FORMAT_VERSION
        };
        footer.extend_from_slice(&[version, flags, 0, 0]);
        put_u32(
            &mut footer,
            self.cipher.as_ref().map_or(0, FileCipher::key_check),
        );
        let salt = self
            .options
            .encryption
            .as_ref()
            .map_or([0; lsm_codec::FILE_SALT_LEN], |(_, salt)| *salt);
        footer.extend_from_slice(&salt);
        put_u64(&mut footer, properties_handle.offset);
        put_u64(&mut footer, properties_handle.len_bytes);
        put_u64(&mut footer, self.file_id);
        let checksum = xxh3_64(&footer);
        put_u64(&mut footer, checksum);
        debug_assert_eq!(footer.len(), crate::layout::FOOTER_LEN);
        self.buffer.extend_from_slice(&footer);
        self.offset += footer.len() as u64;
    }
}

/// Compresses `batch` on the current rayon pool, keeping each block's order.
fn compress_batch(
    batch: Vec<(InternalKey, Vec<u8>)>,
    compression: &Compression,
) -> CompressedBatch {
    use rayon::prelude::*;
    batch
        .into_par_iter()
        .map(|(last_key, payload)| {
            let compressed = envelope::compress(&payload, compression);
            (last_key, payload, compressed)
        })
        .collect()
}

/// `ids` ascending, without repeats.
fn sorted_ids(ids: &[lsm_core::TableId]) -> Vec<lsm_core::TableId> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}
