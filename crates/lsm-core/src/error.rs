//! The error types of `lsm-core`.
//!
//! [`DecodeError`] is what every decoder of untrusted bytes in this crate returns; it says
//! what was wrong and where, relative to the start of the buffer being decoded. Upper
//! crates add the file and block that buffer came from.

use std::io;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of `lsm-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation through [`crate::Fs`] failed.
    #[error("{op} failed on {path}")]
    Io {
        /// The operation, such as `"open"` or `"sync_dir"`.
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// Bytes did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A user key was empty or longer than [`crate::limits::USER_KEY_LEN_MAX`].
    #[error("user key length {len_bytes} is outside 1..={max}")]
    KeyLength {
        /// The offending length.
        len_bytes: usize,
        /// The largest allowed length.
        max: usize,
    },
    /// A value was longer than [`crate::limits::VALUE_LEN_MAX`].
    #[error("value length {len_bytes} exceeds {max}")]
    ValueLength {
        /// The offending length.
        len_bytes: u64,
        /// The largest allowed length.
        max: u64,
    },
}

/// Why a buffer did not decode. Offsets are relative to the buffer given to the decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The buffer ended before a field did.
    #[error("unexpected end of input at offset {offset}: needed {needed} bytes, {available} left")]
    UnexpectedEof {
        /// Where the field starts.
        offset: usize,
        /// How many bytes the field needs.
        needed: usize,
        /// How many bytes were left.
        available: usize,
    },
    /// A varint was longer than its type allows, or overflowed it.
    #[error("malformed varint at offset {offset}")]
    VarintOverflow {
        /// Where the varint starts.
        offset: usize,
    },
    /// An unknown value-type tag.
    #[error("unknown value type tag {tag:#04x}")]
    UnknownValueType {
        /// The tag read.
        tag: u8,
    },
    /// A field held a value outside its documented range.
    #[error("invalid {field} ({value}) at offset {offset}")]
    InvalidField {
        /// The field's name, as in the format doc.
        field: &'static str,
        /// The value read.
        value: u64,
        /// Where the field starts.
        offset: usize,
    },
}
