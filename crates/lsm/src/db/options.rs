//! What a [`crate::Database`] and its keyspaces are opened with.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lsm_core::Fs;
use lsm_wal::{Durability, Recovery};

use crate::compaction::{CompactionStrategy, Leveled};
use crate::{Config, EncryptionProvider, KvSeparationOptions, MergeOperator};

/// Changes a keyspace's tree configuration beyond what [`KeyspaceCreateOptions`] names.
pub type ConfigFn = Arc<dyn Fn(Config) -> Config + Send + Sync>;

/// How a keyspace's tree is made (fjall's name). Options apply when the keyspace is
/// opened: at creation through [`crate::Database::keyspace`], and at every later open of
/// the database through [`crate::DatabaseBuilder::keyspace_options`] (a merge operator
/// or a comparator is code, which no file can hold); tables describe themselves, so
/// changed block, compression or filter settings apply to new tables only.
#[derive(Clone)]
pub struct KeyspaceCreateOptions {
    pub(crate) max_memtable_size: u64,
    pub(crate) merge_operator: Option<Arc<dyn MergeOperator>>,
    pub(crate) strategy: Arc<dyn CompactionStrategy>,
    pub(crate) kv_separation: Option<KvSeparationOptions>,
    pub(crate) config: Option<ConfigFn>,
}

impl Default for KeyspaceCreateOptions {
    fn default() -> Self {
        Self {
            max_memtable_size: 16 << 20,
            merge_operator: None,
            strategy: Arc::new(Leveled::default()),
            kv_separation: None,
            config: None,
        }
    }
}

impl fmt::Debug for KeyspaceCreateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyspaceCreateOptions")
            .field("max_memtable_size", &self.max_memtable_size)
            .field("merge_operator", &self.merge_operator.is_some())
            .field("kv_separation", &self.kv_separation)
            .field("config", &self.config.is_some())
            .finish_non_exhaustive()
    }
}

impl KeyspaceCreateOptions {
    /// The active memtable is sealed for a flush once it holds this many bytes (default
    /// 16 MiB; the database's write-buffer budget may seal it earlier).
    #[must_use]
    pub fn max_memtable_size(mut self, bytes: u64) -> Self {
        self.max_memtable_size = bytes.max(1);
        self
    }

    /// The merge operator of [`crate::Keyspace::merge`] operands.
    #[must_use]
    pub fn with_merge_operator(mut self, operator: Option<Arc<dyn MergeOperator>>) -> Self {
        self.merge_operator = operator;
        self
    }

    /// The compaction strategy (default [`Leveled`]).
    #[must_use]
    pub fn compaction_strategy(mut self, strategy: Arc<dyn CompactionStrategy>) -> Self {
        self.strategy = strategy;
        self
    }

    /// Stores large values in blob files (see [`KvSeparationOptions`]).
    #[must_use]
    pub fn with_kv_separation(mut self, options: Option<KvSeparationOptions>) -> Self {
        self.kv_separation = options;
        self
    }

    /// Any other tree setting ([`Config`]'s builders: block size, compression, filters,
    /// comparator, encryption, ...). The database then sets what it shares: the file
    /// system, the block cache, the seqno counters and background maintenance.
    #[must_use]
    pub fn with_config(
        mut self,
        config: impl Fn(Config) -> Config + Send + Sync + 'static,
    ) -> Self {
        self.config = Some(Arc::new(config));
        self
    }
}

/// The options of a keyspace, by name, for opening a database whose keyspaces need more
/// than the defaults.
pub(crate) type KeyspaceOptionsFn = Arc<dyn Fn() -> KeyspaceCreateOptions + Send + Sync>;

/// How a [`crate::Database`] is opened: from [`crate::Database::builder`].
#[derive(Clone)]
pub struct DatabaseBuilder {
    pub(crate) path: PathBuf,
    pub(crate) fs: Option<Arc<dyn Fs>>,
    pub(crate) cache_size: u64,
    pub(crate) max_write_buffer_size: u64,
    pub(crate) max_journal_size: u64,
    pub(crate) journal_segment_size: u64,
    pub(crate) journal_recovery: Recovery,
    pub(crate) durability: Durability,
    pub(crate) sync_interval: Option<Duration>,
    pub(crate) compaction_jobs: usize,
    pub(crate) keyspace_options: HashMap<String, KeyspaceOptionsFn>,
    pub(crate) encryption: Option<Arc<dyn EncryptionProvider>>,
}

