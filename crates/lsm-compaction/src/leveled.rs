//! [`Leveled`]: leveled compaction.
//!
//! Level 0 holds a run per flush, or fewer where flushes shared no key and joined one
//! run; every deeper level is one run of disjoint tables whose target size grows by a
//! ratio per level. When level 0 reaches its trigger (counted in tables, so that joined
//! flushes still go down), all of it merges with the overlapping tables of the base level (level 1, or
//! with dynamic level sizing the first level that holds data at its target). Otherwise the
//! level most over its target gives one table, the one that overlaps least in the level
//! below relative to its size, to merge into that level; a table overlapping nothing
//! below moves down without a rewrite.
//!
//! **Dynamic level sizing** (RocksDB's `level_compaction_dynamic_level_bytes`) sizes the
//! levels from the last one's actual size downwards, so that the last level holds about
//! 90% of the data whatever the tree's size, and level 0 skips the small levels on top.
//! **Multi-level** merges level 0 straight through an already oversized base level into
//! the one below. When the base level's tables are busy, level 0 is merged into one run
//! in place (intra-L0), which keeps reads fast until the base level is free; while a
//! merge holds level 0's older runs, the runs flushed since merge in place in front of
//! them once they reach the trigger.

use std::collections::HashSet;

use lsm_version::Version;

use crate::levels::{
    any_busy, ids, key_range_of, last_level, level_u8, overlapping, pairwise_disjoint, tables_of,
};
use crate::{Choice, CompactionState, CompactionStrategy, Input};

/// The name of [`Leveled`].
pub const LEVELED_COMPACTION_NAME: &str = "LeveledCompaction";

/// Leveled compaction; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct Leveled {
    l0_threshold: u8,
    level_ratios: Vec<f32>,
    table_target_size: u64,
    dynamic_level_bytes: bool,
    multi_level: bool,
}

/// The same strategy under its other spelling.
pub type Levelled = Leveled;

impl Default for Leveled {
    fn default() -> Self {
        Self {
            l0_threshold: 4,
            level_ratios: vec![10.0],
            table_target_size: 64 << 20,
            dynamic_level_bytes: false,
            multi_level: false,
        }
    }
}

impl Leveled {
    /// Level-0 tables that trigger a merge into the base level (at least 1). A flush
    /// writes one table unless it is larger than the table target, so this is about
    /// the number of flushes.
    #[must_use]
    pub fn with_l0_threshold(mut self, tables: u8) -> Self {
        self.l0_threshold = tables.max(1);
        self
    }

    /// Size ratio between consecutive levels, per level from level 1 (the last entry
    /// repeats; ratios below 2 are raised to 2).
    #[must_use]
    pub fn with_level_ratio_policy(mut self, ratios: Vec<f32>) -> Self {
        self.level_ratios = if ratios.is_empty() {
            vec![10.0]
        } else {
            ratios
        };
        for ratio in &mut self.level_ratios {
            *ratio = ratio.max(2.0);
        }
        self
    }

    /// Target size of output tables (at least 1 KiB).
    #[must_use]
    pub fn with_table_target_size(mut self, bytes: u64) -> Self {
        self.table_target_size = bytes.max(1 << 10);
        self
    }

    /// Size levels from the last level's actual size (see the module docs).
    #[must_use]
    pub fn with_dynamic_level_bytes(mut self, enabled: bool) -> Self {
        self.dynamic_level_bytes = enabled;
        self
    }

    /// Merge level 0 through an oversized base level (see the module docs).
    #[must_use]
    pub fn with_multi_level(mut self, enabled: bool) -> Self {
        self.multi_level = enabled;
        self
    }

    /// The ratio from level `level_idx` to the next.
    fn ratio(&self, level_idx: usize) -> f64 {
        let idx = level_idx.saturating_sub(1).min(self.level_ratios.len() - 1);
        f64::from(self.level_ratios[idx])
    }

    /// The target of level 1 in the static layout.
    fn base_bytes(&self) -> f64 {
        self.table_target_size as f64 * f64::from(self.l0_threshold)
    }

