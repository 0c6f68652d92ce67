//! Checksums: XXH3, 64-bit.
//!
//! Blocks are small (a few KiB) and read often, so the checksum must be fast on short
//! inputs: XXH3-64 runs at memory speed there, and 64 bits make an undetected random
//! corruption a 2^-64 event per block. The seed carries a block's context (file and
//! offset), so a valid block copied to another place fails its check.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// A 64-bit XXH3 checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Checksum(u64);

impl Checksum {
    /// The checksum of `bytes`.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        Self(xxh3_64(bytes))
    }

    /// The checksum of `bytes` under a context seed.
    #[must_use]
    pub fn of_with_seed(bytes: &[u8], seed: u64) -> Self {
        Self(xxh3_64_with_seed(bytes, seed))
    }

    /// Wraps a stored checksum value.
    #[must_use]
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The checksum value.
    #[must_use]
    pub fn into_raw(self) -> u64 {
        self.0
    }
}

/// A streaming XXH3-64 checksum over several pieces.
#[derive(Clone)]
pub struct ChecksumBuilder(xxhash_rust::xxh3::Xxh3);

impl ChecksumBuilder {
    /// A builder under a context seed.
    #[must_use]
    pub fn with_seed(seed: u64) -> Self {
        Self(xxhash_rust::xxh3::Xxh3::with_seed(seed))
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The checksum of everything added.
    #[must_use]
    pub fn finish(&self) -> Checksum {
        Checksum(self.0.digest())
    }
}

impl std::fmt::Debug for ChecksumBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChecksumBuilder")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot_and_seed_matters() {
        let mut builder = ChecksumBuilder::with_seed(7);
        builder.update(b"hello ");
        builder.update(b"world");
        assert_eq!(builder.finish(), Checksum::of_with_seed(b"hello world", 7));
        assert_ne!(
            Checksum::of_with_seed(b"x", 1),
            Checksum::of_with_seed(b"x", 2)
        );
        assert_eq!(Checksum::of(b""), Checksum::of_with_seed(b"", 0));
    }
}
