//! The error type of `lsm-vlog`.

use std::io;
use std::path::PathBuf;

use lsm_core::BlobFileId;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of `lsm-vlog`.
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
    /// The blob file's bytes are damaged (header, footer, or a frame's contents).
    #[error("corrupt blob file {file_id} at offset {offset}: {what}")]
    Corruption {
        /// The blob file.
        file_id: BlobFileId,
        /// Where.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// A frame failed to decode (checksum, envelope, decryption).
    #[error("blob file {file_id}: frame at offset {offset}")]
    Frame {
        /// The blob file.
        file_id: BlobFileId,
        /// The frame's offset.
        offset: u64,
        /// The frame-level error.
        #[source]
        source: lsm_codec::Error,
    },
    /// A handle names another file, or a range outside this one.
    #[error("handle for blob file {handle_file_id} given to blob file {file_id}")]
    WrongFile {
        /// The file read.
        file_id: BlobFileId,
        /// The file the handle names.
        handle_file_id: BlobFileId,
    },
    /// The blob file was written by a newer format version.
    #[error("unsupported blob file format version {found} (this build reads up to {max})")]
    UnsupportedFormatVersion {
        /// The version found.
        found: u8,
        /// The newest this build reads.
        max: u8,
    },
    /// The file is encrypted and the key given is not its key.
    #[error("wrong encryption key for blob file {file_id}")]
    WrongKey {
        /// The blob file.
        file_id: BlobFileId,
    },
    /// The file is encrypted and no key was given.
    #[error("blob file {file_id} is encrypted; no key was given")]
    KeyRequired {
        /// The blob file.
        file_id: BlobFileId,
    },
    /// The file's header names another file id.
    #[error("file {expected} holds blob file {found}")]
    FileIdMismatch {
        /// The id it was opened as.
        expected: BlobFileId,
        /// The id in its header.
        found: BlobFileId,
    },
    /// An earlier write error left the writer unusable; the file must be deleted.
    #[error("blob file {file_id}: the writer failed earlier and writes no more")]
    WriterFailed {
        /// The blob file.
        file_id: BlobFileId,
    },
    /// A key or value outside the limits.
    #[error(transparent)]
    InvalidEntry(lsm_core::Error),
    /// Encoding a frame failed.
    #[error("encoding a frame of blob file {file_id}")]
    Encode {
        /// The blob file.
        file_id: BlobFileId,
        /// Why.
        #[source]
        source: lsm_codec::Error,
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
