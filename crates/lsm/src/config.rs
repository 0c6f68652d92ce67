//! [`Config`]: where a tree lives and how it writes and reads its tables.
//!
//! Built with [`Config::new`] and `#[must_use]` builder methods, then opened with
//! [`Config::open`]. Per-level settings are [`policy`] lists indexed by level.

pub mod policy;
mod routes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm_codec::ZstdDictionary;
use lsm_core::{
    Fs, KeyOrder, SequenceNumberCounter, SharedSequenceNumberGenerator, StdFs, SyncMode,
};
pub use lsm_table::{DictionaryTraining, FixedPrefix, PrefixExtractor};
use lsm_table::{ReadOptions, TableOptions};

pub use policy::{
    BlockSizePolicy, BloomConstructionPolicy, CompressionPolicy, CompressionType, FilterPolicy,
    FilterPolicyEntry, HashRatioPolicy, LocatorPolicy, LocatorPolicyEntry, LocatorPrecision,
    PartitioningPolicy, PinningPolicy, RestartIntervalPolicy,
};
pub use routes::LevelRoute;

use crate::{Cache, DescriptorTable, Result};

/// Levels of a tree.
pub const LEVEL_COUNT: u8 = 7;

/// Default block cache size per tree (when none is shared).
pub const DEFAULT_CACHE_BYTES: u64 = 16 << 20;

/// Default open-file bound per tree (when none is shared).
pub const DEFAULT_OPEN_FILES: usize = 256;

/// Default manifest size past which it rolls over to a fresh snapshot.
pub const DEFAULT_MANIFEST_ROTATE_BYTES: u64 = 1 << 20;

/// Default input size from which a merge is split into parallel slices.
pub const DEFAULT_SUBCOMPACTION_MIN_BYTES: u64 = 8 << 20;

/// Target size of the tables a flush writes.
pub const FLUSH_TABLE_TARGET_BYTES: u64 = 64 << 20;

/// The process-wide default file system: one shared instance, so that trees opened with
/// the default share a [`DescriptorTable`]'s bound.
fn default_fs() -> Arc<dyn Fs> {
    static STD_FS: std::sync::OnceLock<Arc<dyn Fs>> = std::sync::OnceLock::new();
    Arc::clone(STD_FS.get_or_init(|| Arc::new(StdFs)))
}

/// What a tree's owner does around each flush (see `Config::flush_hooks`).
pub(crate) trait FlushHooks: Send + Sync {
    /// Before a flush of memtables up to `highest_seqno` writes its tables; an error
    /// fails the flush (the memtables stay).
    fn before_flush(&self, highest_seqno: lsm_core::SeqNo) -> Result<()>;

    /// After a flush is installed.
    fn after_flush(&self);
}

