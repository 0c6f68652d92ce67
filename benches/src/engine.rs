//! The engines under test behind one trait, so that every workload runs the same code
//! on each: ours, and with the `peers` feature RocksDB, fjall's lsm-tree and
//! coordinode-lsm-tree.
//!
//! Each engine is opened with the same [`Settings`] and a counter merge operator
//! ([`counter_merge`]: 8-byte little-endian operands summed onto the base). Background
//! work (flushes, compactions, write stalls) runs as each engine's own embedded default
//! does it: ours and RocksDB on their own threads; the lsm-tree-family peers, which have
//! no threads of their own, through the `family_driver` module with the same thread counts and
//! stall limits.

#[cfg(feature = "peers")]
mod coordinode;
#[cfg(feature = "peers")]
mod family;
#[cfg(feature = "peers")]
mod family_driver;
#[cfg(feature = "peers")]
mod fjall;
mod ours;
#[cfg(feature = "peers")]
mod rocks;

#[cfg(feature = "peers")]
pub use rocks::tree_options as rocks_tree_options;

use std::path::Path;

use crate::settings::Settings;

/// An engine's failure, as text (the bench tool only reports it).
pub type Result<T, E = String> = std::result::Result<T, E>;

/// The engines this build can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// This workspace's `lsm`.
    Ours,
    /// RocksDB through the `rocksdb` crate (bundled source, release build).
    RocksDb,
    /// fjall's `lsm-tree`.
    Fjall,
    /// `coordinode-lsm-tree`.
    Coordinode,
}

impl EngineKind {
    /// Every engine this build has, ours first.
    pub fn available() -> Vec<Self> {
        let mut kinds = vec![Self::Ours];
        if cfg!(feature = "peers") {
            kinds.extend([Self::RocksDb, Self::Fjall, Self::Coordinode]);
        }
        kinds
    }

    /// The engine's name in tables and files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ours => "lsm",
            Self::RocksDb => "rocksdb",
            Self::Fjall => "fjall-lsm-tree",
            Self::Coordinode => "coordinode",
        }
    }

    /// The engine called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Ours, Self::RocksDb, Self::Fjall, Self::Coordinode]
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    /// The engine's version and any settings of its own, for the report.
    pub fn description(self) -> &'static str {
        match self {
            Self::Ours => "this workspace; BuRR filters, background maintenance",
            Self::RocksDb => {
                "rocksdb crate 0.25 (bundled RocksDB, release build with NDEBUG); statistics on; \
                 dynamic level bytes off; index and filter blocks outside the cache (its default)"
            }
            Self::Fjall => {
                "lsm-tree 3.1.10; Bloom filters; driven by the bench's flush and compaction threads"
            }
            Self::Coordinode => {
                "coordinode-lsm-tree 5.6.0; Bloom filters; driven by the bench's flush and compaction threads"
            }
        }
    }

    /// Opens the engine in `dir` (which must not exist yet, or be empty).
    ///
    /// # Errors
    /// When the engine cannot open, or was not built (`peers` off).
    pub fn open(self, dir: &Path, settings: &Settings) -> Result<Box<dyn Engine>> {
        match self {
            Self::Ours => Ok(Box::new(ours::Ours::open(dir, settings)?)),
            #[cfg(feature = "peers")]
            Self::RocksDb => Ok(Box::new(rocks::Rocks::open(dir, settings)?)),
            #[cfg(feature = "peers")]
            Self::Fjall => Ok(Box::new(fjall::open(dir, settings)?)),
            #[cfg(feature = "peers")]
            Self::Coordinode => Ok(Box::new(coordinode::open(dir, settings)?)),
            #[cfg(not(feature = "peers"))]
            _ => Err(format!(
                "{} needs the peers feature (cargo xtask bench --peers)",
                self.name()
            )),
        }
    }
}

/// What a workload needs that not every engine has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Merge operands folded by an operator.
    Merge,
    /// Range tombstones.
    RangeDelete,
    /// A change stream: every version written since a seqno, read from the tree.
    ChangeScan,
}

/// Block cache counters since the engine opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Lookups that found the block.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
}

/// Filter outcomes of point reads since the engine opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterProbes {
    /// Probes the filter answered "absent" for.
    pub rejected: u64,
    /// Probes the filter passed for a key the table did not hold.
    pub false_positives: u64,
}

/// Work counters since the engine opened, where the engine keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkCounters {
    /// Table blocks (data, index, filter, ...) read from files: not from a cache.
    pub block_reads: u64,
    /// Time writers waited at stop limits or slept at slowdown limits, nanoseconds.
    pub stall_nanos: u64,
}

