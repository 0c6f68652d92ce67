//! RocksDB with its WAL on: one column family per keyspace, each with the options the
//! tree-only workloads give RocksDB's tree (`crate::engine::rocks_tree_options`),
//! sharing one block cache.

use std::path::Path;

use rocksdb::{Cache, ColumnFamilyDescriptor, DB, WriteOptions};

use super::LoggedEngine;
use crate::engine::{Result, rocks_tree_options};
use crate::settings::Settings;

/// An open database, its column family names, and the two write modes.
pub struct Rocks {
    db: DB,
    names: Vec<String>,
    buffered: WriteOptions,
    synced: WriteOptions,
    _cache: Cache,
}

fn text(error: rocksdb::Error) -> String {
    error.into_string()
}

impl Rocks {
    /// Opens a database in `dir` with `keyspaces` column families.
    pub fn open(dir: &Path, settings: &Settings, keyspaces: usize) -> Result<Self> {
        let cache =
            Cache::new_lru_cache(usize::try_from(settings.cache_bytes).unwrap_or(usize::MAX));
        let mut db_options = rocks_tree_options(settings, &cache);
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.set_max_background_jobs(2);
        db_options.set_stats_dump_period_sec(0);
        db_options.set_keep_log_file_num(1);
        // The write-buffer budget all families share, as ours and fjall's.
        db_options.set_db_write_buffer_size(
            usize::try_from(settings.memtable_bytes * settings.memtable_count as u64)
                .unwrap_or(usize::MAX),
        );
        let names: Vec<String> = (0..keyspaces).map(|idx| format!("ks{idx}")).collect();
        let families = names
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(name, rocks_tree_options(settings, &cache)));
        let db = DB::open_cf_descriptors(&db_options, dir, families).map_err(text)?;
        let buffered = WriteOptions::default();
        let mut synced = WriteOptions::default();
        synced.set_sync(true);
        Ok(Self {
            db,
            names,
            buffered,
            synced,
            _cache: cache,
        })
    }
}

impl LoggedEngine for Rocks {
    fn put(&self, keyspace: usize, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let family = self
            .db
            .cf_handle(&self.names[keyspace])
            .ok_or_else(|| format!("no column family {keyspace}"))?;
        let options = if sync { &self.synced } else { &self.buffered };
        self.db
            .put_cf_opt(&family, key, value, options)
            .map_err(text)
    }
}