/// A tree's configuration; see the module docs.
#[derive(Clone)]
pub struct Config {
    /// The tree's directory (absolute).
    #[doc(hidden)]
    pub path: PathBuf,
    /// The file system every file of the tree goes through.
    #[doc(hidden)]
    pub fs: Arc<dyn Fs>,
    /// Levels (fixed at 7).
    pub level_count: u8,
    /// Data block size per level.
    pub data_block_size_policy: BlockSizePolicy,
    /// Data block compression per level.
    pub data_block_compression_policy: CompressionPolicy,
    /// Index block compression per level.
    pub index_block_compression_policy: CompressionPolicy,
    /// Data block restart interval per level.
    pub data_block_restart_interval_policy: RestartIntervalPolicy,
    /// Index block restart interval per level.
    pub index_block_restart_interval_policy: RestartIntervalPolicy,
    /// In-block hash index ratio per level.
    pub data_block_hash_ratio_policy: HashRatioPolicy,
    /// Key filter per level.
    pub filter_policy: FilterPolicy,
    /// Block locator per level (default: block precision at every level).
    pub locator_policy: LocatorPolicy,
    /// Whether large indexes are partitioned, per level.
    pub index_block_partitioning_policy: PartitioningPolicy,
    /// Whether filters are partitioned, per level.
    pub filter_block_partitioning_policy: PartitioningPolicy,
    /// Target size of index partitions, per level.
    pub index_block_partition_size_policy: BlockSizePolicy,
    /// Target size of filter partitions, per level.
    pub filter_block_partition_size_policy: BlockSizePolicy,
    /// Whether index blocks (a partitioned index's top level) stay in memory while a
    /// table is open, per level (default: every level, within
    /// [`Self::pin_budget`]).
    pub index_block_pinning_policy: PinningPolicy,
    /// Whether filters (a partitioned filter's index) stay in memory while a table is
    /// open, per level (default: every level, within [`Self::pin_budget`]).
    pub filter_block_pinning_policy: PinningPolicy,
    /// A bound on the bytes the tree's tables pin (shareable across trees); `None`, the
    /// default: no bound, about 2.1 bytes per key with 10 filter bits per key and
    /// 100-byte values in 4 KiB blocks (the filter, and an index entry per block).
    /// Tables that find it full read their index and filter through the block cache.
    pub pin_budget: Option<Arc<lsm_table::PinBudget>>,
    /// The block cache.
    #[doc(hidden)]
    pub cache: Arc<Cache>,
    /// The open-file cache.
    #[doc(hidden)]
    pub descriptor_table: Option<Arc<DescriptorTable>>,
    /// Folds merge operands (see [`crate::MergeOperator`]).
    pub merge_operator: Option<Arc<dyn crate::MergeOperator>>,
    /// Makes a filter for each compaction merge.
    pub compaction_filter_factory: Option<Arc<dyn crate::compaction::filter::Factory>>,
    /// Extracts the key prefixes the filters also hold (see [`Self::prefix_extractor`]).
    pub prefix_extractor: Option<Arc<dyn PrefixExtractor>>,
    /// Key-value separation (a blob tree when set).
    #[doc(hidden)]
    pub kv_separation_opts: Option<crate::KvSeparationOptions>,
    pub(crate) background: Option<crate::background::MaintenanceOptions>,
    pub(crate) compaction_rate_limit: u64,
    pub(crate) runtime_config: crate::RuntimeConfig,
    pub(crate) compaction_threads: usize,
    pub(crate) compaction_pool: Option<Arc<rayon::ThreadPool>>,
    pub(crate) subcompaction_min_bytes: u64,
    pub(crate) seqno: SharedSequenceNumberGenerator,
    pub(crate) visible_seqno: SharedSequenceNumberGenerator,
    pub(crate) directory_lock: bool,
    pub(crate) manifest_rotate_bytes: u64,
    pub(crate) zstd_dictionary: Option<Arc<ZstdDictionary>>,
    pub(crate) expect_point_read_hits: bool,
    pub(crate) sync_mode: SyncMode,
    pub(crate) encryption: Option<Arc<dyn crate::EncryptionProvider>>,
    pub(crate) dictionary_training: Option<DictionaryTraining>,
    pub(crate) order: KeyOrder,
    pub(crate) manifest_recovery_mode: ManifestRecoveryMode,
    /// Called around each flush: a database syncs its log before (so that no keyspace
    /// persists a write the log may lose, and a batch across keyspaces stays whole after
    /// a crash) and trims it after.
    pub(crate) flush_hooks: Option<Arc<dyn FlushHooks>>,
    /// Where the tables of the deeper levels live (see [`LevelRoute`]).
    pub(crate) level_routes: Vec<LevelRoute>,
}

/// How opening a tree treats a damaged manifest (see [`Config::manifest_recovery_mode`]).
pub use lsm_version::RecoveryMode as ManifestRecoveryMode;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("level_count", &self.level_count)
            .field("data_block_size_policy", &self.data_block_size_policy)
            .field("filter_policy", &self.filter_policy)
            .field("locator_policy", &self.locator_policy)
            .field("comparator", &self.order.name())
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new(
            ".lsm.data",
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
    }
}

