//! `lsm`: an embedded LSM-tree key-value store (layer 5, the facade).
//!
//! A tree keeps every version of every key by sequence number (seqno): writes carry the
//! seqno to write at, reads the seqno to read at, and a read at `r` sees the newest
//! version below `r`, so any seqno is a snapshot. Writes land in an in-memory memtable;
//! a flush writes sealed memtables to an immutable table on disk and records it in a
//! crash-safe manifest. There is no write-ahead log at this layer: a write is durable
//! once a flush covering its seqno has returned, and after a crash the tree reopens in
//! the state of some flush at or after the last one that returned.
//!
//! The surface mirrors coordinode-lsm-tree 5.6 ([`Config`], [`AbstractTree`],
//! [`AnyTree`], [`Guard`], ...), so code written for it compiles against this crate with
//! the dependency renamed.
//!
//! ```
//! use lsm::{AbstractTree, Config, Guard, SequenceNumberCounter};
//!
//! let dir = tempfile::tempdir()?;
//! let seqno = SequenceNumberCounter::default();
//! let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default()).open()?;
//!
//! tree.insert("apple", "red", seqno.next());
//! let before_banana = seqno.get();
//! tree.insert("banana", "yellow", seqno.next());
//! tree.remove("apple", seqno.next());
//!
//! // Reads at the latest seqno see the latest state; older seqnos are snapshots.
//! assert_eq!(tree.get("apple", seqno.get())?, None);
//! assert_eq!(tree.get("apple", before_banana)?.as_deref(), Some(&b"red"[..]));
//!
//! // Make everything durable, then scan from both ends.
//! tree.flush_active_memtable(0)?;
//! let keys: Vec<_> = tree.iter(seqno.get(), None).map(|item| item.key()).collect::<Result<_, _>>()?;
//! assert_eq!(keys, ["banana"]);
//! # Ok::<(), lsm::Error>(())
//! ```
//!
//! Crate map: `lsm-core` (vocabulary, `Fs`), `lsm-codec` (blocks), `lsm-burr` (filters),
//! `lsm-memtable`, `lsm-table`, `lsm-version` (versions and the manifest),
//! `lsm-compaction` (strategies and the merge worker), `lsm-vlog` (blob files); this
//! crate wires them into trees. See `ARCHITECTURE.md`.

#![forbid(unsafe_code)]

mod abstract_tree;
mod admission;
mod any_tree;
mod argument;
pub mod background;
mod blob_tree;
mod blobs;
mod cache;
mod checkpoint;
mod compact;
pub mod compaction;
pub mod config;
pub mod db;
mod dirs;
pub mod encryption;
mod error;
mod file_ids;
mod flush;
mod guard;
mod health;
pub mod ingest;
pub mod inspect;
mod jobs;
mod kv_separation;
pub mod layout;
mod live_table;
mod maintenance;
mod merge_operator;
mod metrics;
mod pacing;
mod published;
mod rate_limiter;
mod read;
mod recovery;
pub mod repair;
pub mod runtime_config;
pub mod scan_since;
pub mod seekable;
mod storage_stats;
mod super_version;
mod sync;
mod threads;
mod tree;
pub mod verify;

/// What a version holds (see [`AbstractTree::current_version`]).
pub mod version {
    pub use lsm_version::{BlobFileInfo, BlobRef, Level, Run, TableMeta, Version};
}
mod write_batch;

pub use abstract_tree::{AbstractTree, FlushGuard, TreeType};
pub use any_tree::AnyTree;
pub use blob_tree::BlobTree;
pub use cache::{Cache, DescriptorTable};
pub use checkpoint::CheckpointInfo;
pub use config::{CompressionType, Config, PrefixExtractor};
pub use db::{
    Batch, ConfigFn, Database, DatabaseBuilder, Keyspace, KeyspaceCreateOptions, PersistMode,
    Snapshot,
};
pub use encryption::{Aes256GcmProvider, EncryptionProvider, KeyChain, StaticKeyChain};
pub use error::Argument;
pub use error::{Error, IoContext, Result};
pub use guard::{Guard, IterGuardImpl, KvPair, PinnableSlice};
pub use ingest::{AnyIngestion, BlobIngestion, Ingestion};
pub use kv_separation::KvSeparationOptions;
pub use lsm_core::{BlockKind, KindCounts, ReadCounts};
pub use lsm_wal::{Durability, Error as WalError, Recovery as JournalRecovery};
pub use metrics::{CacheStats, Metrics};
pub use runtime_config::RuntimeConfig;
pub use storage_stats::{
    ApproximateRangeStats, LevelStats, RangeCardinality, SegmentStats, StorageStats, StorageStatus,
};

/// The I/O vocabulary of the file-system seam, under the path the mirrored API gives it
/// (ours is `std::io`'s: see `docs/compatibility.md`).
pub mod io {
    pub use std::io::{Error, ErrorKind, Read, Result, Seek, SeekFrom, Write};
}

/// The file-system seam every file of a tree goes through (see [`Fs`]).
pub mod fs {
    pub use lsm_core::fs::{
        DirEntry, Fs, FsFile, FsLock, MemFs, Metadata, OpenOptions, StdFs, SyncMode,
    };
}
pub use lsm_codec::ZstdDictionary;
pub use lsm_core::{
    DefaultUserComparator, Fs, KeyOrder, MAX_SEQNO, MemFs, MemtableId, SeqNo,
    SequenceNumberCounter, SequenceNumberGenerator, SharedComparator,
    SharedSequenceNumberGenerator, Slice, StdFs, UserComparator, UserKey, UserValue, ValueType,
};
pub use lsm_core::{InternalEntry, InternalKey, RangeTombstone};
pub use lsm_memtable::Memtable;
pub use lsm_table::{FilterCounters, PinBudget};
pub use merge_operator::MergeOperator;
pub use read::{Index, IterBox, KeyVersion};
pub use repair::RepairReport;
pub use scan_since::ScanSinceEvent;
pub use seekable::SeekableGuardIter;

/// A stored entry (key, seqno, value type, value), as [`AbstractTree::get_internal_entry`]
/// returns it.
#[doc(hidden)]
pub use lsm_core::InternalEntry as InternalValue;

/// A fresh temporary directory for tests, inside the folder `LSMT_TMP_FOLDER` names when
/// it is set (created if missing), else the system's; removed when dropped.
///
/// # Panics
/// When the directory cannot be created.
#[doc(hidden)]
#[must_use]
pub fn get_tmp_folder() -> tempfile::TempDir {
    match std::env::var_os("LSMT_TMP_FOLDER") {
        Some(parent) => {
            let parent = std::path::PathBuf::from(parent);
            Fs::create_dir_all(&StdFs, &parent)
                .and_then(|()| tempfile::tempdir_in(&parent))
                .expect("a temporary directory in LSMT_TMP_FOLDER")
        }
        None => tempfile::tempdir().expect("a temporary directory"),
    }
}
pub use tree::{Tree, TreeId, TreeInner};
pub use write_batch::WriteBatch;
