//! The compaction step of a tree: [`TreeInner::compact`] asks the strategy, checks its
//! choice, and moves, drops or merges tables (see [`crate::compaction`] for the rules a
//! step keeps).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use lsm_compaction::{Bottom, Choice, CompactionState, CompactionStrategy, Input, Outputs};
use lsm_core::{SeqNo, TableId};
use lsm_version::{TableMeta, VersionEdit};

use crate::compaction::{CompactionAction, CompactionResult, filter};
use crate::flush::BlobContext;
use crate::live_table::LiveTable;
use crate::read::OwnedBounds;
use crate::super_version::SuperVersion;
use crate::tree::TreeInner;
use crate::{Error, Result};

impl TreeInner {
    /// Runs one compaction step of `strategy`; see the module docs.
    pub(crate) fn compact(
        &self,
        strategy: &dyn CompactionStrategy,
        watermark: SeqNo,
    ) -> Result<CompactionResult> {
        let _compaction = self
            .compaction_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lock = self.flush_lock();
        self.check_poisoned()?;
        let current = self.super_version();
        let state = CompactionState {
            busy_tables: HashSet::new(),
            table_created_ms: current
                .tables
                .iter()
                .map(|(id, table)| (*id, table.table.properties().created_at_ms))
                .collect(),
            now_ms: crate::flush::now_ms(),
        };
        let choice = match strategy.choose(&current.version, &state) {
            Choice::DoNothing => self
                .blob_gc_policy()
                .and_then(|policy| lsm_compaction::blob_gc_choice(&current.version, policy))
                .unwrap_or(Choice::DoNothing),
            choice => choice,
        };
        lsm_compaction::validate(&current.version, &state, &choice).map_err(|refusal| {
            Error::InvalidCompactionChoice {
                strategy: strategy.get_name(),
                refusal,
            }
        })?;
        let span = tracing::info_span!("compaction", strategy = strategy.get_name(), watermark);
        let _entered = span.enter();
        let result = match choice {
            Choice::DoNothing => Ok(CompactionResult::nothing()),
            Choice::Drop(ids) => self.drop_tables(&current, &ids),
            Choice::Move(input) => self.move_tables(&current, &input),
            Choice::Merge(input) => self.merge_tables(&current, &input, watermark, lock),
        };
        if let Ok(result) = &result {
            tracing::info!(action = ?result.action, dest_level = ?result.dest_level, tables_in = result.tables_in, tables_out = result.tables_out, "compaction step");
        }
        result
    }

    /// When this tree collects blob garbage (`None` without key-value separation).
    fn blob_gc_policy(&self) -> Option<lsm_compaction::BlobGcPolicy> {
        self.config
            .kv_separation_opts
            .as_ref()
            .map(crate::KvSeparationOptions::gc_policy)
    }

    fn drop_tables(
        &self,
        current: &Arc<SuperVersion>,
        ids: &HashSet<TableId>,
    ) -> Result<CompactionResult> {
        let removed: Vec<_> = ids.iter().copied().collect();
        let version = self.apply_edit(&self.edit(removed.clone(), Vec::new(), current))?;
        let mark = self.take_mark();
        self.install(|now| {
            let mut next = now.with_history_entry(mark);
            next.set_version(version, Vec::new());
            next.set_tables(
                now.tables
                    .iter()
                    .filter(|(id, _)| !ids.contains(id))
                    .map(|(id, t)| (*id, Arc::clone(t)))
                    .collect(),
            );
            next
        });
        for id in &removed {
            current.table(*id).mark_obsolete();
        }
        Ok(CompactionResult {
            action: CompactionAction::Dropped,
            dest_level: None,
            tables_in: removed.len(),
            tables_out: 0,
        })
    }

    fn move_tables(&self, current: &Arc<SuperVersion>, input: &Input) -> Result<CompactionResult> {
        let moved: Vec<_> = current
            .version
            .tables()
            .filter(|meta| input.table_ids.contains(&meta.id))
            .map(|meta| (**meta).clone())
            .collect();
        let removed = moved.iter().map(|meta| meta.id).collect();
        let count = moved.len();
        let version =
            self.apply_edit(&self.edit(removed, vec![(input.dest_level, moved)], current))?;
        self.install(|now| {
            let mut next = now.clone();
            next.set_version(version, Vec::new());
            next
        });
        Ok(CompactionResult {
            action: CompactionAction::Moved,
            dest_level: Some(input.dest_level),
            tables_in: count,
            tables_out: count,
        })
    }

