//! Per-level policies: one value per level, the last one reused for deeper levels.
//!
//! Every policy is a non-empty list of at most [`POLICY_LEN_MAX`] entries; entry `i`
//! applies to level `i`, and levels past the end use the last entry. Tables are written
//! with the policy of the level they are written to (a flush writes level 0).

use std::fmt;

use lsm_codec::ZstdDictionary;
pub use lsm_table::LocatorPrecision;
use std::ops::Deref;

/// Entries a per-level policy may hold.
pub const POLICY_LEN_MAX: usize = 255;

macro_rules! level_policy {
    ($(#[$doc:meta])* $name:ident, $element:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name(Vec<$element>);

        impl $name {
            /// The same value at every level.
            #[must_use]
            pub fn all(value: $element) -> Self {
                Self(vec![value])
            }

            /// One value per level, the last reused for deeper levels.
            ///
            /// # Panics
            /// When `values` is empty or longer than [`POLICY_LEN_MAX`].
            #[must_use]
            pub fn new(values: impl Into<Vec<$element>>) -> Self {
                let values = values.into();
                assert!(!values.is_empty(), "a per-level policy needs at least one entry");
                assert!(
                    values.len() <= POLICY_LEN_MAX,
                    "a per-level policy holds at most {POLICY_LEN_MAX} entries"
                );
                Self(values)
            }

            /// The value at `level`.
            #[must_use]
            pub fn get(&self, level: usize) -> $element {
                let last = self.0.len() - 1;
                self.0[level.min(last)].clone()
            }
        }

        impl Deref for $name {
            type Target = [$element];

            fn deref(&self) -> &[$element] {
                &self.0
            }
        }
    };
}

level_policy!(
    /// Target uncompressed size of blocks, per level.
    BlockSizePolicy,
    u32
);
level_policy!(
    /// Compression of blocks, per level.
    CompressionPolicy,
    CompressionType
);
level_policy!(
    /// A yes/no switch per level (pinning, partitioning).
    PinningPolicy,
    bool
);
level_policy!(
    /// Entries between restart points of blocks, per level.
    RestartIntervalPolicy,
    u8
);
level_policy!(
    /// In-block hash index buckets per key of data blocks (0 = none), per level.
    HashRatioPolicy,
    f32
);
level_policy!(
    /// The key filter, per level.
    FilterPolicy,
    FilterPolicyEntry
);

level_policy!(
    /// The block locator of tables, per level: a point read that passes the filter
    /// finds its data block through it instead of searching the index.
    LocatorPolicy,
    LocatorPolicyEntry
);

/// The same type under the name its partitioning uses read better with.
pub type PartitioningPolicy = PinningPolicy;

impl CompressionPolicy {
    /// No compression anywhere.
    #[must_use]
    pub fn disabled() -> Self {
        Self::all(CompressionType::None)
    }
}

impl PinningPolicy {
    /// Off at every level.
    #[must_use]
    pub fn disabled() -> Self {
        Self::all(false)
    }
}

impl FilterPolicy {
    /// No filters anywhere.
    #[must_use]
    pub fn disabled() -> Self {
        Self::all(FilterPolicyEntry::None)
    }
}

impl LocatorPolicy {
    /// A locator at block precision at every level (the default), its bits derived
    /// from each table.
    #[must_use]
    pub fn block_level() -> Self {
        Self::all(LocatorPolicyEntry::Enabled {
            precision: LocatorPrecision::Block,
            block_id_bits: None,
            slot_bits: None,
        })
    }

    /// No locator anywhere: point reads search the index.
    #[must_use]
    pub fn disabled() -> Self {
        Self::all(LocatorPolicyEntry::None)
    }
}

impl Default for LocatorPolicy {
    fn default() -> Self {
        Self::block_level()
    }
}

/// The block locator of one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocatorPolicyEntry {
    /// No locator: point reads search the index.
    None,
    /// A locator of this precision. `block_id_bits` fixes the bits of the block number
    /// (`None`: as many as each table needs; a table with more blocks than the fixed
    /// bits count gets no locator); `slot_bits` those of the restart or entry at the
    /// finer precisions (`None`: as many as needed; a slot that does not fit makes its
    /// read search the block; 0 is block precision). Block and slot bits together are at
    /// most 32.
    Enabled {
        /// What a key maps to.
        precision: LocatorPrecision,
        /// Bits of the block number.
        block_id_bits: Option<u8>,
        /// Bits of the slot within the block.
        slot_bits: Option<u8>,
    },
}

