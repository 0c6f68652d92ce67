//! Our engine: an `lsm` tree with background maintenance (one flush thread, one
//! compaction thread running leveled compaction, write stalls), BuRR filters at the
//! matched bits per key, no compression (`--compression`, `--encrypt` and
//! `--custom-order` change ours),
//! and its own block cache.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use lsm::background::{MaintenanceOptions, WatermarkFn};
use lsm::compaction::{CompactionAction, Leveled};
use lsm::config::{
    BlockSizePolicy, BloomConstructionPolicy, CompressionPolicy, FilterPolicy, FilterPolicyEntry,
    LocatorPolicy, LocatorPolicyEntry,
};
use lsm::{
    AbstractTree, AnyTree, Cache, Config, Guard, KvSeparationOptions, SequenceNumberCounter,
};

use super::{CacheCounters, Capability, Engine, Result, counter_merge, scan_totals};
use crate::settings::{
    BLOB_AGE_CUTOFF, BLOB_FILE_BYTES, BLOB_STALENESS, L0_SLOWDOWN_RUNS, L0_STOP_RUNS, Settings,
};

/// An `lsm` tree and its seqno counter.
pub struct Ours {
    tree: AnyTree,
    seqno: SequenceNumberCounter,
    /// The oldest seqno whose history flushes and compactions keep: the mark of a
    /// change scan to come (`u64::MAX` when none is).
    history_floor: Arc<AtomicU64>,
    /// The GC watermark of flushes and compactions, background or settled.
    watermark: WatermarkFn,
    cache: Arc<Cache>,
    strategy: Arc<Leveled>,
    table_bytes: u64,
}

/// The counter merge operator in `lsm`'s terms.
struct Counter;

impl lsm::MergeOperator for Counter {
    fn merge(
        &self,
        _key: &[u8],
        base: Option<&[u8]>,
        operands: &[&[u8]],
    ) -> lsm::Result<lsm::UserValue> {
        counter_merge(base, operands.iter().copied())
            .map(|sum| sum.to_le_bytes().to_vec().into())
            .ok_or(lsm::Error::MergeOperator)
    }
}

#[expect(clippy::needless_pass_by_value, reason = "used as map_err(text)")]
fn text(error: lsm::Error) -> String {
    error.to_string()
}

impl Ours {
    /// Opens a tree in `dir` with `settings`.
    pub fn open(dir: &Path, settings: &Settings) -> Result<Self> {
        let seqno = SequenceNumberCounter::default();
        let cache = Arc::new(
            Cache::with_capacity_bytes(settings.cache_bytes).with_row_cache(settings.our_row_cache),
        );
        let strategy = Arc::new(
            Leveled::default()
                .with_l0_threshold(settings.l0_trigger)
                .with_table_target_size(settings.table_bytes)
                .with_level_ratio_policy(vec![settings.level_ratio]),
        );
        let history_floor = Arc::new(AtomicU64::new(u64::MAX));
        // The next seqno, held at the mark of a change scan to come.
        let watermark: WatermarkFn = {
            let (seqno, floor) = (seqno.clone(), Arc::clone(&history_floor));
            Arc::new(move || seqno.get().min(floor.load(AtomicOrdering::Acquire)))
        };
        let config = Config::new(dir, seqno.clone(), SequenceNumberCounter::default());
        let config = if settings.our_custom_order {
            config.comparator(Arc::new(lsm_testkit::orders::BytesThroughComparator))
        } else {
            config
        };
        let config = config.locator_policy(match settings.our_locator {
            Some(precision) => LocatorPolicy::all(LocatorPolicyEntry::Enabled {
                precision,
                block_id_bits: None,
                slot_bits: None,
            }),
            None => LocatorPolicy::disabled(),
        });
        let config = match settings.our_route {
            Some(level) => config.level_route(level, dir.join("cold")),
            None => config,
        };
        let tree = config
            .use_cache(Arc::clone(&cache))
            .data_block_size_policy(BlockSizePolicy::all(settings.block_bytes))
            .data_block_compression_policy(CompressionPolicy::all(
                settings.our_compression.to_lsm(),
            ))
            .with_encryption(settings.our_encryption.then(|| {
                Arc::new(lsm::Aes256GcmProvider::new(&[0x42; 32]))
                    as Arc<dyn lsm::EncryptionProvider>
            }))
            .filter_policy(FilterPolicy::all(FilterPolicyEntry::Bloom(
                BloomConstructionPolicy::BitsPerKey(settings.our_filter_bits()),
            )))
            .with_merge_operator(Some(Arc::new(Counter)))
            .with_kv_separation(settings.blob_threshold.map(|threshold| {
                KvSeparationOptions::default()
                    .separation_threshold(threshold)
                    .file_target_size(BLOB_FILE_BYTES)
                    .staleness_threshold(BLOB_STALENESS)
                    .age_cutoff(BLOB_AGE_CUTOFF)
            }))
            .compaction_threads(1)
            .with_background_maintenance(Some(MaintenanceOptions {
                memtable_size_bytes: settings.memtable_bytes,
                strategy: Arc::clone(&strategy) as Arc<dyn lsm::compaction::CompactionStrategy>,
                gc_watermark: Arc::clone(&watermark),
                // RocksDB runs two background jobs: one flush, one compaction.
                compaction_jobs: 1,
                sealed_slowdown: settings.sealed_slowdown(),
                sealed_stop: settings.sealed_stop(),
                l0_slowdown_runs: L0_SLOWDOWN_RUNS,
                l0_stop_runs: L0_STOP_RUNS,
                slowdown_rate: None,
            }))
            .open()
            .map_err(text)?;
        Ok(Self {
            tree,
            seqno,
            history_floor,
            watermark,
            cache,
            strategy,
            table_bytes: settings.table_bytes,
        })
    }

