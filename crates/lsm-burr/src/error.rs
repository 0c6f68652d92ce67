//! The error type of `lsm-burr`.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of `lsm-burr`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A false-positive rate outside `2^-32 ..= 0.5`, or not a number.
    #[error("false-positive rate {0} is outside 2^-32..=0.5")]
    InvalidFpr(f64),
    /// Bits per key outside `1.0 ..= 32.0`, or not a number.
    #[error("bits per key {0} is outside 1..=32")]
    InvalidBitsPerKey(f64),
    /// Retrieval value bits outside `1 ..= 32`.
    #[error("value bits {0} are outside 1..=32")]
    InvalidValueBits(u32),
    /// More keys than one filter holds.
    #[error("{count} keys exceed the filter limit of {max}")]
    TooManyKeys {
        /// Keys given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The base layer could not be solved within the bounded number of attempts (with a
    /// sound hash this happens with vanishing probability).
    #[error("filter construction failed after {attempts} attempts")]
    ConstructionFailed {
        /// Attempts made.
        attempts: u32,
    },
    /// A retrieval value with bits above the structure's value bits.
    #[error("value {value} does not fit in {bits} bits")]
    ValueTooWide {
        /// The value given.
        value: u32,
        /// The value bits of the policy.
        bits: u32,
    },
    /// One hash given twice for a retrieval structure, with two different values.
    #[error("hash {hash:#018x} given with two different values")]
    ConflictingValues {
        /// The hash.
        hash: u64,
    },
    /// Encoded bytes are not a filter of a version this build reads.
    #[error("malformed filter: {what} (at byte {offset})")]
    Malformed {
        /// What is wrong.
        what: &'static str,
        /// Where, in the encoded bytes.
        offset: usize,
    },
    /// The filter was encoded by a newer format version.
    #[error("unsupported filter format version {found} (this build reads up to {max})")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
        /// The newest version this build reads.
        max: u8,
    },
}
