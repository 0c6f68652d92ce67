//! The settings every engine runs with, matched across engines and printed with the
//! results: memtable size and count, block size, cache size, filter bits per key, the
//! level-0 trigger and table size of leveled compaction, and the level ratio.
//!
//! Two profiles: `default` is the embedded default (64 MiB memtables and tables), and
//! `deep` shrinks memtables and tables so that a few million keys build a tree of four
//! or five levels on a small machine.

use std::fmt;

/// A named set of [`Settings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The embedded default.
    Default,
    /// Small memtables and tables: deep trees from few keys.
    Deep,
}

impl Profile {
    /// The profile called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Self::Default),
            "deep" => Some(Self::Deep),
            _ => None,
        }
    }

    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Deep => "deep",
        }
    }

    /// The profile's settings.
    pub fn settings(self) -> Settings {
        let base = Settings {
            memtable_bytes: 64 << 20,
            memtable_count: 4,
            block_bytes: 4096,
            cache_bytes: 16 << 20,
            filter_bits_per_key: 10.0,
            our_filter_bits_per_key: None,
            l0_trigger: 4,
            table_bytes: 64 << 20,
            level_ratio: 10.0,
            blob_threshold: None,
            our_compression: OurCompression::None,
            our_encryption: false,
            our_custom_order: false,
            our_row_cache: false,
            our_route: None,
            our_locator: Some(lsm::config::LocatorPrecision::Block),
        };
        match self {
            Self::Default => base,
            Self::Deep => Settings {
                memtable_bytes: 4 << 20,
                table_bytes: 2 << 20,
                ..base
            },
        }
    }
}

/// What every engine is configured with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Bytes of one memtable before it is sealed for a flush.
    pub memtable_bytes: u64,
    /// Memtables in memory at most, the active one included; writers wait beyond.
    pub memtable_count: usize,
    /// Target uncompressed size of data blocks.
    pub block_bytes: u32,
    /// Block cache capacity.
    pub cache_bytes: u64,
    /// Key filter size.
    pub filter_bits_per_key: f32,
    /// Our filter size, where it differs from the peers' (to compare filter memory at
    /// an equal false-positive rate: `--lsm-filter-bits`).
    pub our_filter_bits_per_key: Option<f32>,
    /// Level-0 runs (files) that trigger a merge into level 1.
    pub l0_trigger: u8,
    /// Target size of a compaction's output tables.
    pub table_bytes: u64,
    /// Size ratio between adjacent levels.
    pub level_ratio: f32,
    /// Key-value separation: values of at least this many bytes go to blob files
    /// (each engine's own: our blob tree, RocksDB's BlobDB, the peers' blob trees),
    /// with blob garbage collection on. `None` keeps every value in the tables.
    pub blob_threshold: Option<u32>,
    /// Our data-block compression (the peers' builds have no compression library).
    pub our_compression: OurCompression,
    /// Whether our tables and blob files are encrypted (AES-256-GCM; RocksDB has no
    /// built-in encryption to compare with).
    pub our_encryption: bool,
    /// Whether our tree orders its keys through a comparator (the bytes' order, by a
    /// dynamic call): what a custom comparator costs.
    pub our_custom_order: bool,
    /// Whether a quarter of our cache answers point reads by key (the row cache).
    pub our_row_cache: bool,
    /// Our levels from this one down live in a level route (the directory `cold/`
    /// inside the tree's, on the same disk): what routing costs.
    pub our_route: Option<u8>,
    /// Our block locator's precision (`None`: no locator; the default: block).
    pub our_locator: Option<lsm::config::LocatorPrecision>,
}

/// Our data-block compression in a run (`--compression`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OurCompression {
    /// None, as the peers.
    None,
    /// LZ4.
    Lz4,
    /// zstd at level 3.
    Zstd,
}

impl OurCompression {
    /// Parses `none`, `lz4` or `zstd`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "lz4" => Some(Self::Lz4),
            "zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    /// The flag's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// As a facade setting.
    pub fn to_lsm(self) -> lsm::CompressionType {
        match self {
            Self::None => lsm::CompressionType::None,
            Self::Lz4 => lsm::CompressionType::Lz4,
            Self::Zstd => lsm::CompressionType::Zstd(3),
        }
    }
}