    /// Merges the input tables. The flush lock is held throughout for a merge within
    /// level 0 (its output must stay in front of every older run and behind every newer
    /// one, so no flush may come between); a merge into a deeper level releases it while
    /// writing, so flushes go on, and takes it again to install.
    fn merge_tables(
        &self,
        current: &Arc<SuperVersion>,
        input: &Input,
        watermark: SeqNo,
        lock: crate::FlushGuard<'_>,
    ) -> Result<CompactionResult> {
        let version = &current.version;
        let dest = usize::from(input.dest_level);
        // Read order: level 0 newest run first, then the deeper levels.
        let inputs: Vec<Arc<LiveTable>> = version
            .levels()
            .iter()
            .flat_map(|level| level.runs())
            .flat_map(|run| run.tables())
            .filter(|meta| input.table_ids.contains(&meta.id))
            .map(|meta| Arc::clone(current.table(meta.id)))
            .collect();
        let metas: Vec<_> = version
            .tables()
            .filter(|meta| input.table_ids.contains(&meta.id))
            .collect();
        let range = metas
            .iter()
            .map(|meta| meta.key_range.clone())
            .reduce(|a, b| a.union(&b));
        // Tombstones may go when no table outside the merge, at or below its
        // destination, can hold an older version of their keys.
        let bottom = match &range {
            Some(range)
                if !version.levels()[dest..]
                    .iter()
                    .flat_map(|level| level.runs())
                    .flat_map(|run| run.tables())
                    .any(|meta| {
                        !input.table_ids.contains(&meta.id) && meta.key_range.overlaps_with(range)
                    }) =>
            {
                Bottom::Yes
            }
            _ => Bottom::No,
        };
        let input_bytes: u64 = metas.iter().map(|meta| meta.size_bytes).sum();
        let lock = if dest == 0 {
            Some(lock)
        } else {
            drop(lock);
            None
        };
        let relocate = self
            .blob_gc_policy()
            .map(|policy| lsm_compaction::relocation_set(version, policy))
            .unwrap_or_default();
        let blobs = BlobContext {
            files: &current.blob_files,
            relocate: &relocate,
        };
        let job = MergeJob {
            dest,
            target_size: input.target_size,
            watermark,
            bottom,
            blobs,
        };
        let written = self.write_merge(&inputs, input_bytes, &job)?;
        let opened = match self.open_outputs(dest, &written) {
            Ok(opened) => opened,
            Err(error) => {
                written.remove(self.config.fs.as_ref());
                return Err(error);
            }
        };
        let (_lock, current) = match lock {
            Some(lock) => (lock, Arc::clone(current)),
            None => (self.flush_lock(), self.super_version()),
        };
        let removed: Vec<TableId> = input.table_ids.iter().copied().collect();
        if !removed.iter().all(|id| current.tables.contains_key(id)) {
            // `clear` or `drop_range` removed an input meanwhile: the outputs hold data
            // the tree no longer has.
            drop(opened);
            written.remove(self.config.fs.as_ref());
            return Ok(CompactionResult::nothing());
        }
        let added = opened.tables.iter().map(|(meta, _)| meta.clone()).collect();
        let tables_out = opened.tables.len();
        let mut edit = self.edit(removed.clone(), vec![(input.dest_level, added)], &current);
        edit.added_blob_files = opened.blob_infos();
        // A failed edit keeps the outputs: only the next open can tell whether it is durable.
        let new_version = self.apply_edit(&edit)?;
        let removed_set: BTreeSet<TableId> = removed.iter().copied().collect();
        self.install(|now| {
            let mut next = now.clone();
            next.set_version(new_version, opened.blob_files);
            next.prune_history(watermark);
            let mut tables: std::collections::BTreeMap<_, _> = now
                .tables
                .iter()
                .filter(|(id, _)| !removed_set.contains(id))
                .map(|(id, t)| (*id, Arc::clone(t)))
                .collect();
            tables.extend(
                opened
                    .tables
                    .into_iter()
                    .map(|(meta, table)| (meta.id, table)),
            );
            next.set_tables(tables);
            next
        });
        for id in &removed {
            current.table(*id).mark_obsolete();
        }
        Ok(CompactionResult {
            action: CompactionAction::Merged,
            dest_level: Some(input.dest_level),
            tables_in: removed.len(),
            tables_out,
        })
    }