impl Config {
    /// A configuration for the tree at `path`, drawing write seqnos from `seqno` and
    /// publishing visible ones to `visible_seqno` (recovery raises both past every
    /// persisted seqno).
    #[must_use]
    pub fn new<P: AsRef<Path>>(
        path: P,
        seqno: SequenceNumberCounter,
        visible_seqno: SequenceNumberCounter,
    ) -> Self {
        Self::new_with_generators(path, seqno.into(), visible_seqno.into())
    }

    /// [`Self::new`] with generators of the caller's (shared by several trees, or a
    /// clock of its own; see [`crate::SequenceNumberGenerator`]).
    #[must_use]
    pub fn new_with_generators<P: AsRef<Path>>(
        path: P,
        seqno: SharedSequenceNumberGenerator,
        visible_seqno: SharedSequenceNumberGenerator,
    ) -> Self {
        let path = path.as_ref();
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Self {
            path,
            fs: default_fs(),
            level_count: LEVEL_COUNT,
            data_block_size_policy: BlockSizePolicy::all(4096),
            data_block_compression_policy: CompressionPolicy::disabled(),
            index_block_compression_policy: CompressionPolicy::disabled(),
            data_block_restart_interval_policy: RestartIntervalPolicy::all(16),
            index_block_restart_interval_policy: RestartIntervalPolicy::all(1),
            data_block_hash_ratio_policy: HashRatioPolicy::all(0.0),
            filter_policy: FilterPolicy::default(),
            locator_policy: LocatorPolicy::default(),
            index_block_partitioning_policy: PartitioningPolicy::all(true),
            // Full filters at every level, pinned: a miss in the last level is answered
            // by one filter held in memory, not by a partition read through the cache
            // (3x `readmissing` on a compacted tree). Partitioning is for trees whose
            // filters should not all stay in memory; see `pin_budget`.
            filter_block_partitioning_policy: PartitioningPolicy::all(false),
            index_block_partition_size_policy: BlockSizePolicy::all(4096),
            filter_block_partition_size_policy: BlockSizePolicy::all(4096),
            index_block_pinning_policy: PinningPolicy::all(true),
            filter_block_pinning_policy: PinningPolicy::all(true),
            pin_budget: None,
            cache: Arc::new(Cache::with_capacity_bytes(DEFAULT_CACHE_BYTES)),
            descriptor_table: None,
            compaction_filter_factory: None,
            kv_separation_opts: None,
            merge_operator: None,
            background: None,
            compaction_rate_limit: 0,
            runtime_config: crate::RuntimeConfig::default(),
            compaction_threads: std::thread::available_parallelism()
                .map_or(1, |cores| (cores.get() / 2).max(1)),
            compaction_pool: None,
            subcompaction_min_bytes: DEFAULT_SUBCOMPACTION_MIN_BYTES,
            seqno,
            visible_seqno,
            directory_lock: true,
            manifest_rotate_bytes: DEFAULT_MANIFEST_ROTATE_BYTES,
            zstd_dictionary: None,
            dictionary_training: None,
            prefix_extractor: None,
            expect_point_read_hits: false,
            sync_mode: SyncMode::Normal,
            encryption: None,
            order: KeyOrder::lexicographic(),
            manifest_recovery_mode: ManifestRecoveryMode::AbsoluteConsistency,
            flush_hooks: None,
            level_routes: Vec::new(),
        }
    }

    /// Stores values at or above a size threshold in blob files (see
    /// [`crate::KvSeparationOptions`]); `None` keeps every value in the tables.
    #[must_use]
    pub fn with_kv_separation(mut self, options: Option<crate::KvSeparationOptions>) -> Self {
        self.kv_separation_opts = options;
        self
    }

    /// Data block size per level.
    #[must_use]
    pub fn data_block_size_policy(mut self, policy: BlockSizePolicy) -> Self {
        self.data_block_size_policy = policy;
        self
    }

    /// Data block compression per level.
    #[must_use]
    pub fn data_block_compression_policy(mut self, policy: CompressionPolicy) -> Self {
        self.data_block_compression_policy = policy;
        self
    }