impl fmt::Debug for DatabaseBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseBuilder")
            .field("path", &self.path)
            .field("cache_size", &self.cache_size)
            .field("max_write_buffer_size", &self.max_write_buffer_size)
            .field("max_journal_size", &self.max_journal_size)
            .field("durability", &self.durability)
            .field("sync_interval", &self.sync_interval)
            .field("encrypted", &self.encryption.is_some())
            .finish_non_exhaustive()
    }
}

impl DatabaseBuilder {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            fs: None,
            cache_size: 64 << 20,
            max_write_buffer_size: 64 << 20,
            max_journal_size: 512 << 20,
            journal_segment_size: 64 << 20,
            journal_recovery: Recovery::Strict,
            durability: Durability::Flush,
            sync_interval: None,
            compaction_jobs: 1,
            keyspace_options: HashMap::new(),
            encryption: None,
        }
    }

    /// The file system every file goes through (default: the operating system's).
    #[must_use]
    pub fn with_fs(mut self, fs: Arc<dyn Fs>) -> Self {
        self.fs = Some(fs);
        self
    }

    /// Bytes of the block cache all keyspaces share (default 64 MiB).
    #[must_use]
    pub fn cache_size(mut self, bytes: u64) -> Self {
        self.cache_size = bytes;
        self
    }

    /// Bytes all keyspaces' memtables may hold together (default 64 MiB): past it, the
    /// largest active memtable is sealed and flushed.
    #[must_use]
    pub fn max_write_buffer_size(mut self, bytes: u64) -> Self {
        self.max_write_buffer_size = bytes.max(1);
        self
    }

    /// Bytes the log may hold (default 512 MiB): past it, the keyspace whose writes in
    /// memory are the oldest is flushed, so that the oldest segments can go.
    #[must_use]
    pub fn max_journal_size(mut self, bytes: u64) -> Self {
        self.max_journal_size = bytes.max(1);
        self
    }

    /// Bytes after which a log segment is closed and the next begun (default 64 MiB).
    #[must_use]
    pub fn journal_segment_size(mut self, bytes: u64) -> Self {
        self.journal_segment_size = bytes;
        self
    }

    /// What recovery does with a damaged log record that is not a torn tail (default
    /// [`Recovery::Strict`]: opening fails).
    #[must_use]
    pub fn journal_recovery(mut self, recovery: Recovery) -> Self {
        self.journal_recovery = recovery;
        self
    }

    /// How durable a write is when its call returns, unless a batch says otherwise
    /// (default [`Durability::Flush`]: handed to the operating system, so it survives
    /// the process but not a power cut).
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Syncs the log this often in the background (default: never; writes are then as
    /// durable as they ask, and [`crate::Database::persist`] syncs on demand).
    #[must_use]
    pub fn sync_interval(mut self, interval: Option<Duration>) -> Self {
        self.sync_interval = interval;
        self
    }

    /// Encrypts everything at rest: every keyspace's tables, blob files and manifest
    /// (as [`Config::with_encryption`]) and every log record, sealed under a key derived
    /// from the provider's master key (which it must have). A database is encrypted or
    /// not from its creation on; opening it the other way, or with another key, fails.
    #[must_use]
    pub fn with_encryption(mut self, provider: Option<Arc<dyn EncryptionProvider>>) -> Self {
        self.encryption = provider;
        self
    }

    /// Compaction jobs each keyspace runs side by side (default 1).
    #[must_use]
    pub fn compaction_jobs(mut self, jobs: usize) -> Self {
        self.compaction_jobs = jobs.max(1);
        self
    }

    /// The options keyspace `name` opens with when the database opens (a keyspace
    /// without an entry opens with the defaults).
    #[must_use]
    pub fn keyspace_options(
        mut self,
        name: &str,
        options: impl Fn() -> KeyspaceCreateOptions + Send + Sync + 'static,
    ) -> Self {
        self.keyspace_options
            .insert(name.to_owned(), Arc::new(options));
        self
    }
}