    /// Writes the merge of `inputs`, in key-range slices on the compaction pool when it
    /// is large enough (sub-compactions); on failure no output is left.
    fn write_merge(
        &self,
        inputs: &[Arc<LiveTable>],
        input_bytes: u64,
        job: &MergeJob<'_>,
    ) -> Result<Outputs> {
        let threads = self
            .compaction_pool
            .as_ref()
            .map_or(1, |pool| pool.current_num_threads());
        let by_size = input_bytes / self.config.subcompaction_min_bytes.max(1);
        // Range tombstones are not split across slices (each lives whole in one output
        // table, so that the tables' key ranges stay disjoint): a merge with any runs as
        // one slice.
        let has_tombstones = inputs
            .iter()
            .any(|live| !live.table.range_tombstones().is_empty());
        let slice_count = if has_tombstones {
            1
        } else {
            usize::try_from(by_size).unwrap_or(usize::MAX).min(threads)
        };
        let boundaries = if slice_count > 1 {
            let mut blocks = Vec::new();
            for live in inputs {
                for entry in live.table.index_entries()? {
                    blocks.push((entry.last_key.user_key, entry.handle.len_bytes));
                }
            }
            lsm_compaction::slice_boundaries(blocks, slice_count)
        } else {
            Vec::new()
        };
        let slices = slice_bounds(boundaries);
        let run = |bounds: &OwnedBounds| self.write_slice(inputs, bounds, job);
        let results: Vec<Result<Outputs>> = match &self.compaction_pool {
            Some(pool) if slices.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| slices.par_iter().map(run).collect())
            }
            _ => slices.iter().map(run).collect(),
        };
        let mut written = Outputs::default();
        let mut failure = None;
        for result in results {
            match result {
                Ok(part) => written.extend(part),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        if let Some(error) = failure {
            // One slice failed: every slice's outputs go.
            written.remove(self.config.fs.as_ref());
            return Err(error);
        }
        if slices.len() > 1 {
            tracing::debug!(slices = slices.len(), "sub-compactions");
        }
        Ok(written)
    }

    /// Writes the part of the merge within `bounds`.
    fn write_slice(
        &self,
        inputs: &[Arc<LiveTable>],
        bounds: &OwnedBounds,
        job: &MergeJob<'_>,
    ) -> Result<Outputs> {
        let MergeJob {
            dest,
            target_size,
            watermark,
            bottom,
            blobs,
        } = *job;
        let sources: Vec<_> = inputs
            .iter()
            .map(|live| {
                live.table
                    .range(bounds.clone(), SeqNo::MAX)
                    .map(|entry| entry.map_err(Error::from))
            })
            .collect();
        let mut filter = self
            .config
            .compaction_filter_factory
            .as_ref()
            .map(|factory| {
                let ctx = filter::Context {
                    is_last_level: bottom == Bottom::Yes,
                };
                filter::Adapter {
                    filter: factory.make_filter(&ctx),
                    ctx,
                    blob_files: Arc::clone(blobs.files),
                }
            });
        let tombstones: Vec<_> = inputs
            .iter()
            .flat_map(|live| live.table.range_tombstones().iter().cloned())
            .collect();
        let mut stream = lsm_compaction::merge_sources(sources, watermark, bottom)
            .with_range_tombstones(tombstones.clone());
        let tombstones = lsm_compaction::surviving_tombstones(tombstones, watermark, bottom);
        if let Some(operator) = &self.config.merge_operator {
            stream = stream.with_merge(crate::merge_operator::merge_fn(operator));
        }
        if !blobs.files.is_empty() {
            stream = stream.with_resolver(crate::blobs::resolver(Arc::clone(blobs.files)));
        }
        if let Some(filter) = filter.as_mut() {
            stream = stream.with_filter(filter);
        }
        let throttled = stream.map(|entry| {
            let entry = entry?;
            if self.shutting_down.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            if let Some(limiter) = &self.rate_limiter {
                let bytes = (entry.key.user_key.len() + entry.value.len()) as u64;
                if !limiter.acquire(bytes) {
                    return Err(Error::Closed);
                }
            }
            Ok(entry)
        });
        let written = self.write_outputs(dest, target_size, throttled, tombstones, blobs)?;
        if let Some(filter) = filter {
            filter.filter.finish();
        }
        Ok(written)
    }

    fn edit(
        &self,
        removed: Vec<TableId>,
        added: Vec<(u8, Vec<TableMeta>)>,
        current: &SuperVersion,
    ) -> VersionEdit {
        VersionEdit {
            removed,
            added,
            next_table_id: self.table_id_counter.load(Ordering::Acquire),
            last_seqno: current.version.last_seqno(),
            ..VersionEdit::default()
        }
    }
}

/// Where and how a merge writes its outputs.
#[derive(Clone, Copy)]
struct MergeJob<'a> {
    dest: usize,
    target_size: u64,
    watermark: SeqNo,
    bottom: Bottom,
    blobs: BlobContext<'a>,
}

/// The key ranges between consecutive boundaries (one unbounded range without any).
fn slice_bounds(boundaries: Vec<lsm_core::UserKey>) -> Vec<OwnedBounds> {
    use std::ops::Bound;
    let mut slices = Vec::with_capacity(boundaries.len() + 1);
    let mut start = Bound::Unbounded;
    for boundary in boundaries {
        slices.push((start, Bound::Excluded(boundary.clone())));
        start = Bound::Included(boundary);
    }
    slices.push((start, Bound::Unbounded));
    slices
}