    /// Target bytes per level (index 0 unused) and the level that level 0 merges into.
    fn targets(&self, version: &Version) -> (Vec<f64>, usize) {
        let levels = version.levels();
        let last = last_level(version);
        let mut targets = vec![0.0; levels.len()];
        if last == 0 {
            return (targets, 0);
        }
        let deepest_with_data = (1..=last).rev().find(|&idx| levels[idx].table_count() > 0);
        match deepest_with_data {
            Some(deepest) if self.dynamic_level_bytes => {
                // Size from the bottom up: the last level at its size, each level above a
                // ratio smaller. Level 0 goes to the first level whose target reaches the
                // base size; the levels above it stay empty.
                targets[last] = (levels[deepest].size_bytes() as f64).max(self.base_bytes());
                for idx in (1..last).rev() {
                    targets[idx] = targets[idx + 1] / self.ratio(idx);
                }
                // Never below data already in a higher level: level 0 would land under
                // older versions.
                let first_with_data = (1..=last)
                    .find(|&idx| levels[idx].table_count() > 0)
                    .unwrap_or(last);
                let base_level = (1..=last)
                    .find(|&idx| targets[idx] >= self.base_bytes() / self.ratio(idx))
                    .unwrap_or(last)
                    .min(first_with_data);
                // The levels above the base level stay empty.
                for target in targets.iter_mut().take(base_level).skip(1) {
                    *target = 0.0;
                }
                (targets, base_level)
            }
            _ => {
                targets[1] = self.base_bytes();
                for idx in 2..=last {
                    targets[idx] = targets[idx - 1] * self.ratio(idx - 1);
                }
                (targets, 1)
            }
        }
    }

    fn input(&self, table_ids: HashSet<u64>, dest_level: usize, canonical_level: usize) -> Input {
        Input {
            table_ids,
            dest_level: level_u8(dest_level),
            canonical_level: level_u8(canonical_level),
            target_size: self.table_target_size,
        }
    }

    /// Level 0 into the base level (or below it, or within itself).
    fn choose_level0(
        &self,
        version: &Version,
        state: &CompactionState,
        targets: &[f64],
        base_level: usize,
    ) -> Option<Choice> {
        let levels = version.levels();
        let level0 = &levels[0];
        if level0.table_count() < usize::from(self.l0_threshold) || base_level == 0 {
            return None;
        }
        if let Some(first_busy) = level0
            .runs()
            .iter()
            .position(|run| any_busy(run.tables().iter(), &state.busy_tables))
        {
            // An older part of level 0 is being merged: the runs flushed since then
            // merge within level 0, in front of it, once there are enough of them.
            let free = &level0.runs()[..first_busy];
            return (free.len() >= usize::from(self.l0_threshold).max(2)).then(|| {
                let tables = free.iter().flat_map(|run| run.tables().iter());
                Choice::Merge(self.input(ids(tables), 0, 0))
            });
        }
        let order = version.order();
        let l0_tables: Vec<_> = tables_of(level0).collect();
        let range = key_range_of(order, l0_tables.iter().copied())?;
        let base_overlap = overlapping(order, &levels[base_level], &range);
        if any_busy(base_overlap.iter().copied(), &state.busy_tables) {
            // Intra-L0: keep reads to one level-0 run until the base level is free.
            return (level0.runs().len() > 1)
                .then(|| Choice::Merge(self.input(ids(l0_tables), 0, 0)));
        }
        // Runs that share no key with each other or the base level go down as they are
        // (a sequential load then writes each key once, not once per level).
        if base_overlap.is_empty()
            && (level0.runs().len() == 1 || pairwise_disjoint(order, &l0_tables))
        {
            return Some(Choice::Move(self.input(ids(l0_tables), base_level, 0)));
        }
        let mut inputs = ids(l0_tables
            .iter()
            .copied()
            .chain(base_overlap.iter().copied()));
        let mut dest_level = base_level;
        let base_oversized = levels[base_level].size_bytes() as f64 > targets[base_level];
        if self.multi_level && base_oversized && base_level < last_level(version) {
            let wider = key_range_of(
                order,
                l0_tables
                    .iter()
                    .copied()
                    .chain(base_overlap.iter().copied()),
            )?;
            let below = overlapping(order, &levels[base_level + 1], &wider);
            if !any_busy(below.iter().copied(), &state.busy_tables) {
                // Every base-level table overlapping the wider range joins, so that
                // nothing left in the base level overlaps the outputs below it.
                let base_wide = overlapping(order, &levels[base_level], &wider);
                if !any_busy(base_wide.iter().copied(), &state.busy_tables) {
                    inputs.extend(ids(base_wide));
                    inputs.extend(ids(below));
                    dest_level = base_level + 1;
                }
            }
        }
        Some(Choice::Merge(self.input(inputs, dest_level, 0)))
    }

