//! The error type of `lsm-table`.

use std::io;
use std::path::PathBuf;

use lsm_core::FileId;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of `lsm-table`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed.
    #[error("{op} failed on {path}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The table's bytes are damaged.
    #[error("corrupt table {file_id} at offset {offset}: {what}")]
    Corruption {
        /// The table.
        file_id: FileId,
        /// Where.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// A block failed to decode (checksum, envelope, or payload).
    #[error("table {file_id}: block at offset {offset}")]
    Block {
        /// The table.
        file_id: FileId,
        /// The block's offset.
        offset: u64,
        /// The block-level error.
        #[source]
        source: lsm_codec::Error,
    },
    /// The table was written by a newer format version.
    #[error("unsupported table format version {found} (this build reads up to {max})")]
    UnsupportedFormatVersion {
        /// The version found.
        found: u8,
        /// The newest this build reads.
        max: u8,
    },
    /// The table is encrypted and the key given is not its key.
    #[error("wrong encryption key for table {file_id}")]
    WrongKey {
        /// The table.
        file_id: FileId,
    },
    /// The table is encrypted and no key was given.
    #[error("table {file_id} is encrypted; no key was given")]
    KeyRequired {
        /// The table.
        file_id: FileId,
    },
    /// The table's keys are in another order than the reader's.
    #[error("table {file_id} is ordered by {stored:?}, not by {supplied:?}")]
    ComparatorMismatch {
        /// The table.
        file_id: FileId,
        /// The order it records (`lexicographic` when it records none).
        stored: String,
        /// The reader's order.
        supplied: &'static str,
    },
    /// The table's footer names another file id than the one it was opened as.
    #[error("file {expected} holds table {found}")]
    FileIdMismatch {
        /// The id it was opened as.
        expected: FileId,
        /// The id in its footer.
        found: FileId,
    },
    /// An earlier write or encode error left the writer unusable; the file must be
    /// deleted.
    #[error("table {file_id}: the writer failed earlier and writes no more")]
    WriterFailed {
        /// The table.
        file_id: FileId,
    },
    /// A table needs at least one entry.
    #[error("table {file_id} has no entries")]
    EmptyTable {
        /// The table.
        file_id: FileId,
    },
    /// A key or value outside the limits was given to the writer.
    #[error(transparent)]
    InvalidEntry(lsm_core::Error),
    /// Building a block or filter failed.
    #[error("building table {file_id}")]
    Build {
        /// The table.
        file_id: FileId,
        /// Why.
        #[source]
        source: BuildError,
    },
}

/// Why building part of a table failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Encoding a block failed.
    #[error(transparent)]
    Block(#[from] lsm_codec::Error),
    /// Building the filter failed.
    #[error(transparent)]
    Filter(#[from] lsm_burr::Error),
    /// A batch of blocks sent to the compression pool never came back (the pool's task
    /// panicked).
    #[error("the compression pool lost a batch of blocks")]
    CompressionPool,
}

impl Error {
    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
