//! The public error type of the `lsm` facade.
//!
//! Variant names follow the surface users of coordinode-lsm-tree already match on
//! (`Io`, `Locked`, `Unrecoverable`, ...); the lower crates' typed errors are carried whole
//! so that a corrupt block still names its file and offset.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result alias of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the facade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation of the tree itself failed (creating its directory, listing
    /// or deleting files). The error's payload names the operation and the path.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// Another opener holds the tree's directory lock.
    #[error("tree directory {0} is locked by another opener")]
    Locked(String),
    /// The tree's directory holds tables or blob files but no manifest pointer: opening
    /// would start an empty tree and delete them. [`crate::Config::repair`] rebuilds the
    /// manifest from them.
    #[error("tree directory {0} holds table or blob files but no manifest; repair it")]
    ManifestMissing(PathBuf),
    /// A flush or manifest write failed earlier: nothing is known about the durable state
    /// past that point, so the tree refuses further writes and version changes until it is
    /// reopened (recovery then finds the last durable state).
    #[error("the tree is poisoned by an earlier write failure; reopen it")]
    Unrecoverable,
    /// The tree is shutting down; the interrupted work left nothing behind.
    #[error("the tree is shutting down")]
    Closed,
    /// A table failed to open, read or write (corruption names the file and offset).
    #[error(transparent)]
    Table(#[from] lsm_table::Error),
    /// The manifest failed to read or write.
    #[error(transparent)]
    Manifest(#[from] lsm_version::Error),
    /// The merge operator could not apply an operand.
    #[error("the merge operator failed")]
    MergeOperator,
    /// A write batch holds different kinds of operations for one key (repeated merges
    /// of one key are fine).
    #[error("a write batch mixes operation kinds on one key")]
    MixedOperationBatch,
    /// A write's key, value, range bound or seqno is outside the engine's limits (see
    /// [`crate::Argument`]); nothing was written.
    #[error("invalid argument: {}", describe(*what, *len, *limit))]
    InvalidArgument {
        /// Which argument.
        what: Argument,
        /// Its length in bytes (its value, for a seqno).
        len: u64,
        /// The bound it broke: the minimum when `len` is below it, else the maximum.
        limit: u64,
    },
    /// A key given to an ingestion does not sort strictly after the one before it
    /// (unsorted, or a duplicate); the ingestion ended and registered nothing.
    #[error("ingested keys must be strictly ascending: {key:?} does not follow the previous key")]
    UnsortedIngestion {
        /// The key that broke the order.
        key: lsm_core::UserKey,
    },
    /// An earlier error (or the ingestion's writer stopping) ended this ingestion; its
    /// files were deleted and nothing of it is registered.
    #[error("the ingestion was aborted by an earlier error; nothing of it is registered")]
    IngestionAborted,
    /// The configuration cannot be used.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// A memtable's entries no longer hash to what was written into it (see
    /// [`crate::RuntimeConfig::entry_checksums`]): memory was corrupted after a write.
    /// The flush wrote nothing and the memtable stays sealed (every later flush of it
    /// fails the same way): reopen the tree, and its writes come back from the log that
    /// covers them (the caller's, or the `Database`'s).
    #[error("memtable {memtable} failed its entry check (inserted {expected:#x}, holds {got:#x})")]
    MemtableChecksumMismatch {
        /// The memtable.
        memtable: u64,
        /// The sum taken at insert.
        expected: u64,
        /// The sum of what it holds.
        got: u64,
    },
    /// The storage admission gate refused a write: the tree would hold `used` bytes,
    /// over its `limit` (the quota or the free space; see
    /// [`crate::RuntimeConfig::storage_admission_check`]). Reads go on; writes are
    /// admitted again once there is room.
    #[error("storage full: the tree would hold {used} bytes, over its limit of {limit}")]
    StorageFull {
        /// What the tree would hold: its files and its memtables.
        used: u64,
        /// The lower of the quota and the files plus the free space.
        limit: u64,
    },
    /// Encryption cannot be set up or failed (a provider without a master key, a key of
    /// the wrong length, no randomness).
    #[error("encryption: {0}")]
    Encrypt(&'static str),
    /// Decryption failed outside a block (a damaged message or encryption marker).
    #[error("decryption: {0}")]
    Decrypt(&'static str),
    /// The tree is encrypted under another key than the provider's.
    #[error("wrong encryption key for this tree")]
    WrongKey,
    /// The tree is encrypted and no encryption provider was given.
    #[error("the tree is encrypted: an encryption provider is required")]
    EncryptionRequired,
    /// An encryption provider was given for a tree created without encryption.
    #[error("the tree was created without encryption")]
    NotEncrypted,
    /// A compression policy names a zstd dictionary (`CompressionType::ZstdDict`) other
    /// than the one configured (`got`; `None` when none is).
    #[error(
        "zstd dictionary mismatch: the policy names {expected:#010x}, the configuration holds {got:?}"
    )]
    ZstdDictMismatch {
        /// The id the policy names.
        expected: u32,
        /// The id of the dictionary configured, if any.
        got: Option<u32>,
    },
    /// The tree was created with a comparator of another name than the one given.
    #[error("the tree's keys are ordered by {stored:?}, not by {supplied:?}")]
    ComparatorMismatch {
        /// The name the tree stores.
        stored: String,
        /// The name of the comparator given.
        supplied: &'static str,
    },
    /// A blob file failed to open, read or write (corruption names the file and offset).
    #[error(transparent)]
    Blob(#[from] lsm_vlog::Error),
    /// A table's pointer to a separated value is damaged: it does not decode, names a
    /// blob file the tree does not hold, or leads to another key's value.
    #[error("broken blob indirection for blob file {file_id}: {what}")]
    BrokenIndirection {
        /// The blob file it names (0 when it does not decode).
        file_id: lsm_core::BlobFileId,
        /// What is wrong.
        what: &'static str,
    },
    /// A compaction strategy chose something that would break the tree; nothing was done.
    #[error("compaction strategy {strategy} chose an invalid step: {refusal}")]
    InvalidCompactionChoice {
        /// The strategy's name.
        strategy: &'static str,
        /// The rule the choice broke.
        refusal: &'static str,
    },
    /// A file to inspect is not named as a tree names its tables and blob files (by
    /// their id).
    #[error("{path} is not named as a tree's table or blob file (by its id)")]
    NotATreeFile {
        /// The file.
        path: PathBuf,
    },
    /// A level route's directory belongs to another tree (it names another tree, or
    /// holds tables without naming one): opening would delete that tree's tables as
    /// orphans.
    #[error("level route directory {0} belongs to another tree")]
    RouteClaimed(PathBuf),
    /// A checkpoint's target directory already exists.
    #[error("checkpoint target {0} already exists")]
    CheckpointTargetExists(PathBuf),
    /// The write-ahead log of a [`crate::Database`] failed (damaged on recovery, or
    /// poisoned by an earlier failed write or sync).
    #[error(transparent)]
    Wal(#[from] lsm_wal::Error),
    /// A database's keyspace registry is damaged.
    #[error("keyspace registry {path} is damaged: {reason}")]
    BadRegistry {
        /// The registry file.
        path: PathBuf,
        /// What failed.
        reason: &'static str,
    },
    /// A database's files were written by a newer build.
    #[error("{what} format version {version} is newer than this build reads")]
    UnsupportedVersion {
        /// Which file.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// A keyspace name that is empty, longer than 255 bytes, or has a character other
    /// than ASCII letters, digits and `_-.#$`.
    #[error("invalid keyspace name {0:?}")]
    InvalidKeyspaceName(String),
    /// The keyspace was deleted.
    #[error("keyspace {0:?} was deleted")]
    KeyspaceDeleted(String),
    /// A log record names a keyspace the database never had.
    #[error("the log names keyspace {0}, which the database never had")]
    UnknownKeyspace(u32),
}

/// An I/O error with the operation and path it concerns; carried inside [`Error::Io`]
/// (keeping the original error's kind).
#[derive(Debug)]
pub struct IoContext {
    /// The operation.
    pub op: &'static str,
    /// The path.
    pub path: PathBuf,
    /// What the file system said.
    pub source: io::Error,
}

impl fmt::Display for IoContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed on {}", self.op, self.path.display())
    }
}

impl std::error::Error for IoContext {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Error {
    /// An [`Error::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io(io::Error::new(
            source.kind(),
            IoContext {
                op,
                path: path.to_path_buf(),
                source,
            },
        ))
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<lsm_compaction::Error> for Error {
    fn from(error: lsm_compaction::Error) -> Self {
        match error {
            lsm_compaction::Error::Table(error) => Self::Table(error),
            lsm_compaction::Error::Blob(error) => Self::Blob(error),
            lsm_compaction::Error::BrokenIndirection { what } => {
                Self::BrokenIndirection { file_id: 0, what }
            }
            lsm_compaction::Error::Io { op, path, source } => Self::io(op, &path, source),
            lsm_compaction::Error::EntryDigestMismatch(mismatch) => {
                Self::MemtableChecksumMismatch {
                    memtable: mismatch.memtable,
                    expected: mismatch.expected,
                    got: mismatch.got,
                }
            }
            other => Self::Io(io::Error::other(other)),
        }
    }
}

/// Which argument of a write broke its limit (in [`Error::InvalidArgument`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Argument {
    /// A user key's length in bytes.
    KeyLength,
    /// A value's (or merge operand's) length in bytes.
    ValueLength,
    /// A range tombstone bound's length in bytes.
    RangeBoundLength,
    /// The seqno to write at.
    Seqno,
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KeyLength => "key length",
            Self::ValueLength => "value length",
            Self::RangeBoundLength => "range bound length",
            Self::Seqno => "seqno",
        })
    }
}

/// The message of [`Error::InvalidArgument`]: which bound the argument broke.
pub(crate) fn describe(what: Argument, len: u64, limit: u64) -> String {
    if len < limit {
        format!("{what} {len} is below the minimum of {limit}")
    } else {
        format!("{what} {len} is above the maximum of {limit}")
    }
}
