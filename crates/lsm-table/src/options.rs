//! How a table is written ([`TableOptions`]) and read ([`ReadOptions`]), and the
//! [`PrefixExtractor`] that lets filters answer prefix scans.

use std::fmt::Debug;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

use lsm_burr::FilterPolicy;
pub use lsm_codec::DictionaryTraining;
use lsm_codec::{Compression, EncryptionKey, FILE_SALT_LEN};
use lsm_core::{KeyOrder, SeqNo, TableId};

use crate::{BlockCache, DescriptorCache};

/// Extracts the prefixes of a key that the filter should also hold, so that a scan over
/// one prefix can skip tables that hold no key with it.
///
/// A key may have several prefixes (or none). The extractor's [`Self::name`] is stored
/// in every table built with it; a table built under another name has its prefix entries
/// ignored (read as "maybe"), never taken as "absent". So a name must change whenever
/// what the extractor emits changes.
pub trait PrefixExtractor: Send + Sync + UnwindSafe + RefUnwindSafe {
    /// The prefixes of `key` (none when the key has no prefix of interest).
    fn prefixes<'a>(&self, key: &'a [u8]) -> Box<dyn Iterator<Item = &'a [u8]> + 'a>;

    /// Whether a scan over `prefix` may consult the filter: `prefix` must be one the
    /// extractor produces for every key that starts with it. The default: a non-empty
    /// prefix that is among its own prefixes.
    fn is_valid_scan_boundary(&self, prefix: &[u8]) -> bool {
        !prefix.is_empty() && self.prefixes(prefix).any(|emitted| emitted == prefix)
    }

    /// A stable name, recorded in each table (the default: the type's name).
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

impl Debug for dyn PrefixExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrefixExtractor({})", self.name())
    }
}

/// The first `len` bytes of every key at least that long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedPrefix {
    len: usize,
    name: String,
}

impl FixedPrefix {
    /// An extractor of `len`-byte prefixes (named `fixed:<len>`, so that tables built
    /// with another length never answer for this one).
    ///
    /// # Panics
    /// When `len` is 0.
    #[must_use]
    pub fn new(len: usize) -> Self {
        assert!(len > 0, "a prefix has at least one byte");
        Self {
            len,
            name: format!("fixed:{len}"),
        }
    }
}

impl PrefixExtractor for FixedPrefix {
    fn name(&self) -> &str {
        &self.name
    }

    fn prefixes<'a>(&self, key: &'a [u8]) -> Box<dyn Iterator<Item = &'a [u8]> + 'a> {
        Box::new(key.get(..self.len).into_iter())
    }

    fn is_valid_scan_boundary(&self, prefix: &[u8]) -> bool {
        prefix.len() == self.len
    }
}

