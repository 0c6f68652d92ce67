//! Engines with their own write-ahead log, for the `*-log` workloads: our
//! `lsm::Database`, RocksDB with its WAL on, and fjall 3 (the `fjall` crate, its
//! journal). The tree-only peer (coordinode-lsm-tree) has no log and skips them.
//!
//! Each opens `keyspaces` keyspaces (column families in RocksDB) with the matched
//! settings of the other workloads (memtable size, block size and cache, filter bits,
//! no compression, leveled compaction), one block cache shared by all of them.
//! A write is handed to the operating system when `put` returns (each engine's
//! default: our `Durability::Flush`, RocksDB's unsynced WAL write, fjall's journal
//! flushed to OS buffers), or synced to disk when asked.

#[cfg(feature = "peers")]
mod fjall;
mod ours;
#[cfg(feature = "peers")]
mod rocks;

use std::path::Path;

use crate::engine::{EngineKind, Result};
use crate::settings::Settings;

/// One engine with a log, opened.
pub trait LoggedEngine: Send + Sync {
    /// Writes `value` under `key` in keyspace `keyspace` (below the count it was
    /// opened with); with `sync`, durable on disk when it returns.
    fn put(&self, keyspace: usize, key: &[u8], value: &[u8], sync: bool) -> Result<()>;
}

/// Opens `kind`'s logged engine in `dir` with `keyspaces` keyspaces.
///
/// # Errors
/// When the engine cannot open, has no log, or was not built (`peers` off).
pub fn open(
    kind: EngineKind,
    dir: &Path,
    settings: &Settings,
    keyspaces: usize,
) -> Result<Box<dyn LoggedEngine>> {
    match kind {
        EngineKind::Ours => Ok(Box::new(ours::Ours::open(dir, settings, keyspaces)?)),
        #[cfg(feature = "peers")]
        EngineKind::RocksDb => Ok(Box::new(rocks::Rocks::open(dir, settings, keyspaces)?)),
        #[cfg(feature = "peers")]
        EngineKind::Fjall => Ok(Box::new(fjall::Fjall::open(dir, settings, keyspaces)?)),
        EngineKind::Coordinode => Err("coordinode-lsm-tree has no write-ahead log".to_owned()),
        #[cfg(not(feature = "peers"))]
        _ => Err(format!(
            "{} needs the peers feature (cargo xtask bench --peers)",
            kind.name()
        )),
    }
}
