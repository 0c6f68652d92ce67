//! The error type of `lsm-codec`.

use lsm_core::{DecodeError, FileId};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of `lsm-codec`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A block's envelope is damaged: its bytes are not what was written there.
    #[error("corrupt block at offset {block_offset} of file {file_id}: {kind}")]
    Corruption {
        /// The file the block was read from.
        file_id: FileId,
        /// The block's offset in that file.
        block_offset: u64,
        /// What is wrong.
        kind: CorruptionKind,
    },
    /// A decoded payload is not a well-formed block (the envelope checked out, so this is
    /// a bug in the writer or a block handed to the wrong decoder).
    #[error("malformed block payload")]
    MalformedBlock(#[from] DecodeError),
    /// The block was written by a newer format version.
    #[error("unsupported block format version {found} (this build reads up to {max})")]
    UnsupportedFormatVersion {
        /// The version in the block.
        found: u8,
        /// The newest version this build reads.
        max: u8,
    },
    /// The block needs a zstd dictionary that was not supplied.
    #[error("block needs zstd dictionary {dict_id:#010x}, none was supplied")]
    DictionaryMissing {
        /// The dictionary the block was compressed with.
        dict_id: u32,
    },
    /// The supplied zstd dictionary is not the one the block was compressed with.
    #[error("block needs zstd dictionary {expected:#010x}, got {found:#010x}")]
    DictionaryMismatch {
        /// The dictionary the block was compressed with.
        expected: u32,
        /// The dictionary supplied.
        found: u32,
    },
    /// The block is encrypted under another key than the one supplied.
    #[error("wrong encryption key for block at offset {block_offset} of file {file_id}")]
    WrongKey {
        /// The file the block was read from.
        file_id: FileId,
        /// The block's offset in that file.
        block_offset: u64,
    },
    /// The block is encrypted and no key was supplied.
    #[error("block at offset {block_offset} of file {file_id} is encrypted, no key was supplied")]
    KeyRequired {
        /// The file the block was read from.
        file_id: FileId,
        /// The block's offset in that file.
        block_offset: u64,
    },
    /// zstd failed to compress (it only does so when out of memory).
    #[error("zstd compression failed: {reason}")]
    Compress {
        /// zstd's error name.
        reason: &'static str,
    },
    /// Dictionary training failed (too few or too uniform samples).
    #[error("zstd dictionary training failed")]
    DictionaryTraining(#[source] std::io::Error),
    /// The operating system's random generator failed (salts, nonces).
    #[error("the system random generator failed")]
    Random,
    /// A payload is longer than the envelope can describe (`u32` lengths).
    #[error("block payload of {len_bytes} bytes exceeds the 4 GiB envelope limit")]
    BlockTooLarge {
        /// The payload's length.
        len_bytes: usize,
    },
}

/// What is wrong with a corrupt block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// Fewer bytes than the header, or than the header declares.
    #[error("truncated: {available} bytes where {needed} are needed")]
    Truncated {
        /// Bytes the block needs.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// More bytes than the header declares.
    #[error("{extra} trailing bytes after the block")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// The checksum does not match: damaged bytes, or a block from another place.
    #[error("checksum mismatch: stored {stored:#018x}, computed {computed:#018x}")]
    ChecksumMismatch {
        /// The checksum in the header.
        stored: u64,
        /// The checksum of the bytes read, in this block's context.
        computed: u64,
    },
    /// A block of another type than the reader asked for.
    #[error("block type {found} where {expected} was expected")]
    UnexpectedBlockType {
        /// The type asked for.
        expected: u8,
        /// The type in the header.
        found: u8,
    },
    /// An unknown block-type, compression or flag value.
    #[error("invalid header field {field}: {value}")]
    InvalidHeaderField {
        /// The field's name.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// zstd could not decode the payload.
    #[error("zstd decompression failed: {reason}")]
    Decompress {
        /// zstd's error name.
        reason: &'static str,
    },
    /// The payload decoded to another length than the header declares.
    #[error("payload decoded to {actual} bytes, header declares {declared}")]
    LengthMismatch {
        /// The declared length.
        declared: u64,
        /// The decoded length.
        actual: u64,
    },
    /// AES-GCM authentication failed under the right key: tampered or misplaced bytes.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// A plaintext block where the reader requires encryption.
    #[error("block is not encrypted but the file requires encryption")]
    NotEncrypted,
}

impl Error {
    pub(crate) fn corruption(context: crate::BlockContext, kind: CorruptionKind) -> Self {
        Self::Corruption {
            file_id: context.file_id,
            block_offset: context.block_offset,
            kind,
        }
    }
}
