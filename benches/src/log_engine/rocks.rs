//! RocksDB with its WAL on: one column family per keyspace, each with the options the
//! tree-only workloads give RocksDB (`crate::engine::rocks`), sharing one block cache.

use std::path::Path;

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, Options, WriteOptions,
};

use super::LoggedEngine;
use crate::engine::Result;
use crate::settings::{L0_SLOWDOWN_RUNS, L0_STOP_RUNS, Settings};

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

fn int(value: impl TryInto<i32>) -> i32 {
    value.try_into().unwrap_or(i32::MAX)
}

fn family_options(settings: &Settings, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_size(settings.block_bytes as usize);
    table.set_block_cache(cache);
    table.set_bloom_filter(f64::from(settings.filter_bits_per_key), false);
    let mut options = Options::default();
    options.set_block_based_table_factory(&table);
    options.set_compression_type(DBCompressionType::None);
    options.set_write_buffer_size(usize::try_from(settings.memtable_bytes).unwrap_or(usize::MAX));
    options.set_max_write_buffer_number(int(settings.memtable_count));
    options.set_level_zero_file_num_compaction_trigger(i32::from(settings.l0_trigger));
    options.set_level_zero_slowdown_writes_trigger(int(L0_SLOWDOWN_RUNS));
    options.set_level_zero_stop_writes_trigger(int(L0_STOP_RUNS));
    options.set_target_file_size_base(settings.table_bytes);
    options.set_max_bytes_for_level_base(settings.level_base_bytes());
    options.set_max_bytes_for_level_multiplier(f64::from(settings.level_ratio));
    options.set_level_compaction_dynamic_level_bytes(false);
    options
}

impl Rocks {
    /// Opens a database in `dir` with `keyspaces` column families.
    pub fn open(dir: &Path, settings: &Settings, keyspaces: usize) -> Result<Self> {
        let cache =
            Cache::new_lru_cache(usize::try_from(settings.cache_bytes).unwrap_or(usize::MAX));
        let mut db_options = family_options(settings, &cache);
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
            .map(|name| ColumnFamilyDescriptor::new(name, family_options(settings, &cache)));
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