impl LocatorPolicyEntry {
    /// The table writer's locator options, or `None` for no locator.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] for 0 or more than 32 block bits, more than 31
    /// slot bits, or more than 32 together.
    pub(crate) fn to_table(self) -> crate::Result<Option<lsm_table::LocatorOptions>> {
        let Self::Enabled {
            precision,
            block_id_bits,
            slot_bits,
        } = self
        else {
            return Ok(None);
        };
        let block = block_id_bits.unwrap_or(1);
        let slot = slot_bits.unwrap_or(0);
        if block == 0 || block > 32 || slot > 31 || u32::from(block) + u32::from(slot) > 32 {
            return Err(crate::Error::InvalidConfig(
                "locator bits: 1 to 32 block bits, at most 31 slot bits, at most 32 together",
            ));
        }
        Ok(Some(lsm_table::LocatorOptions {
            precision,
            block_id_bits,
            slot_bits,
        }))
    }
}

impl Default for FilterPolicy {
    fn default() -> Self {
        Self::all(FilterPolicyEntry::Bloom(BloomConstructionPolicy::default()))
    }
}

/// How blocks (or blob-file frames) are compressed.
///
/// A block is stored compressed only when that makes it smaller. LZ4 is the fast
/// choice (cheap to write and read, about half the gain of zstd on text-like records);
/// zstd at a low level is the default trade-off for cold data; `ZstdDict` uses the
/// dictionary set with [`crate::Config::zstd_dictionary`] (or, for blob files,
/// [`crate::KvSeparationOptions::dict`]), which pays off on small blocks of similar
/// records. Tables store the dictionary they were written with, so a table always opens
/// alone; blob files do not, and need the same dictionary to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressionType {
    /// Stored as is.
    None,
    /// LZ4 (block format).
    Lz4,
    /// zstd at this level (1..=22; negative levels down to -7 trade ratio for speed).
    Zstd(i32),
    /// zstd at `level` with the caller's dictionary, named by its id
    /// ([`crate::ZstdDictionary::id`]): [`crate::Config::open`] checks that the dictionary
    /// set is the one named.
    ZstdDict {
        /// zstd level, as for [`Self::Zstd`].
        level: i32,
        /// The dictionary's id.
        dict_id: u32,
    },
}

/// zstd levels a policy may name.
const ZSTD_LEVELS: std::ops::RangeInclusive<i32> = -7..=22;

impl CompressionType {
    /// zstd at `level`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] outside `-7..=22`.
    pub fn zstd(level: i32) -> crate::Result<Self> {
        check_level(level)?;
        Ok(Self::Zstd(level))
    }

    /// zstd at `level` with the dictionary whose id is `dict_id`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] outside `-7..=22`.
    pub fn zstd_dict(level: i32, dict_id: u32) -> crate::Result<Self> {
        check_level(level)?;
        Ok(Self::ZstdDict { level, dict_id })
    }

    /// The dictionary id this compression names (0 for none).
    #[must_use]
    pub fn dict_id(&self) -> u32 {
        match self {
            Self::ZstdDict { dict_id, .. } => *dict_id,
            Self::None | Self::Lz4 | Self::Zstd(_) => 0,
        }
    }

    /// Checks the level and that `dictionary` is the one a `ZstdDict` names.
    pub(crate) fn validate(self, dictionary: Option<&ZstdDictionary>) -> crate::Result<()> {
        match self {
            Self::None | Self::Lz4 => Ok(()),
            Self::Zstd(level) => check_level(level),
            Self::ZstdDict { level, dict_id } => {
                check_level(level)?;
                let got = dictionary.map(ZstdDictionary::id);
                if got == Some(dict_id) {
                    Ok(())
                } else {
                    Err(crate::Error::ZstdDictMismatch {
                        expected: dict_id,
                        got,
                    })
                }
            }
        }
    }

