//! RocksDB as a peer, through the `rocksdb` crate: the bundled C++ source built in
//! release mode (NDEBUG), with the matched settings: WAL off on every write, the memtable
//! size and count, 4 KiB blocks in an LRU cache of the matched size, full 10-bit Bloom
//! filters, no compression, leveled compaction with the same L0 trigger, slowdown and
//! stop limits, table size, level-1 size and ratio (dynamic level sizing off, as in the
//! other engines), and two background jobs (one flush, one compaction). Statistics are
//! on, for the block cache and filter counters.

use std::path::Path;
use std::time::Duration;

use rocksdb::{
    BlockBasedOptions, BottommostLevelCompaction, Cache, CompactOptions, DB, DBCompressionType,
    MergeOperands, Options, WriteBatch, WriteOptions, statistics::Ticker,
};

use super::{CacheCounters, Capability, Engine, FilterProbes, Result, counter_merge};
use crate::settings::{BLOB_AGE_CUTOFF, BLOB_FILE_BYTES, L0_SLOWDOWN_RUNS, L0_STOP_RUNS, Settings};

/// How often `settle` looks at the background work.
const SETTLE_POLL: Duration = Duration::from_millis(10);

/// An open RocksDB and the options that hold its statistics.
pub struct Rocks {
    db: DB,
    options: Options,
    write: WriteOptions,
    /// Kept alive for the database's lifetime.
    _cache: Cache,
}

fn text(error: rocksdb::Error) -> String {
    error.into_string()
}

fn full_merge(_key: &[u8], base: Option<&[u8]>, operands: &MergeOperands) -> Option<Vec<u8>> {
    counter_merge(base, operands.iter()).map(|sum| sum.to_le_bytes().to_vec())
}

fn int(value: impl TryInto<i32>) -> i32 {
    value.try_into().unwrap_or(i32::MAX)
}

/// The matched settings of one tree (a column family): blocks in `cache`, filters,
/// no compression, memtables, level 0's limits and leveled sizing.
pub fn tree_options(settings: &Settings, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_size(settings.block_bytes as usize);
    table.set_block_cache(cache);
    table.set_bloom_filter(f64::from(settings.filter_bits_per_key), false);
    let mut options = Options::default();
    options.set_block_based_table_factory(&table);
    options.set_compression_type(DBCompressionType::None);
    options.set_write_buffer_size(usize::try_from(settings.memtable_bytes).unwrap_or(usize::MAX));
    options.set_max_write_buffer_number(int(settings.memtable_count));
    options.set_min_write_buffer_number_to_merge(1);
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
    /// Opens a database in `dir` with `settings`.
    pub fn open(dir: &Path, settings: &Settings) -> Result<Self> {
        let cache =
            Cache::new_lru_cache(usize::try_from(settings.cache_bytes).unwrap_or(usize::MAX));
        let mut options = tree_options(settings, &cache);
        options.create_if_missing(true);
        options.set_max_background_jobs(2);
        options.set_stats_dump_period_sec(0);
        options.set_keep_log_file_num(1);
        options.enable_statistics();
        options.set_merge_operator_associative("counter", full_merge);
        if let Some(threshold) = settings.blob_threshold {
            // BlobDB: separation and garbage collection (by age; it has no staleness
            // trigger), blob files of the matched size, uncompressed.
            options.set_enable_blob_files(true);
            options.set_min_blob_size(u64::from(threshold));
            options.set_blob_file_size(BLOB_FILE_BYTES);
            options.set_blob_compression_type(DBCompressionType::None);
            options.set_enable_blob_gc(true);
            options.set_blob_gc_age_cutoff(f64::from(BLOB_AGE_CUTOFF));
        }
        let db = DB::open(&options, dir).map_err(text)?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(Self {
            db,
            options,
            write,
            _cache: cache,
        })
    }

    fn property(&self, name: &str) -> Result<u64> {
        self.db
            .property_int_value(name)
            .map_err(text)?
            .ok_or_else(|| format!("rocksdb has no property {name}"))
    }
}