    /// Index block compression per level.
    #[must_use]
    pub fn index_block_compression_policy(mut self, policy: CompressionPolicy) -> Self {
        self.index_block_compression_policy = policy;
        self
    }

    /// Data block restart interval per level.
    ///
    /// # Panics
    /// When any entry is 0.
    #[must_use]
    pub fn data_block_restart_interval_policy(mut self, policy: RestartIntervalPolicy) -> Self {
        assert!(
            policy.iter().all(|&n| n > 0),
            "restart intervals are at least 1"
        );
        self.data_block_restart_interval_policy = policy;
        self
    }

    /// Index block restart interval per level.
    ///
    /// # Panics
    /// When any entry is 0.
    #[must_use]
    pub fn index_block_restart_interval_policy(mut self, policy: RestartIntervalPolicy) -> Self {
        assert!(
            policy.iter().all(|&n| n > 0),
            "restart intervals are at least 1"
        );
        self.index_block_restart_interval_policy = policy;
        self
    }

    /// In-block hash index ratio per level.
    #[must_use]
    pub fn data_block_hash_ratio_policy(mut self, policy: HashRatioPolicy) -> Self {
        self.data_block_hash_ratio_policy = policy;
        self
    }

    /// Key filter per level.
    #[must_use]
    pub fn filter_policy(mut self, policy: FilterPolicy) -> Self {
        self.filter_policy = policy;
        self
    }

    /// Block locator per level: a retrieval structure per table maps each key to its
    /// data block (or the restart or entry where its versions begin), so that a point
    /// read that passes the filter reads that block without searching the index. It
    /// costs about `log2(blocks)` bits per key more (plus the slot bits), held in
    /// memory with the pinned index; tables written before the policy changed keep
    /// what they were written with.
    #[must_use]
    pub fn locator_policy(mut self, policy: LocatorPolicy) -> Self {
        self.locator_policy = policy;
        self
    }

    /// Index partitioning per level.
    #[must_use]
    pub fn index_block_partitioning_policy(mut self, policy: PartitioningPolicy) -> Self {
        self.index_block_partitioning_policy = policy;
        self
    }

    /// Filter partitioning per level.
    #[must_use]
    pub fn filter_block_partitioning_policy(mut self, policy: PartitioningPolicy) -> Self {
        self.filter_block_partitioning_policy = policy;
        self
    }

    /// Index pinning per level.
    #[must_use]
    pub fn index_block_pinning_policy(mut self, policy: PinningPolicy) -> Self {
        self.index_block_pinning_policy = policy;
        self
    }

    /// Filter pinning per level.
    #[must_use]
    pub fn filter_block_pinning_policy(mut self, policy: PinningPolicy) -> Self {
        self.filter_block_pinning_policy = policy;
        self
    }

    /// Bounds the bytes the tree's tables pin (see [`Self::pin_budget`]); pass the same
    /// budget to several trees to bound them together.
    #[must_use]
    pub fn pin_budget(mut self, budget: Option<Arc<lsm_table::PinBudget>>) -> Self {
        self.pin_budget = budget;
        self
    }

    /// Shares a block cache (default: 16 MiB per tree).
    #[must_use]
    pub fn use_cache(mut self, cache: Arc<Cache>) -> Self {
        self.cache = cache;
        self
    }

    /// Shares an open-file cache; `None` gives the tree its own of 256 files.
    #[must_use]
    pub fn use_descriptor_table(mut self, table: Option<Arc<DescriptorTable>>) -> Self {
        self.descriptor_table = table;
        self
    }

    /// The file system every file of the tree goes through.
    #[must_use]
    pub fn with_fs<F: Fs>(self, fs: F) -> Self {
        self.with_shared_fs(Arc::new(fs))
    }

    /// As [`Self::with_fs`], sharing a file system.
    #[must_use]
    pub fn with_shared_fs(mut self, fs: Arc<dyn Fs>) -> Self {
        self.fs = fs;
        self
    }