/// One engine, opened. Writes are not logged (no WAL anywhere); reads see every write
/// made before them.
pub trait Engine: Send + Sync {
    /// Whether the engine can run workloads that need `capability`.
    fn supports(&self, capability: Capability) -> bool;

    /// Writes `value` under `key`, waiting first if background work has fallen behind.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()>;

    /// Deletes `key`.
    fn delete(&self, key: &[u8]) -> Result<()>;

    /// Deletes `[start, end)` with one range tombstone.
    fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()>;

    /// Adds a merge operand to `key`.
    fn merge(&self, key: &[u8], operand: &[u8]) -> Result<()>;

    /// The length of the value of `key`, if it has one.
    fn get(&self, key: &[u8]) -> Result<Option<usize>>;

    /// The value of `key`, if it has one.
    fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Seeks to the first key at or after `key` and reads up to `count` entries;
    /// returns how many it read.
    fn seek(&self, key: &[u8], count: usize) -> Result<usize>;

    /// Reads every entry in key order (`reverse`: from the last); returns entries and
    /// their key and value bytes.
    fn scan(&self, reverse: bool) -> Result<(u64, u64)>;

    /// Makes every write durable and waits until background compaction has nothing
    /// left to do.
    fn settle(&self) -> Result<()>;

    /// Merges everything into the last level, dropping what no read can see.
    fn major_compact(&self) -> Result<()>;

    /// Block cache counters, if the engine exposes them.
    fn cache_counters(&self) -> Option<CacheCounters>;

    /// Bytes of key filters in the engine's tables, if it exposes them.
    fn filter_bytes(&self) -> Option<u64>;

    /// Filter outcomes since the engine opened, if the engine counts them.
    fn filter_probes(&self) -> Option<FilterProbes>;

    /// Block reads and stall time since the engine opened, if the engine counts them.
    fn work_counters(&self) -> Option<WorkCounters> {
        None
    }

    /// Loads the entries `fill` passes to its sink (in ascending key order) through
    /// the engine's bulk path: straight into table files, registered at once.
    fn bulk_load(&self, fill: &mut BulkFill<'_>) -> Result<()>;

    /// The seqno the next write gets: what [`Engine::scan_since`] takes to return the
    /// writes made from now on. From this call on, flushes and compactions keep the
    /// history from the mark (their GC watermark stays at it, as a change consumer
    /// holds it), so that the scan replays every write. Meaningful only with
    /// [`Capability::ChangeScan`].
    fn change_mark(&self) -> u64;

    /// Reads every version written at seqno `mark` or later (`full`: reading every
    /// block, trusting no recorded seqno bounds); returns the events and their key and
    /// value bytes.
    fn scan_since(&self, mark: u64, full: bool) -> Result<(u64, u64)>;
}

/// What [`Engine::bulk_load`] calls with the engine's sink for one entry.
pub type BulkFill<'a> = dyn FnMut(&mut dyn FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> + 'a;

/// The counter merge operator every engine runs: operands and the base are 8-byte
/// little-endian integers, summed (wrapping). Malformed input is `None`.
pub fn counter_merge<'a>(
    base: Option<&[u8]>,
    operands: impl IntoIterator<Item = &'a [u8]>,
) -> Option<u64> {
    let parse = |bytes: &[u8]| bytes.try_into().ok().map(u64::from_le_bytes);
    let mut sum = match base {
        Some(bytes) => parse(bytes)?,
        None => 0,
    };
    for operand in operands {
        sum = sum.wrapping_add(parse(operand)?);
    }
    Some(sum)
}

/// Entries and key-plus-value bytes of a scan's `pairs`, in order or reversed.
///
/// # Errors
/// The first error among `pairs`.
pub fn scan_totals<K: AsRef<[u8]>, V: AsRef<[u8]>, E>(
    mut pairs: impl DoubleEndedIterator<Item = Result<(K, V), E>>,
    reverse: bool,
) -> Result<(u64, u64), E> {
    let add = |(entries, bytes): (u64, u64), pair: Result<(K, V), E>| {
        let (key, value) = pair?;
        Ok((
            entries + 1,
            bytes + (key.as_ref().len() + value.as_ref().len()) as u64,
        ))
    };
    if reverse {
        pairs.rev().try_fold((0, 0), add)
    } else {
        pairs.try_fold((0, 0), add)
    }
}
