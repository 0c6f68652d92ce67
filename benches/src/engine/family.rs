//! The shared adapter of the lsm-tree-family peers. fjall's lsm-tree and
//! coordinode-lsm-tree share most of their API (coordinode is a fork of it), so one
//! macro writes each adapter: the matched configuration (4 KiB blocks, no compression,
//! 10-bit Bloom filters, the shared cache), the [`super::family_driver::FamilyTree`]
//! hooks and the [`super::Engine`] methods they have in common. Each peer's file adds
//! what differs (merge operators and range tombstones exist in coordinode only).

/// Writes `pub struct Peer`, its `FamilyTree` and most of its `Engine` impl for the
/// crate `$krate`; `$($engine_extra)*` are the remaining `Engine` methods.
macro_rules! family_engine {
    (
        krate: $krate:ident,
        configure: |$config:ident| $configure:expr,
        engine: { $($engine_extra:tt)* }
    ) => {
        use std::path::Path;
        use std::sync::Arc;

        use $krate::config::{
            BlockSizePolicy, BloomConstructionPolicy, CompressionPolicy, FilterPolicy,
            FilterPolicyEntry,
        };
        use $krate::{AbstractTree, AnyTree, Cache, CompressionType, Config, Guard, SequenceNumberCounter};

        use super::family_driver::{Driver, FamilyTree};
        use super::{CacheCounters, Engine, Result};
        use crate::settings::Settings;

fn text(error: $krate::Error) -> String {
            format!("{error:?}")
        }

        /// The tree and what the driver needs with it.
        pub struct Handle {
            tree: AnyTree,
            seqno: SequenceNumberCounter,
            strategy: Arc<$krate::compaction::Leveled>,
            /// Seqnos of reads in flight (with their counts). These trees look up the
            /// version of a read's seqno in a history that flushes and compactions
            /// prune up to their watermark, and panic when it is gone, so the
            /// watermark never passes a read in flight (the snapshot tracking the
            /// trees leave to their caller).
            reads: std::sync::Mutex<std::collections::BTreeMap<u64, usize>>,
            /// The oldest seqno whose history the watermark keeps: the mark of a change
            /// scan to come (`u64::MAX` when none is).
            history_floor: std::sync::atomic::AtomicU64,
        }

        impl Handle {
            /// Runs `read` at the current seqno, holding the watermark at or below it.
            fn read<T>(&self, read: impl FnOnce(u64) -> T) -> T {
                let seqno = {
                    let mut reads = self.lock_reads();
                    // Taken under the lock, so no watermark computed after it passes it.
                    let seqno = self.seqno.get();
                    *reads.entry(seqno).or_default() += 1;
                    seqno
                };
                let result = read(seqno);
                let mut reads = self.lock_reads();
                if let Some(count) = reads.get_mut(&seqno) {
                    *count -= 1;
                    if *count == 0 {
                        reads.remove(&seqno);
                    }
                }
                result
            }

            fn lock_reads(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<u64, usize>> {
                self.reads.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
            }
        }

        /// The peer under its driver.
        pub struct Peer {
            driver: Driver<Handle>,
            table_bytes: u64,
        }

        /// Opens the peer in `dir` with `settings`.
        pub fn open(dir: &Path, settings: &Settings) -> Result<Peer> {
            let seqno = SequenceNumberCounter::default();
            let $config = Config::new(dir, seqno.clone(), SequenceNumberCounter::default())
                .use_cache(Arc::new(Cache::with_capacity_bytes(settings.cache_bytes)))
                .data_block_size_policy(BlockSizePolicy::all(settings.block_bytes))
                .data_block_compression_policy(CompressionPolicy::all(CompressionType::None))
                .index_block_compression_policy(CompressionPolicy::all(CompressionType::None))
                .filter_policy(FilterPolicy::all(FilterPolicyEntry::Bloom(
                    BloomConstructionPolicy::BitsPerKey(settings.filter_bits_per_key),
                )));
            let $config = $config.with_kv_separation(settings.blob_threshold.map(|threshold| {
                $krate::KvSeparationOptions::default()
                    .separation_threshold(threshold)
                    .file_target_size(crate::settings::BLOB_FILE_BYTES)
                    .compression(CompressionType::None)
                    .staleness_threshold(crate::settings::BLOB_STALENESS)
                    .age_cutoff(crate::settings::BLOB_AGE_CUTOFF)
            }));
            let tree = $configure.open().map_err(text)?;
            let strategy = Arc::new(
                $krate::compaction::Leveled::default()
                    .with_l0_threshold(settings.l0_trigger)
                    .with_table_target_size(settings.table_bytes)
                    .with_level_ratio_policy(vec![settings.level_ratio]),
            );
            let handle = Handle {
                tree,
                seqno,
                strategy,
                reads: std::sync::Mutex::default(),
                history_floor: std::sync::atomic::AtomicU64::new(u64::MAX),
            };
            Ok(Peer {
                driver: Driver::start(handle, settings),
                table_bytes: settings.table_bytes,
            })
        }

        impl FamilyTree for Handle {
            fn active_bytes(&self) -> u64 {
                self.tree.active_memtable().size()
            }

            fn rotate(&self) {
                let _ = self.tree.rotate_memtable();
            }

            fn flush_sealed(&self, watermark: u64) -> Result<()> {
                while self.tree.sealed_memtable_count() > 0 {
                    let lock = self.tree.get_flush_lock();
                    self.tree.flush(&lock, watermark).map_err(text)?;
                }
                Ok(())
            }

            fn compact_step(&self, watermark: u64) -> Result<()> {
                self.tree
                    .compact(
                        Arc::clone(&self.strategy) as Arc<dyn $krate::compaction::CompactionStrategy>,
                        watermark,
                    )
                    .map(drop)
                    .map_err(text)
            }

            fn sealed_count(&self) -> usize {
                self.tree.sealed_memtable_count()
            }

            fn l0_runs(&self) -> usize {
                self.tree.l0_run_count()
            }

            fn shape(&self) -> Vec<usize> {
                let mut shape = vec![usize::try_from(self.tree.next_table_id()).unwrap_or(usize::MAX)];
                shape.extend((0..).map_while(|level| self.tree.level_table_count(level)));
                shape
            }

            fn watermark(&self) -> u64 {
                let reads = self.lock_reads();
                let oldest = reads.keys().next().copied().unwrap_or_else(|| self.seqno.get());
                oldest.min(self.history_floor.load(std::sync::atomic::Ordering::Acquire))
            }
        }

        impl Peer {
            fn handle(&self) -> &Handle {
                self.driver.tree()
            }

            fn write(&self, (written_bytes, memtable_bytes): (u64, u64)) -> Result<()> {
                self.driver.after_write(written_bytes, memtable_bytes)
            }

            fn read_value(&self, key: &[u8]) -> Result<Option<$krate::UserValue>> {
                let handle = self.handle();
                handle.read(|seqno| handle.tree.get(key, seqno).map_err(text))
            }
        }

        impl Engine for Peer {
            fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
                let handle = self.handle();
                self.write(handle.tree.insert(key, value, handle.seqno.next()))
            }

            fn delete(&self, key: &[u8]) -> Result<()> {
                let handle = self.handle();
                self.write(handle.tree.remove(key, handle.seqno.next()))
            }

            fn get(&self, key: &[u8]) -> Result<Option<usize>> {
                Ok(self.read_value(key)?.map(|value| value.len()))
            }

            fn get_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
                Ok(self.read_value(key)?.map(|value| value.to_vec()))
            }

            fn seek(&self, key: &[u8], count: usize) -> Result<usize> {
                let handle = self.handle();
                handle.read(|seqno| {
                    let mut read = 0;
                    for item in handle.tree.range(key.., seqno, None).take(count) {
                        item.key().map_err(text)?;
                        read += 1;
                    }
                    Ok(read)
                })
            }

            fn scan(&self, reverse: bool) -> Result<(u64, u64)> {
                let handle = self.handle();
                handle.read(|seqno| {
                    let pairs = handle.tree.iter(seqno, None).map(Guard::into_inner);
                    super::scan_totals(pairs, reverse).map_err(text)
                })
            }

            fn settle(&self) -> Result<()> {
                self.driver.settle()
            }

            fn bulk_load(&self, fill: &mut super::BulkFill<'_>) -> Result<()> {
                let handle = self.handle();
                let mut ingestion = handle.tree.ingestion().map_err(text)?;
                fill(&mut |key, value| ingestion.write(key, value).map_err(text))?;
                ingestion.finish().map_err(text)
            }

            fn major_compact(&self) -> Result<()> {
                self.settle()?;
                let handle = self.handle();
                // One past the next seqno: with no snapshot open, every version but the
                // newest may go, so the tree's version history drops the replaced tables
                // (at the next seqno itself it would keep them). A change scan to come
                // holds it at its mark.
                let floor = handle.history_floor.load(std::sync::atomic::Ordering::Acquire);
                handle
                    .tree
                    .major_compact(self.table_bytes, (handle.seqno.get() + 1).min(floor))
                    .map_err(text)?;
                // Compactions after it may collect blob garbage (blob workloads).
                self.settle()
            }

            fn cache_counters(&self) -> Option<CacheCounters> {
                None
            }

            fn filter_bytes(&self) -> Option<u64> {
                Some(self.handle().tree.filter_size())
            }

            fn filter_probes(&self) -> Option<super::FilterProbes> {
                None
            }

            $($engine_extra)*
        }
    };
}

pub(crate) use family_engine;