    /// Folds merge operands with `operator` (see [`crate::MergeOperator`]).
    #[must_use]
    pub fn with_merge_operator(mut self, operator: Option<Arc<dyn crate::MergeOperator>>) -> Self {
        self.merge_operator = operator;
        self
    }

    /// Makes a filter for each compaction merge (see [`crate::compaction::filter`]).
    #[must_use]
    pub fn with_compaction_filter_factory(
        mut self,
        factory: Option<Arc<dyn crate::compaction::filter::Factory>>,
    ) -> Self {
        self.compaction_filter_factory = factory;
        self
    }

    /// Runs flushes and compactions on background threads, with write stalls (see
    /// [`crate::background`]). Off by default: the caller drives the tree.
    #[must_use]
    pub fn with_background_maintenance(
        mut self,
        options: Option<crate::background::MaintenanceOptions>,
    ) -> Self {
        self.background = options;
        self
    }

    /// Caps the bytes compaction writes per second (0: no cap, the default). Flushes are
    /// never throttled. The bytes counted are the entries' uncompressed key and value
    /// bytes.
    #[must_use]
    pub fn compaction_rate_limit(mut self, bytes_per_sec: u64) -> Self {
        self.compaction_rate_limit = bytes_per_sec;
        self
    }

    /// The settings the tree starts with that it can change while it runs (see
    /// [`crate::AbstractTree::update_runtime_config`]); a reopen starts from these
    /// again. A rate left at `None` takes [`Self::compaction_rate_limit`].
    #[must_use]
    pub fn with_runtime_config(mut self, runtime_config: crate::RuntimeConfig) -> Self {
        self.runtime_config = runtime_config;
        self
    }

    /// Threads a large merge may run its slices on (at least 1; default: half the
    /// cores). With one thread there are no sub-compactions. With several, a flush or a
    /// merge that compresses its data blocks also compresses them on these threads
    /// while its own builds the next ones (a table's bytes are the same either way).
    #[must_use]
    pub fn compaction_threads(mut self, threads: usize) -> Self {
        self.compaction_threads = threads.max(1);
        self
    }

    /// Runs sub-compactions and block compression on this pool instead of one the tree
    /// builds.
    #[must_use]
    pub fn compaction_pool(mut self, pool: Option<Arc<rayon::ThreadPool>>) -> Self {
        self.compaction_pool = pool;
        self
    }

    /// Input bytes per slice below which a merge is not split (default 8 MiB).
    #[must_use]
    pub fn subcompaction_min_bytes(mut self, bytes: u64) -> Self {
        self.subcompaction_min_bytes = bytes.max(1);
        self
    }

    /// Draws write seqnos from `generator` (instead of the counter given to
    /// [`Self::new`]).
    #[must_use]
    pub fn seqno_generator(mut self, generator: SharedSequenceNumberGenerator) -> Self {
        self.seqno = generator;
        self
    }

    /// Publishes visible seqnos to `generator`.
    #[must_use]
    pub fn visible_seqno_generator(mut self, generator: SharedSequenceNumberGenerator) -> Self {
        self.visible_seqno = generator;
        self
    }

    /// Whether opening takes an exclusive lock on the directory (default: yes). Only
    /// turn it off when something else guarantees a single opener.
    #[must_use]
    pub fn with_directory_lock(mut self, enabled: bool) -> Self {
        self.directory_lock = enabled;
        self
    }

    /// Manifest size past which it rolls over to a fresh snapshot (0: at every edit).
    #[must_use]
    pub fn manifest_log_rotate_bytes(mut self, bytes: u64) -> Self {
        self.manifest_rotate_bytes = bytes;
        self
    }

    /// The zstd dictionary that `CompressionType::ZstdDict` in the data-block policy
    /// names (checked at open: a policy naming another id is
    /// [`crate::Error::ZstdDictMismatch`]). Each table stores the dictionary it was
    /// written with, so tables keep opening after the dictionary changes.
    #[must_use]
    pub fn zstd_dictionary(mut self, dictionary: Option<Arc<ZstdDictionary>>) -> Self {
        self.zstd_dictionary = dictionary;
        self
    }

