//! The compaction step of a tree: [`TreeInner::compact`] asks the strategy, checks its
//! choice, and moves, drops or merges tables (see [`crate::compaction`] for the rules a
//! step keeps).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use lsm_compaction::{
    Bottom, Choice, CompactionState, CompactionStrategy, Input, MergeJob, Outputs, SliceFilter,
    SliceTask,
};
use lsm_core::{InternalEntry, SeqNo, TableId};
use lsm_table::Table;
use lsm_version::{TableMeta, VersionEdit};

use crate::compaction::{CompactionAction, CompactionReason, CompactionResult, filter};
use crate::flush::BlobContext;
use crate::jobs::{Claim, Wait};
use crate::super_version::SuperVersion;
use crate::tree::TreeInner;
use crate::{Error, Result};

/// A compaction step to run: the super-version it was chosen on, the choice, why, and
/// the claim on its tables.
type Chosen<'a> = (Arc<SuperVersion>, Choice, CompactionReason, Claim<'a>);

impl TreeInner {
    /// Runs one compaction step of `strategy`; see the module docs. With
    /// [`Wait::ForFree`], a step that finds nothing to do while other jobs run waits for
    /// them and chooses again.
    pub(crate) fn compact(
        &self,
        strategy: &dyn CompactionStrategy,
        watermark: SeqNo,
        wait: Wait,
    ) -> Result<CompactionResult> {
        self.health.check()?;
        let Some((current, choice, reason, claim)) = self.choose(strategy, wait)? else {
            return Ok(CompactionResult::nothing());
        };
        let span = tracing::info_span!(
            "compaction",
            strategy = strategy.get_name(),
            reason = reason.name(),
            watermark
        );
        let _entered = span.enter();
        let started = std::time::Instant::now();
        // The bytes a step read and wrote (only a merge rewrites tables).
        let step = match &choice {
            Choice::DoNothing => Ok((CompactionResult::nothing(), 0, 0)),
            Choice::Drop(ids) => self
                .drop_tables(&choice, ids, &claim)
                .map(|result| (result, 0, 0)),
            // A table changes directory only by being written again.
            Choice::Move(input) if self.leaves_its_directory(&current, input) => {
                self.merge_tables(&current, input, watermark)
            }
            Choice::Move(input) => self
                .move_tables(&choice, input, &claim)
                .map(|result| (result, 0, 0)),
            Choice::Merge(input) => self.merge_tables(&current, input, watermark),
        };
        drop(claim);
        let (result, bytes_read, bytes_written) = step?;
        if result.action != CompactionAction::Nothing {
            self.metrics
                .compacted(result.action, reason, bytes_read, bytes_written);
            tracing::info!(
                action = ?result.action,
                dest_level = ?result.dest_level,
                tables_in = result.tables_in,
                tables_out = result.tables_out,
                bytes_read,
                bytes_written,
                elapsed_ms = started.elapsed().as_millis(),
                "compaction step"
            );
        }
        Ok(result)
    }