impl Engine for Rocks {
    /// One external table written with `SstFileWriter` and moved in by
    /// `IngestExternalFile` (RocksDB places it in the lowest level it fits).
    fn bulk_load(&self, fill: &mut super::BulkFill<'_>) -> Result<()> {
        let path = self.db.path().join("bulk-load.sst");
        let writer = rocksdb::SstFileWriter::create(&self.options);
        let mut writer = writer;
        writer.open(&path).map_err(text)?;
        fill(&mut |key, value| writer.put(key, value).map_err(text))?;
        writer.finish().map_err(text)?;
        let mut ingest = rocksdb::IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        self.db
            .ingest_external_file_opts(&ingest, vec![&path])
            .map_err(text)
    }

    fn supports(&self, capability: Capability) -> bool {
        // Its change stream (`GetUpdatesSince`) reads the write-ahead log, which the
        // bench turns off; it has none over the tables.
        capability != Capability::ChangeScan
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db.put_opt(key, value, &self.write).map_err(text)
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.db.delete_opt(key, &self.write).map_err(text)
    }

    fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        // The default column family has no handle in a single-threaded DB: a batch
        // addresses it.
        let mut batch = WriteBatch::default();
        batch.delete_range(start, end);
        self.db.write_opt(batch, &self.write).map_err(text)
    }

    fn merge(&self, key: &[u8], operand: &[u8]) -> Result<()> {
        self.db.merge_opt(key, operand, &self.write).map_err(text)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        self.db
            .get_pinned(key)
            .map(|value| value.map(|value| value.len()))
            .map_err(text)
    }

    fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.get(key).map_err(text)
    }

    fn seek(&self, key: &[u8], count: usize) -> Result<usize> {
        let mut iter = self.db.raw_iterator();
        iter.seek(key);
        let mut read = 0;
        while read < count && iter.valid() {
            std::hint::black_box((iter.key(), iter.value()));
            read += 1;
            iter.next();
        }
        iter.status().map_err(text)?;
        Ok(read)
    }

    fn scan(&self, reverse: bool) -> Result<(u64, u64)> {
        let mut iter = self.db.raw_iterator();
        if reverse {
            iter.seek_to_last();
        } else {
            iter.seek_to_first();
        }
        let mut totals = (0, 0);
        while iter.valid() {
            let bytes = iter.key().map_or(0, <[u8]>::len) + iter.value().map_or(0, <[u8]>::len);
            totals.0 += 1;
            totals.1 += bytes as u64;
            if reverse {
                iter.prev();
            } else {
                iter.next();
            }
        }
        iter.status().map_err(text)?;
        Ok(totals)
    }

    fn settle(&self) -> Result<()> {
        self.db.flush().map_err(text)?;
        while self.property("rocksdb.compaction-pending")? > 0
            || self.property("rocksdb.num-running-compactions")? > 0
            || self.property("rocksdb.num-running-flushes")? > 0
        {
            std::thread::sleep(SETTLE_POLL);
        }
        Ok(())
    }

    fn major_compact(&self) -> Result<()> {
        self.settle()?;
        let mut options = CompactOptions::default();
        options.set_exclusive_manual_compaction(true);
        options.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        self.db
            .compact_range_opt(None::<&[u8]>, None::<&[u8]>, &options);
        Ok(())
    }

    fn cache_counters(&self) -> Option<CacheCounters> {
        Some(CacheCounters {
            hits: self.options.get_ticker_count(Ticker::BlockCacheHit),
            misses: self.options.get_ticker_count(Ticker::BlockCacheMiss),
        })
    }

    fn filter_bytes(&self) -> Option<u64> {
        let properties = self
            .db
            .property_value("rocksdb.aggregated-table-properties")
            .ok()??;
        properties
            .split(';')
            .find_map(|field| field.trim().strip_prefix("filter block size="))
            .and_then(|value| value.trim().parse().ok())
    }

    fn change_mark(&self) -> u64 {
        self.db.latest_sequence_number()
    }

    fn scan_since(&self, _mark: u64, _full: bool) -> Result<(u64, u64)> {
        Err("RocksDB has no change scan over its tables".to_owned())
    }

    fn filter_probes(&self) -> Option<FilterProbes> {
        let positives = self
            .options
            .get_ticker_count(Ticker::BloomFilterFullPositive);
        let true_positives = self
            .options
            .get_ticker_count(Ticker::BloomFilterFullTruePositive);
        Some(FilterProbes {
            rejected: self.options.get_ticker_count(Ticker::BloomFilterUseful),
            false_positives: positives.saturating_sub(true_positives),
        })
    }
}