    /// Tables whose data blocks use plain zstd train a dictionary of their own on their
    /// first `sample_bytes` of data blocks (buffered uncompressed until then), store it,
    /// and compress every data block with it (the level is the policy's; the training's
    /// is ignored). A table too small to train on is written with plain zstd. `None`
    /// (the default): no training.
    #[must_use]
    pub fn zstd_dictionary_training(mut self, training: Option<DictionaryTraining>) -> Self {
        self.dictionary_training = training;
        self
    }

    /// Tables written from now on also hold the prefixes `extractor` takes from each key
    /// in their filters, so that a prefix scan (and a range scan whose bounds share one
    /// of those prefixes) skips the tables that hold none of its keys. The extractor's
    /// name is stored in each table: a table written under another name is read
    /// without its prefix filter, never skipped by it.
    #[must_use]
    pub fn prefix_extractor(mut self, extractor: Arc<dyn PrefixExtractor>) -> Self {
        self.prefix_extractor = Some(extractor);
        self
    }

    /// Builds no filters for tables of the last level: when point reads mostly find their
    /// key, the last level's filters (about 90% of all filter bytes) would mostly answer
    /// "maybe" anyway. Reads of absent keys then read a block of each last-level table
    /// whose key range holds the key. Default `false`.
    #[must_use]
    pub fn expect_point_read_hits(mut self, expect: bool) -> Self {
        self.expect_point_read_hits = expect;
        self
    }

    /// How far every sync the tree issues goes (tables, blob files, the manifest,
    /// directories): [`SyncMode::Full`] asks for the device's own cache to be flushed
    /// where the platform tells that apart (macOS's `F_FULLFSYNC`); elsewhere both modes
    /// are `fsync`. Default [`SyncMode::Normal`].
    #[must_use]
    pub fn sync_mode(mut self, mode: SyncMode) -> Self {
        self.sync_mode = mode;
        self
    }

    /// Encrypts every table and blob file the tree writes with keys derived from the
    /// provider's master key (see [`crate::encryption`]). A tree created with a provider
    /// needs one with the same key from then on. Default `None`.
    #[must_use]
    pub fn with_encryption(mut self, provider: Option<Arc<dyn crate::EncryptionProvider>>) -> Self {
        self.encryption = provider;
        self
    }

    /// Orders the tree's keys with `comparator` instead of their bytes' lexicographic
    /// order (see [`crate::UserComparator`]): every read, scan, range delete and
    /// compaction follows it. Its name is stored when the tree is created; opening the
    /// tree with a comparator of another name is [`crate::Error::ComparatorMismatch`],
    /// before anything else is read. Default: [`crate::DefaultUserComparator`].
    ///
    /// Prefix scans and prefix filters assume that the keys sharing a prefix are
    /// contiguous in the order, as they are in the lexicographic one; under another
    /// order a prefix scan reads the whole tree and keeps the keys with the prefix.
    #[must_use]
    pub fn comparator(mut self, comparator: crate::SharedComparator) -> Self {
        self.order = KeyOrder::new(comparator);
        self
    }

    /// How opening treats a damaged manifest. Every mode drops the torn tail of an
    /// append that never returned (nothing acknowledged is lost); the default,
    /// [`ManifestRecoveryMode::AbsoluteConsistency`], refuses any other damage with a
    /// typed error. The others trade acknowledged version changes for an open tree:
    /// `TolerateCorruptedTailRecords` drops a damaged last edit, `PointInTimeRecovery`
    /// keeps the version before the first damage, and `SkipAnyCorruptedRecords` skips
    /// each damaged record (and each edit that then no longer applies). What they drop
    /// is logged; the tables and blob files only the dropped edits named are removed as
    /// orphans, and the manifest continues in a new generation.
    #[must_use]
    pub fn manifest_recovery_mode(mut self, mode: ManifestRecoveryMode) -> Self {
        self.manifest_recovery_mode = mode;
        self
    }

