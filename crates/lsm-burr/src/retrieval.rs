//! [`Retrieval`]: a static function from a set of key hashes to small values.
//!
//! The same bumped ribbon as a filter, with the stored value of each key as the right-hand
//! side of its equation instead of a fingerprint: a query evaluates the layer that holds
//! the key and returns the bits it finds there. For a key of the set that is its value;
//! for any other key it is an arbitrary value of the same width, so the caller must be
//! able to tell (a block that does not hold the key, say). Space is about `value_bits`
//! bits per key plus the filter's overhead of a few tenths of a percent.
#![deny(clippy::indexing_slicing)]

use std::fmt;

use crate::build::{BuildKnobs, build_retrieval};
use crate::filter::{Answer, evaluate};
use crate::hashing::hash;
use crate::layout::Layout;
use crate::policy::{FilterPolicy, RESULT_BITS_MAX, RibbonWidth};
use crate::{Error, Result};

/// How a retrieval structure is built: the bits of each value, the ribbon width and the
/// hash seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetrievalPolicy {
    inner: FilterPolicy,
}

impl RetrievalPolicy {
    /// Values of `value_bits` bits (1 to 32), 64-bit rows, seed 0.
    ///
    /// # Errors
    /// [`Error::InvalidValueBits`] outside `1..=32`.
    pub fn new(value_bits: u32) -> Result<Self> {
        if !(1..=RESULT_BITS_MAX).contains(&value_bits) {
            return Err(Error::InvalidValueBits(value_bits));
        }
        Ok(Self {
            inner: FilterPolicy::from_parts(value_bits, 0.0),
        })
    }

    /// The same policy with another ribbon width.
    #[must_use]
    pub fn with_width(self, width: RibbonWidth) -> Self {
        Self {
            inner: self.inner.with_width(width),
        }
    }

    /// The same policy with another hash seed.
    #[must_use]
    pub fn with_seed(self, seed: u64) -> Self {
        Self {
            inner: self.inner.with_seed(seed),
        }
    }

    /// Bits of each value.
    #[must_use]
    pub fn value_bits(&self) -> u32 {
        self.inner.result_bits
    }
}

/// A built retrieval structure that owns its encoded bytes.
#[derive(Clone)]
pub struct Retrieval {
    bytes: Vec<u8>,
    layout: Layout,
}

impl Retrieval {
    /// Builds the structure mapping each hash to its value. A hash may be given more
    /// than once with the same value.
    ///
    /// # Errors
    /// [`Error::ValueTooWide`] for a value above the policy's bits;
    /// [`Error::ConflictingValues`] for a hash given with two values (two keys whose
    /// hashes collide: the caller decides what such keys retrieve);
    /// [`Error::TooManyKeys`] above 2^40 keys; [`Error::ConstructionFailed`] as for a
    /// filter.
    pub fn build(pairs: &[(u64, u32)], policy: &RetrievalPolicy) -> Result<Self> {
        Self::build_with_knobs(pairs.to_vec(), policy, BuildKnobs::default())
    }

    /// [`Self::build`] from pairs it may reorder and overwrite (no copy of them is made).
    ///
    /// # Errors
    /// As [`Self::build`].
    pub fn build_from_vec(pairs: Vec<(u64, u32)>, policy: &RetrievalPolicy) -> Result<Self> {
        Self::build_with_knobs(pairs, policy, BuildKnobs::default())
    }

    pub(crate) fn build_with_knobs(
        pairs: Vec<(u64, u32)>,
        policy: &RetrievalPolicy,
        knobs: BuildKnobs,
    ) -> Result<Self> {
        let bytes = build_retrieval(pairs, &policy.inner, knobs)?;
        let layout = Layout::decode(&bytes).expect("a structure this build encoded decodes");
        Ok(Self { bytes, layout })
    }

    /// Takes ownership of encoded bytes and parses them.
    ///
    /// # Errors
    /// [`Error::Malformed`] when the bytes are not a whole retrieval structure (a filter
    /// is refused too); [`Error::UnsupportedVersion`] for a newer format.
    pub fn decode(bytes: Vec<u8>) -> Result<Self> {
        let layout = Layout::decode_as(&bytes, true)?;
        Ok(Self { bytes, layout })
    }

    /// The value stored for the key with this hash; for a hash outside the set, an
    /// arbitrary value below `2^value_bits` (0 when the structure is empty).
    #[must_use]
    pub fn get_hash(&self, hash: u64) -> u32 {
        match evaluate(&self.layout, &self.bytes, hash) {
            Answer::Found { bits, .. } => bits,
            Answer::Empty | Answer::Unreadable => 0,
        }
    }

    /// [`Self::get_hash`] of [`crate::hash`] of `key`.
    #[must_use]
    pub fn get(&self, key: &[u8]) -> u32 {
        self.get_hash(hash(key))
    }

    /// Bits of each value.
    #[must_use]
    pub fn value_bits(&self) -> u32 {
        self.layout.result_bits
    }

    /// Number of distinct keys.
    #[must_use]
    pub fn key_count(&self) -> u64 {
        self.layout.key_count
    }

    /// The encoded structure, borrowed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Size of the encoded structure.
    #[must_use]
    pub fn size_in_bytes(&self) -> usize {
        self.bytes.len()
    }
}

impl fmt::Debug for Retrieval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrieval")
            .field("key_count", &self.key_count())
            .field("value_bits", &self.value_bits())
            .field("size_in_bytes", &self.size_in_bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(count: u64, bits: u32, seed: u64) -> Vec<(u64, u32)> {
        let mask = if bits == 32 {
            u32::MAX
        } else {
            (1 << bits) - 1
        };
        (0..count)
            .map(|i| {
                let hash = crate::hashing::mix(i, seed);
                #[expect(clippy::cast_possible_truncation, reason = "masked")]
                let value = (hash >> 20) as u32 & mask;
                (hash, value)
            })
            .collect()
    }

    #[test]
    fn forced_base_retries_keep_every_value() {
        // Little slack in the base layer: attempts fail and reseed; values stay put.
        let knobs = BuildKnobs {
            base_slack_per_64: 0,
            ..BuildKnobs::default()
        };
        for count in [1, 5, 40, 300] {
            let given = pairs(count, 9, count);
            let policy = RetrievalPolicy::new(9).unwrap();
            let built = Retrieval::build_with_knobs(given.clone(), &policy, knobs).unwrap();
            for &(hash, value) in &given {
                assert_eq!(built.get_hash(hash), value, "{count} keys");
            }
        }
    }
}