    /// Level 0's tables over its trigger.
    fn level0_score(&self, version: &Version) -> f64 {
        version.levels()[0].table_count() as f64 / f64::from(self.l0_threshold)
    }

    /// The highest size-over-target of the levels between level 0 and the last.
    fn deepest_score(&self, version: &Version, targets: &[f64]) -> f64 {
        let levels = version.levels();
        (1..last_level(version))
            .filter(|&idx| targets[idx] > 0.0)
            .map(|idx| levels[idx].size_bytes() as f64 / targets[idx])
            .fold(0.0, f64::max)
    }

    /// The most oversized level gives one table to the level below.
    fn choose_deeper(
        &self,
        version: &Version,
        state: &CompactionState,
        targets: &[f64],
    ) -> Option<Choice> {
        let levels = version.levels();
        let last = last_level(version);
        let mut scored: Vec<(f64, usize)> = (1..last)
            .map(|idx| {
                let size = levels[idx].size_bytes() as f64;
                let score = if targets[idx] <= 0.0 {
                    if size > 0.0 { f64::INFINITY } else { 0.0 }
                } else {
                    size / targets[idx]
                };
                (score, idx)
            })
            .filter(|(score, _)| *score > 1.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, level_idx) in scored {
            let below = &levels[level_idx + 1];
            let mut candidates: Vec<_> = tables_of(&levels[level_idx])
                .filter(|table| !state.busy_tables.contains(&table.id))
                .map(|table| {
                    let overlap = overlapping(version.order(), below, &table.key_range);
                    let overlap_bytes: u64 = overlap.iter().map(|t| t.size_bytes).sum();
                    (
                        overlap_bytes as f64 / table.size_bytes.max(1) as f64,
                        table,
                        overlap,
                    )
                })
                .filter(|(_, _, overlap)| !any_busy(overlap.iter().copied(), &state.busy_tables))
                .collect();
            candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
            if let Some((_, table, overlap)) = candidates.into_iter().next() {
                let table_ids = ids(std::iter::once(table).chain(overlap.iter().copied()));
                let input = self.input(table_ids, level_idx + 1, level_idx);
                return Some(if overlap.is_empty() {
                    Choice::Move(input)
                } else {
                    Choice::Merge(input)
                });
            }
        }
        None
    }
}

impl CompactionStrategy for Leveled {
    fn get_name(&self) -> &'static str {
        LEVELED_COMPACTION_NAME
    }

    fn choose(&self, version: &Version, state: &CompactionState) -> Choice {
        let (targets, base_level) = self.targets(version);
        // The most urgent level goes first: level 0 scores its runs over the trigger,
        // deeper levels their size over their target. Under a steady load level 0 is
        // always at its trigger, so taking it first would starve the levels below and
        // let the base level grow until every level-0 merge rewrites all of it.
        if self.deepest_score(version, &targets) > self.level0_score(version) {
            self.choose_deeper(version, state, &targets)
                .or_else(|| self.choose_level0(version, state, &targets, base_level))
                .unwrap_or(Choice::DoNothing)
        } else {
            self.choose_level0(version, state, &targets, base_level)
                .or_else(|| self.choose_deeper(version, state, &targets))
                .unwrap_or(Choice::DoNothing)
        }
    }

    fn pending_compaction_bytes(&self, version: &Version) -> u64 {
        let (targets, _) = self.targets(version);
        let levels = version.levels();
        let l0_debt = if levels[0].table_count() >= usize::from(self.l0_threshold) {
            levels[0].size_bytes()
        } else {
            0
        };
        let deeper: f64 = (1..last_level(version))
            .map(|idx| (levels[idx].size_bytes() as f64 - targets[idx]).max(0.0))
            .sum();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative byte count, saturating at u64::MAX"
        )]
        let deeper = deeper as u64;
        l0_debt.saturating_add(deeper)
    }
}