    /// The order of the tree's keys.
    pub(crate) fn key_order(&self) -> &KeyOrder {
        &self.order
    }

    /// Checks what only a whole configuration can tell: compression levels, that every
    /// dictionary a policy names is the one configured, and the comparator's name.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`]; [`crate::Error::ZstdDictMismatch`].
    pub(crate) fn validate(&self) -> Result<()> {
        let name = self.order.name();
        if name.is_empty() || name.len() > lsm_core::order::COMPARATOR_NAME_LEN_MAX {
            return Err(crate::Error::InvalidConfig(
                "a comparator's name must have 1 to 256 bytes",
            ));
        }
        let dictionary = self.zstd_dictionary.as_deref();
        for compression in self.data_block_compression_policy.iter() {
            compression.validate(dictionary)?;
        }
        for compression in self.index_block_compression_policy.iter() {
            // Index blocks never use a dictionary: `ZstdDict` means plain zstd there.
            if let CompressionType::ZstdDict { level, .. } = compression {
                CompressionType::zstd(*level)?;
            } else {
                compression.validate(None)?;
            }
        }
        if let Some(options) = &self.kv_separation_opts {
            options.validate()?;
        }
        for entry in self.locator_policy.iter() {
            entry.to_table()?;
        }
        self.validate_routes()?;
        if let Some(provider) = &self.encryption
            && !provider.supports_aad_block_path()
        {
            return Err(crate::Error::Encrypt(
                "the provider cannot seal blocks (it has no master key)",
            ));
        }
        Ok(())
    }

    /// How tables of `level` are written.
    pub(crate) fn table_options(&self, level: usize) -> Result<TableOptions> {
        let last_level = usize::from(self.level_count).saturating_sub(1);
        let filter = if self.expect_point_read_hits && level >= last_level {
            None
        } else {
            self.filter_policy.get(level).to_burr()?
        };
        let data_compression = self.data_block_compression_policy.get(level);
        let filter_partition_keys = if self.filter_block_partitioning_policy.get(level) {
            let partition_bits = u64::from(self.filter_block_partition_size_policy.get(level)) * 8;
            let bits_per_key = filter.as_ref().map_or(10.0, |f| f.design_bits_per_key());
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a positive count of keys far below usize::MAX"
            )]
            let keys = (partition_bits as f64 / bits_per_key) as usize;
            Some(keys.max(64))
        } else {
            None
        };
        Ok(TableOptions {
            block_size: self.data_block_size_policy.get(level) as usize,
            restart_interval: usize::from(self.data_block_restart_interval_policy.get(level)),
            index_restart_interval: usize::from(
                self.index_block_restart_interval_policy.get(level),
            ),
            hash_index_ratio: f64::from(self.data_block_hash_ratio_policy.get(level)),
            compression: data_compression.to_codec(self.zstd_dictionary.as_deref()),
            // Index blocks never use a dictionary.
            index_compression: self
                .index_block_compression_policy
                .get(level)
                .to_codec(None),
            dictionary_training: match data_compression {
                CompressionType::Zstd(level) => self
                    .dictionary_training
                    .map(|training| DictionaryTraining { level, ..training }),
                _ => None,
            },
            filter,
            filter_partition_keys,
            index_partition_threshold: if self.index_block_partitioning_policy.get(level) {
                TableOptions::default().index_partition_threshold
            } else {
                usize::MAX
            },
            index_partition_size: self.index_block_partition_size_policy.get(level) as usize,
            prefix_extractor: self.prefix_extractor.clone(),
            order: self.order.clone(),
            locator: self.locator_policy.get(level).to_table()?,
            ..TableOptions::default()
        })
    }

    /// How tables of `level` are read.
    pub(crate) fn read_options(&self, level: usize, tree: &ReadOptions) -> ReadOptions {
        let mut options = tree.clone();
        options.pin_index = self.index_block_pinning_policy.get(level);
        options.pin_filter = self.filter_block_pinning_policy.get(level);
        options.pin_budget.clone_from(&self.pin_budget);
        options
    }
}