    /// The codec's compression, with `dictionary` for `ZstdDict` (checked at open to be
    /// the one named; without it, plain zstd).
    pub(crate) fn to_codec(self, dictionary: Option<&ZstdDictionary>) -> lsm_codec::Compression {
        match (self, dictionary) {
            (Self::None, _) => lsm_codec::Compression::None,
            (Self::Lz4, _) => lsm_codec::Compression::Lz4,
            (Self::Zstd(level), _) | (Self::ZstdDict { level, .. }, None) => {
                lsm_codec::Compression::Zstd { level }
            }
            (Self::ZstdDict { level, .. }, Some(dictionary)) => {
                lsm_codec::Compression::zstd_dict(level, dictionary)
            }
        }
    }
}

fn check_level(level: i32) -> crate::Result<()> {
    if ZSTD_LEVELS.contains(&level) {
        Ok(())
    } else {
        Err(crate::Error::InvalidConfig("zstd level outside -7..=22"))
    }
}

impl fmt::Display for CompressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Lz4 => "lz4",
            Self::Zstd(_) => "zstd",
            Self::ZstdDict { .. } => "zstd+dict",
        })
    }
}

/// The filter of one level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FilterPolicyEntry {
    /// No filter.
    None,
    /// A BuRR filter built to this policy (named after the Bloom filter it replaces).
    Bloom(BloomConstructionPolicy),
}

/// How big a filter is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BloomConstructionPolicy {
    /// About this many bits per key.
    BitsPerKey(f32),
    /// About this false-positive rate.
    FalsePositiveRate(f32),
}

impl Default for BloomConstructionPolicy {
    fn default() -> Self {
        Self::BitsPerKey(10.0)
    }
}

impl FilterPolicyEntry {
    /// The BuRR policy, or `None` for no filter.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] for a rate outside `(0, 1)` or a size below one bit.
    pub(crate) fn to_burr(self) -> crate::Result<Option<lsm_burr::FilterPolicy>> {
        let invalid = |_| crate::Error::InvalidConfig("filter policy out of range");
        match self {
            Self::None => Ok(None),
            Self::Bloom(BloomConstructionPolicy::BitsPerKey(bits)) => {
                lsm_burr::FilterPolicy::bits_per_key(f64::from(bits))
                    .map(Some)
                    .map_err(invalid)
            }
            Self::Bloom(BloomConstructionPolicy::FalsePositiveRate(rate)) => {
                lsm_burr::FilterPolicy::fpr(f64::from(rate))
                    .map(Some)
                    .map_err(invalid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeper_levels_reuse_the_last_entry() {
        let policy = BlockSizePolicy::new([4096, 8192]);
        assert_eq!(policy.get(0), 4096);
        assert_eq!(policy.get(1), 8192);
        assert_eq!(policy.get(6), 8192);
        assert_eq!(policy.len(), 2);
    }

    #[test]
    #[should_panic(expected = "at least one entry")]
    fn an_empty_policy_is_refused() {
        let _ = PinningPolicy::new(Vec::new());
    }

    #[test]
    fn filter_policies_map_to_burr_policies() {
        assert!(FilterPolicyEntry::None.to_burr().unwrap().is_none());
        let policy = FilterPolicyEntry::Bloom(BloomConstructionPolicy::FalsePositiveRate(0.01))
            .to_burr()
            .unwrap()
            .unwrap();
        assert!(policy.design_fpr() <= 0.011);
        assert!(
            FilterPolicyEntry::Bloom(BloomConstructionPolicy::FalsePositiveRate(2.0))
                .to_burr()
                .is_err()
        );
        assert!(CompressionType::zstd(23).is_err());
        assert_eq!(CompressionType::zstd(3).unwrap().to_string(), "zstd");
    }
}