impl Settings {
    /// Our filter's bits per key.
    pub fn our_filter_bits(&self) -> f32 {
        self.our_filter_bits_per_key
            .unwrap_or(self.filter_bits_per_key)
    }

    /// The target size of level 1: `l0_trigger` tables.
    pub fn level_base_bytes(&self) -> u64 {
        self.table_bytes * u64::from(self.l0_trigger)
    }

    /// Sealed memtables from which writers slow down.
    pub fn sealed_slowdown(&self) -> usize {
        self.memtable_count.saturating_sub(2).max(1)
    }

    /// Sealed memtables from which writers wait.
    pub fn sealed_stop(&self) -> usize {
        self.memtable_count.saturating_sub(1).max(1)
    }
}

/// The separation threshold of the blob workloads (every engine's default).
pub const BLOB_THRESHOLD_BYTES: u32 = 1024;
/// Target size of blob files (every engine's default but RocksDB's 256 MiB).
pub const BLOB_FILE_BYTES: u64 = 64 << 20;
/// Blob garbage collection: files with this dead share are collected (RocksDB's
/// BlobDB has no such trigger and collects by age only).
pub const BLOB_STALENESS: f32 = 0.25;
/// Blob garbage collection: the oldest share of blob files relocated by compactions.
pub const BLOB_AGE_CUTOFF: f32 = 0.25;

/// The key-value separation settings of the blob workloads, in words.
pub fn blob_note(threshold: u32) -> String {
    format!(
        "values from {threshold} B in blob files of {} MiB, uncompressed, garbage collection \
         of files {BLOB_STALENESS} dead (lsm, fjall-lsm-tree, coordinode) or in the oldest \
         {BLOB_AGE_CUTOFF} (every engine)",
        BLOB_FILE_BYTES >> 20,
    )
}

/// Level-0 runs from which writers slow down (RocksDB's default, used by every engine).
pub const L0_SLOWDOWN_RUNS: usize = 20;
/// Level-0 runs from which writers wait.
pub const L0_STOP_RUNS: usize = 36;

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
        write!(
            f,
            "no WAL; memtable {:.0} MiB x {} (writers slow at {} sealed, wait at {}); \
             {} B blocks, no compression; {:.0} MiB block cache; {} bits/key filters; \
             leveled: L0 trigger {}, slowdown {L0_SLOWDOWN_RUNS}, stop {L0_STOP_RUNS}, \
             tables {:.0} MiB, L1 {:.0} MiB, ratio {}; one flush and one compaction thread{}",
            mib(self.memtable_bytes),
            self.memtable_count,
            self.sealed_slowdown(),
            self.sealed_stop(),
            self.block_bytes,
            mib(self.cache_bytes),
            self.filter_bits_per_key,
            self.l0_trigger,
            mib(self.table_bytes),
            mib(self.level_base_bytes()),
            self.level_ratio,
            self.our_filter_bits_per_key
                .map_or_else(String::new, |bits| format!(
                    "; lsm's filters {bits} bits/key"
                )),
        )?;
        if let Some(threshold) = self.blob_threshold {
            write!(f, "; {}", blob_note(threshold))?;
        }
        if self.our_compression != OurCompression::None {
            write!(f, "; lsm's data blocks {}", self.our_compression.name())?;
        }
        if self.our_encryption {
            write!(f, "; lsm encrypted (AES-256-GCM)")?;
        }
        if self.our_custom_order {
            write!(f, "; lsm keys ordered through a comparator")?;
        }
        if self.our_row_cache {
            write!(f, "; lsm row cache on (a quarter of its cache)")?;
        }
        if let Some(level) = self.our_route {
            write!(f, "; lsm levels {level}+ in a level route")?;
        }
        match self.our_locator {
            Some(lsm::config::LocatorPrecision::Block) => {}
            Some(precision) => write!(f, "; lsm block locator at {precision:?} precision")?,
            None => write!(f, "; lsm without block locators")?,
        }
        Ok(())
    }
}