/// How a [`crate::TableWriter`] builds a table.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Target uncompressed size of a data block.
    pub block_size: usize,
    /// A restart point every this many entries in data blocks.
    pub restart_interval: usize,
    /// A restart point every this many entries in index blocks.
    pub index_restart_interval: usize,
    /// In-block hash index buckets per distinct key (0 = off).
    pub hash_index_ratio: f64,
    /// Compression of data blocks. With a dictionary, the dictionary is stored in the
    /// table so that it opens alone.
    pub compression: Compression,
    /// Compression of index blocks (never with a dictionary).
    pub index_compression: Compression,
    /// The key filter, or none.
    pub filter: Option<FilterPolicy>,
    /// Also put key prefixes into the filter.
    pub prefix_extractor: Option<Arc<dyn PrefixExtractor>>,
    /// Split the filter into partitions of about this many hashes under a filter index
    /// (a lookup then reads one small partition instead of the whole filter); `None`
    /// keeps one full filter.
    pub filter_partition_keys: Option<usize>,
    /// Above this many bytes of index entries, the index is split into partitions under
    /// a top-level index.
    pub index_partition_threshold: usize,
    /// Target size of an index partition.
    pub index_partition_size: usize,
    /// Train a zstd dictionary on this table's own first data blocks (the dictionary is
    /// stored in the table). Overrides `compression` for data blocks.
    pub dictionary_training: Option<DictionaryTraining>,
    /// Encrypt every block: the master key and this file's random salt (drawn by the
    /// caller, fresh for every file).
    pub encryption: Option<(EncryptionKey, [u8; FILE_SALT_LEN])>,
    /// Creation time recorded in the properties, from the caller's clock.
    pub created_at_ms: u64,
    /// The order of the keys (entries must be added in it); a table of another order
    /// than the lexicographic one records its name.
    pub order: KeyOrder,
    /// The tables a merge writing this one replaces (its inputs): once the merge is
    /// installed they are obsolete. Recorded so that a manifest rebuilt from the files
    /// on disk can tell which tables are still live.
    pub replaces: Arc<[TableId]>,
    /// Tables already removed from the tree whose files were not deleted yet when this
    /// one was written (recorded for the same reason).
    pub obsolete: Arc<[TableId]>,
    /// Write each data block's smallest and largest seqno (a small block after the
    /// filter), so that a scan for changes since a seqno skips older blocks unread.
    pub seqno_bounds: bool,
    /// A table written by a bulk ingestion: every entry is at seqno 0, one per user
    /// key, with no range tombstones (checked as entries are added), and the table reads
    /// at the seqno the caller later records for it ([`ReadOptions::global_seqno`]).
    pub ingested: bool,
    /// Write a block locator ([`crate::LocatorOptions`]) so that point reads skip the
    /// index search; `None`: none.
    pub locator: Option<crate::LocatorOptions>,
    /// Compress data blocks on this pool, a batch of blocks at a time, while the
    /// writer's thread seals and appends them in order: the file's bytes are those of a
    /// writer without it. Worth it for one large job on a machine with idle cores;
    /// `None` (the default) compresses each block on the writer's thread.
    pub compression_pool: Option<Arc<rayon::ThreadPool>>,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            block_size: 4096,
            restart_interval: 16,
            index_restart_interval: 1,
            hash_index_ratio: 0.0,
            compression: Compression::None,
            index_compression: Compression::None,
            filter: Some(FilterPolicy::fpr(0.01).expect("1% is a valid rate")),
            prefix_extractor: None,
            filter_partition_keys: None,
            dictionary_training: None,
            index_partition_threshold: 4 << 20,
            index_partition_size: 4096,
            encryption: None,
            created_at_ms: 0,
            order: KeyOrder::lexicographic(),
            replaces: Arc::new([]),
            obsolete: Arc::new([]),
            seqno_bounds: true,
            ingested: false,
            locator: Some(crate::LocatorOptions::block_level()),
            compression_pool: None,
        }
    }
}

/// What opening a table needs besides its bytes.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The master key, for encrypted tables.
    pub encryption_key: Option<EncryptionKey>,
    /// The extractor whose prefixes the filter may hold (matched by name).
    pub prefix_extractor: Option<Arc<dyn PrefixExtractor>>,
    /// A cache of decoded blocks, shareable across tables and trees.
    pub block_cache: Option<Arc<BlockCache>>,
    /// A bound on open files: the table reopens its file through it when needed.
    pub descriptor_cache: Option<Arc<DescriptorCache>>,
    /// Keep the top-level index in memory (pinned) instead of reading it through the
    /// block cache on each use.
    pub pin_index: bool,
    /// Keep the filter (or a partitioned filter's index) in memory (pinned) instead of
    /// reading it through the block cache on each use.
    pub pin_filter: bool,
    /// A bound on the bytes tables opened with these options pin (see
    /// [`crate::PinBudget`]); `None`: no bound.
    pub pin_budget: Option<Arc<crate::PinBudget>>,
    /// The order the table's keys are in: a table that records another order's name
    /// (or none, for a custom order) is refused.
    pub order: KeyOrder,
    /// The seqno every entry of an ingested table reads at (its stored seqnos are all
    /// 0); `None` for every other table, and to read an ingested one as stored. A table
    /// not written by an ingestion is refused with one.
    pub global_seqno: Option<SeqNo>,
    /// Where the table counts its block loads and filter answers (shared by a tree's
    /// tables); `None`: not counted.
    pub counters: Option<Arc<lsm_core::ReadCounters>>,
    /// A cache of point-read answers, shareable across tables (see
    /// [`crate::RowCache`]); `None`: every read goes to the blocks.
    pub row_cache: Option<Arc<crate::RowCache>>,
    /// Use the table's block locator, when it has one and the index is pinned: the
    /// locator is pinned with it, within the budget, after the filter. `false` reads
    /// every key through the index.
    pub use_locator: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            encryption_key: None,
            prefix_extractor: None,
            block_cache: None,
            descriptor_cache: None,
            pin_index: true,
            pin_filter: true,
            pin_budget: None,
            order: KeyOrder::lexicographic(),
            global_seqno: None,
            counters: None,
            row_cache: None,
            use_locator: true,
        }
    }
}
