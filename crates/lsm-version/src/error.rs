//! The error type of `lsm-version`.

use std::io;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of `lsm-version`.
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
    /// A manifest file is damaged (beyond a torn last record).
    #[error("corrupt manifest {path} at offset {offset}: {what}")]
    Corruption {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// The manifest is encrypted under another key than the one given.
    #[error("manifest {path} is encrypted under another key")]
    WrongKey {
        /// The file.
        path: PathBuf,
    },
    /// The manifest is encrypted and no key was given.
    #[error("manifest {path} is encrypted; no key was given")]
    KeyRequired {
        /// The file.
        path: PathBuf,
    },
    /// A key was given for a manifest written in plaintext (refused: a plaintext
    /// manifest put in place of an encrypted one must not be trusted).
    #[error("manifest {path} is not encrypted")]
    NotEncrypted {
        /// The file.
        path: PathBuf,
    },
    /// The manifest records another key order than the one the tree was opened with.
    #[error("the tree is ordered by {stored:?}, not by {supplied:?}")]
    ComparatorMismatch {
        /// The order's name the manifest records.
        stored: String,
        /// The order's name given.
        supplied: &'static str,
    },
    /// A manifest written by a newer format version.
    #[error("unsupported manifest format version {found} (this build reads up to {max})")]
    UnsupportedFormatVersion {
        /// The version found.
        found: u8,
        /// The newest this build reads.
        max: u8,
    },
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