    /// Asks `strategy` (then blob garbage collection) for a choice on the current
    /// version, passing over the tables running jobs hold, checks it, and claims its
    /// tables; `None` when there is nothing to do (see [`Wait`]).
    fn choose(&self, strategy: &dyn CompactionStrategy, wait: Wait) -> Result<Option<Chosen<'_>>> {
        let mut jobs = self.jobs.lock();
        let mut waiting = false;
        let chosen = loop {
            if wait == Wait::No && jobs.waiting > 0 {
                break Ok(None);
            }
            let current = self.super_version();
            let state = CompactionState {
                busy_tables: jobs.busy.clone(),
                table_created_ms: current
                    .tables
                    .iter()
                    .map(|(id, table)| (*id, table.table.properties().created_at_ms))
                    .collect(),
                now_ms: crate::flush::now_ms(),
            };
            let (choice, reason) = match strategy.choose(&current.version, &state) {
                Choice::DoNothing => self
                    .blob_gc_policy()
                    .and_then(|policy| {
                        lsm_compaction::blob_gc_choice(&current.version, &jobs.busy, policy)
                    })
                    .map(|choice| (choice, CompactionReason::BlobGc))
                    .or_else(|| {
                        lsm_compaction::rotation_choice(
                            &current.version,
                            &jobs.busy,
                            &current.stale_key_tables(),
                            &current.stale_key_blob_files(),
                        )
                        .map(|choice| (choice, CompactionReason::KeyRotation))
                    })
                    .unwrap_or((Choice::DoNothing, CompactionReason::Strategy)),
                choice => (choice, CompactionReason::Strategy),
            };
            if choice == Choice::DoNothing {
                let others_run = jobs.running > 0 && !self.health.is_closing();
                if wait == Wait::ForFree && others_run && !self.health.is_poisoned() {
                    if !waiting {
                        jobs.waiting += 1;
                        waiting = true;
                    }
                    jobs = self.jobs.wait(jobs);
                    continue;
                }
                break Ok(None);
            }
            if let Err(refusal) = lsm_compaction::validate(&current.version, &state, &choice) {
                break Err(Error::InvalidCompactionChoice {
                    strategy: strategy.get_name(),
                    refusal,
                });
            }
            let claim = self.jobs.claim(&mut jobs, chosen_tables(&choice));
            break Ok(Some((current, choice, reason, claim)));
        };
        if waiting {
            jobs.waiting -= 1;
        }
        chosen
    }

    /// Takes the flush lock and returns it with the current super-version when `choice`
    /// still applies to it; `None` when `clear` or `drop_range` removed some of its
    /// tables since it was made.
    fn lock_if_still_applies(
        &self,
        choice: &Choice,
        claim: &Claim<'_>,
    ) -> Option<(crate::FlushGuard<'_>, Arc<SuperVersion>)> {
        let lock = self.flush_lock();
        let current = self.super_version();
        self.still_applies(&current, choice, claim)
            .then_some((lock, current))
    }

    /// Whether `choice` still applies to `current`.
    fn still_applies(&self, current: &SuperVersion, choice: &Choice, claim: &Claim<'_>) -> bool {
        let mut busy = self.jobs.lock().busy.clone();
        for id in claim.tables() {
            busy.remove(id);
        }
        let state = CompactionState {
            busy_tables: busy,
            ..CompactionState::default()
        };
        lsm_compaction::validate(&current.version, &state, choice).is_ok()
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
        choice: &Choice,
        ids: &HashSet<TableId>,
        claim: &Claim<'_>,
    ) -> Result<CompactionResult> {
        let Some((_lock, current)) = self.lock_if_still_applies(choice, claim) else {
            return Ok(CompactionResult::nothing());
        };
        let removed: Vec<_> = ids.iter().copied().collect();
        let marker = self.write_drop_marker(&removed)?;
        let version = self.apply_edit(&self.edit(removed.clone(), Vec::new(), &current))?;
        let mark = self.take_mark();
        self.install(|now| {
            let mut next = now.with_history_entry(mark);
            next.set_version(version, Vec::new());
            next.swap_tables(&ids.iter().copied().collect(), []);
            next
        });
        self.mark_dropped(&current, &removed, &marker);
        Ok(CompactionResult {
            action: CompactionAction::Dropped,
            dest_level: None,
            tables_in: removed.len(),
            tables_out: 0,
        })
    }

    /// Whether a table of `input` is not in the directory of the level it moves to (a
    /// level route begins between the two, or the table was left elsewhere).
    fn leaves_its_directory(&self, current: &SuperVersion, input: &Input) -> bool {
        if self.config.level_routes().is_empty() {
            return false;
        }
        let dest = self.config.tables_dir(usize::from(input.dest_level));
        input.table_ids.iter().any(|id| {
            current
                .tables
                .get(id)
                .is_some_and(|table| table.path().parent() != Some(dest.as_path()))
        })
    }

    fn move_tables(
        &self,
        choice: &Choice,
        input: &Input,
        claim: &Claim<'_>,
    ) -> Result<CompactionResult> {
        let Some((_lock, current)) = self.lock_if_still_applies(choice, claim) else {
            return Ok(CompactionResult::nothing());
        };
        let moved: Vec<_> = current
            .version
            .tables()
            .filter(|meta| input.table_ids.contains(&meta.id))
            .map(|meta| (**meta).clone())
            .collect();
        let removed = moved.iter().map(|meta| meta.id).collect();
        let count = moved.len();
        let version =
            self.apply_edit(&self.edit(removed, vec![(input.dest_level, moved)], &current))?;
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

    /// Merges the input tables. The flush lock is taken only to install: flushes go on
    /// while the outputs are written (a merge within level 0 takes the place of its
    /// newest input run, behind every run flushed meanwhile).
    fn merge_tables(
        &self,
        current: &Arc<SuperVersion>,
        input: &Input,
        watermark: SeqNo,
    ) -> Result<(CompactionResult, u64, u64)> {
        let dest = usize::from(input.dest_level);
        let input_bytes: u64 = current
            .version
            .tables()
            .filter(|meta| input.table_ids.contains(&meta.id))
            .map(|meta| meta.size_bytes)
            .sum();
        if self.lacks_room_for(input_bytes) {
            return Ok((CompactionResult::nothing(), 0, 0));
        }
        let bottom = lsm_compaction::merge_bottom(&current.version, input);
        self.note_gc_watermark(watermark);
        let written = self.write_merge(current, input, input_bytes, watermark, bottom)?;
        let opened = match self.open_outputs(dest, &written) {
            Ok(opened) => opened,
            Err(error) => {
                written.remove(self.config.fs.as_ref());
                return Err(error);
            }
        };
        let _lock = self.flush_lock();
        let current = self.super_version();
        let removed: Vec<TableId> = input.table_ids.iter().copied().collect();
        if !removed.iter().all(|id| current.tables.contains_key(id)) {
            // `clear` or `drop_range` removed an input meanwhile: the outputs hold data
            // the tree no longer has.
            drop(opened);
            written.remove(self.config.fs.as_ref());
            return Ok((CompactionResult::nothing(), 0, 0));
        }
        // A merge that writes no table (everything it read was deleted) leaves no table
        // naming its inputs as replaced: a drop marker names them instead, or a
        // manifest rebuilt after a crash that lost their deletion would take them back.
        let marker = if opened.tables.is_empty() {
            match self.write_drop_marker(&removed) {
                Ok(marker) => Some(marker),
                Err(error) => {
                    drop(opened);
                    written.remove(self.config.fs.as_ref());
                    return Err(error);
                }
            }
        } else {
            None
        };
        let written_bytes = opened.bytes();
        let added = opened.tables.iter().map(|(meta, _)| meta.clone()).collect();
        let tables_out = opened.tables.len();
        let mut edit = self.edit(removed.clone(), vec![(input.dest_level, added)], &current);
        edit.added_blob_files = opened.blob_infos();
        edit.gc_watermark = Some(watermark);
        // A failed edit keeps the outputs: only the next open can tell whether it is durable.
        let new_version = self.apply_edit(&edit)?;
        let removed_set: BTreeSet<TableId> = removed.iter().copied().collect();
        self.install(|now| {
            let mut next = now.clone();
            next.set_version(new_version, opened.blob_files);
            next.prune_history(watermark);
            next.swap_tables(
                &removed_set,
                opened
                    .tables
                    .into_iter()
                    .map(|(meta, table)| (meta.id, table)),
            );
            next
        });
        match &marker {
            Some(marker) => self.mark_dropped(&current, &removed, marker),
            None => {
                for id in &removed {
                    current.table(*id).mark_obsolete(&self.pending_deletions);
                }
            }
        }
        let result = CompactionResult {
            action: CompactionAction::Merged,
            dest_level: Some(input.dest_level),
            tables_in: removed.len(),
            tables_out,
        };
        Ok((result, input_bytes, written_bytes))
    }

    /// With the storage gate on, whether a merge of `needed` input bytes might not
    /// fit: its output may be as large as its inputs, which stay until it is installed.
    /// Such a merge is deferred (counted, and logged), not started to fail half way
    /// with a full disk.
    fn lacks_room_for(&self, needed: u64) -> bool {
        let runtime = self.runtime.load();
        if !runtime.storage_admission_check {
            return false;
        }
        self.admission.record(&self.measure_storage(), &runtime);
        let room = self.admission.room(self.memory_bytes().1);
        if needed <= room {
            return false;
        }
        self.metrics.deferred_for_space();
        tracing::warn!(needed, room, "merge deferred: its output may not fit");
        true
    }

    /// Writes the merge of `input`'s tables ([`MergeJob`]): the tree's merge operator,
    /// blob files, compaction filter and rate limiter, its slices on the compaction pool.
    fn write_merge(
        &self,
        current: &Arc<SuperVersion>,
        input: &Input,
        input_bytes: u64,
        watermark: SeqNo,
        bottom: Bottom,
    ) -> Result<Outputs> {
        let version = &current.version;
        // Read order: level 0 newest run first, then the deeper levels.
        let inputs: Vec<Table> = version
            .levels()
            .iter()
            .flat_map(|level| level.runs())
            .flat_map(|run| run.tables())
            .filter(|meta| input.table_ids.contains(&meta.id))
            .map(|meta| current.table(meta.id).table.clone())
            .collect();
        let mut relocate = self
            .blob_gc_policy()
            .map(|policy| lsm_compaction::relocation_set(version, policy))
            .unwrap_or_default();
        // Values in blob files under an older key epoch move to files under the current.
        relocate.extend(current.stale_key_blob_files());
        let blobs = BlobContext {
            files: &current.blob_files,
            relocate: &relocate,
        };
        let filter_ctx = filter::Context {
            is_last_level: bottom == Bottom::Yes,
        };
        let make_filter = self
            .config
            .compaction_filter_factory
            .as_ref()
            .map(|factory| {
                move || -> Box<dyn SliceFilter<Error>> {
                    Box::new(filter::Adapter {
                        filter: factory.make_filter(&filter_ctx),
                        ctx: filter_ctx,
                        blob_files: Arc::clone(&current.blob_files),
                    })
                }
            });
        let throttle = |entry: &InternalEntry| -> Result<()> {
            if self.health.is_closing() {
                return Err(Error::Closed);
            }
            let bytes = (entry.key.user_key.len() + entry.value.len()) as u64;
            if self.rate_limiter.acquire(bytes) {
                Ok(())
            } else {
                Err(Error::Closed)
            }
        };
        let job = MergeJob {
            inputs: &inputs,
            watermark,
            bottom,
            merge: self.merge_fn(),
            resolve: (!current.blob_files.is_empty())
                .then(|| crate::blobs::resolver(Arc::clone(&current.blob_files))),
            filter: make_filter
                .as_ref()
                .map(|make| make as &(dyn Fn() -> Box<dyn SliceFilter<Error>> + Sync)),
            throttle: &throttle,
            input_bytes,
            slice_min_bytes: self.config.subcompaction_min_bytes,
            slice_count_max: self
                .compaction_pool
                .as_ref()
                .map_or(1, |pool| pool.current_num_threads()),
        };
        let run_slices = |tasks: Vec<SliceTask<'_, Error>>| match &self.compaction_pool {
            Some(pool) if tasks.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| tasks.into_par_iter().map(|task| task()).collect())
            }
            _ => tasks.into_iter().map(|task| task()).collect(),
        };
        let dest = usize::from(input.dest_level);
        let replaces: Vec<TableId> = input.table_ids.iter().copied().collect();
        self.with_targets(
            dest,
            input.target_size,
            &replaces,
            blobs,
            |fs, tables, blobs| job.run(fs, tables, blobs, &run_slices),
        )
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
            next_table_id: self.ids.next_table(),
            last_seqno: current.version.last_seqno(),
            ..VersionEdit::default()
        }
    }
}

/// The tables `choice` names.
fn chosen_tables(choice: &Choice) -> Vec<TableId> {
    match choice {
        Choice::DoNothing => Vec::new(),
        Choice::Drop(ids) => ids.iter().copied().collect(),
        Choice::Move(input) | Choice::Merge(input) => input.table_ids.iter().copied().collect(),
    }
}