    /// The GC watermark now.
    fn watermark(&self) -> u64 {
        (self.watermark)()
    }
}

impl Engine for Ours {
    fn bulk_load(&self, fill: &mut super::BulkFill<'_>) -> Result<()> {
        let mut ingestion = self.tree.ingestion().map_err(text)?;
        fill(&mut |key, value| ingestion.write(key, value).map_err(text))?;
        ingestion.finish().map_err(text)
    }

    fn supports(&self, _capability: Capability) -> bool {
        true
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.tree
            .try_insert(key, value, self.seqno.next())
            .map(drop)
            .map_err(text)
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.tree
            .try_remove(key, self.seqno.next())
            .map(drop)
            .map_err(text)
    }

    fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        self.tree
            .try_remove_range(start, end, self.seqno.next())
            .map(drop)
            .map_err(text)
    }

    fn merge(&self, key: &[u8], operand: &[u8]) -> Result<()> {
        self.tree
            .try_merge(key, operand, self.seqno.next())
            .map(drop)
            .map_err(text)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        self.tree
            .get_pinned(key, self.seqno.get())
            .map(|value| value.map(|value| value.len()))
            .map_err(text)
    }

    fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.tree
            .get(key, self.seqno.get())
            .map(|value| value.map(|value| value.to_vec()))
            .map_err(text)
    }

    fn seek(&self, key: &[u8], count: usize) -> Result<usize> {
        let mut read = 0;
        for item in self.tree.range(key.., self.seqno.get(), None).take(count) {
            item.key().map_err(text)?;
            read += 1;
        }
        Ok(read)
    }

    fn scan(&self, reverse: bool) -> Result<(u64, u64)> {
        let pairs = self
            .tree
            .iter(self.seqno.get(), None)
            .map(Guard::into_inner);
        scan_totals(pairs, reverse).map_err(text)
    }

    fn settle(&self) -> Result<()> {
        self.tree.write_admission().map_err(text)?;
        self.tree
            .flush_active_memtable(self.watermark())
            .map_err(text)?;
        // Runs the strategy until it has nothing left to do (a step with nothing to do
        // waits for the running background job first).
        while self
            .tree
            .compact(
                Arc::clone(&self.strategy) as Arc<dyn lsm::compaction::CompactionStrategy>,
                self.watermark(),
            )
            .map_err(text)?
            .action
            != CompactionAction::Nothing
        {}
        Ok(())
    }

    fn major_compact(&self) -> Result<()> {
        self.settle()?;
        self.tree
            .major_compact(self.table_bytes, self.watermark())
            .map_err(text)?;
        // The merge credits the garbage it makes; the steps after it collect the blob
        // files that crossed the staleness threshold.
        self.settle()
    }

    fn cache_counters(&self) -> Option<CacheCounters> {
        let stats = self.cache.stats();
        Some(CacheCounters {
            hits: stats.hits,
            misses: stats.misses,
        })
    }

    fn filter_bytes(&self) -> Option<u64> {
        Some(self.tree.filter_size())
    }

    fn change_mark(&self) -> u64 {
        let mark = self.seqno.get();
        self.history_floor.fetch_min(mark, AtomicOrdering::AcqRel);
        mark
    }

    fn scan_since(&self, mark: u64, full: bool) -> Result<(u64, u64)> {
        let events: Box<dyn Iterator<Item = lsm::ScanSinceEvent>> = if full {
            Box::new(self.tree.scan_since_seqno_full_scan(mark).map_err(text)?)
        } else {
            Box::new(self.tree.scan_since_seqno(mark).map_err(text)?)
        };
        Ok(events.fold((0, 0), |(count, bytes), event| {
            let event_bytes = match &event {
                lsm::ScanSinceEvent::Insert { key, value, .. } => key.len() + value.len(),
                lsm::ScanSinceEvent::MergeOperand { key, operand, .. } => key.len() + operand.len(),
                lsm::ScanSinceEvent::PointTombstone { key, .. } => key.len(),
                lsm::ScanSinceEvent::RangeTombstone {
                    start_key, end_key, ..
                } => start_key.len() + end_key.len(),
            };
            (count + 1, bytes + event_bytes as u64)
        }))
    }

    fn work_counters(&self) -> Option<super::WorkCounters> {
        let metrics = self.tree.metrics();
        let stalled = metrics.stall_time() + metrics.slowdown_time();
        Some(super::WorkCounters {
            block_reads: metrics.block_load_io_count() as u64,
            stall_nanos: u64::try_from(stalled.as_nanos()).unwrap_or(u64::MAX),
        })
    }

    fn filter_probes(&self) -> Option<super::FilterProbes> {
        let counters = self.tree.filter_counters();
        Some(super::FilterProbes {
            rejected: counters.rejected,
            false_positives: counters.passed_absent,
        })
    }
}
