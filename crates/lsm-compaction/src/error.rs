//! The error type of `lsm-compaction`.

use std::io;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the worker (the planner cannot fail).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input table failed to read, or an output table failed to write.
    #[error(transparent)]
    Table(#[from] lsm_table::Error),
    /// A blob file failed to write.
    #[error(transparent)]
    Blob(#[from] lsm_vlog::Error),
    /// An indirection entry is damaged.
    #[error("broken blob indirection: {what}")]
    BrokenIndirection {
        /// What is wrong.
        what: &'static str,
    },
    /// A memtable's entries no longer hash to what was inserted: memory was corrupted
    /// after a write (nothing was written).
    #[error(
        "memtable {} failed its entry check (inserted {:#x}, holds {:#x})",
        .0.memtable,
        .0.expected,
        .0.got
    )]
    EntryDigestMismatch(lsm_memtable::DigestMismatch),
    /// A file-system operation on the outputs failed.
    #[error("{op} failed on {path}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
}
