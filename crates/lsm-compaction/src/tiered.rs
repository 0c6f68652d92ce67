//! [`SizeTiered`]: size-tiered (universal) compaction in level 0.
//!
//! Runs stay in level 0, newest first. A merge takes the newest runs while each next
//! (older) run is at most `1 + size_ratio` times the size of those taken so far, and
//! happens when at least `min_merge_width` runs qualify (at most `max_merge_width`).
//! When the runs above the oldest hold more than `max_space_amplification_percent` of
//! the oldest run's size, everything merges.
//!
//! Only runs adjacent in age merge, starting at the newest, and the output takes their
//! place: merging runs with a newer run between them would put older versions in front
//! of newer ones, and reads would return the older (a bug of a shipped engine). While a
//! merge holds some runs, the newer runs in front of them may merge among themselves;
//! everything merges only when no run is busy.

use lsm_version::Version;

use crate::levels::ids;
use crate::{Choice, CompactionState, CompactionStrategy, Input};

/// The name of [`SizeTiered`].
pub const TIERED_COMPACTION_NAME: &str = "SizeTieredCompaction";

/// Size-tiered compaction; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeTiered {
    size_ratio: f64,
    min_merge_width: usize,
    max_merge_width: usize,
    max_space_amplification_percent: u64,
    table_target_size: u64,
}

impl Default for SizeTiered {
    fn default() -> Self {
        Self {
            size_ratio: 1.0,
            min_merge_width: 4,
            max_merge_width: usize::MAX,
            max_space_amplification_percent: 200,
            table_target_size: 64 << 20,
        }
    }
}

impl SizeTiered {
    /// How much larger than the runs taken so far the next run may be (at least 0).
    #[must_use]
    pub fn with_size_ratio(mut self, ratio: f64) -> Self {
        self.size_ratio = ratio.max(0.0);
        self
    }

    /// The fewest runs a size-ratio merge takes (at least 2).
    #[must_use]
    pub fn with_min_merge_width(mut self, width: usize) -> Self {
        self.min_merge_width = width.max(2);
        self.max_merge_width = self.max_merge_width.max(self.min_merge_width);
        self
    }

    /// The most runs a size-ratio merge takes (at least the minimum).
    #[must_use]
    pub fn with_max_merge_width(mut self, width: usize) -> Self {
        self.max_merge_width = width.max(self.min_merge_width);
        self
    }

    /// Space amplification, in percent of the oldest run, that triggers a full merge.
    #[must_use]
    pub fn with_max_space_amplification_percent(mut self, percent: u64) -> Self {
        self.max_space_amplification_percent = percent;
        self
    }

    /// Target size of output tables (at least 1 KiB).
    #[must_use]
    pub fn with_table_target_size(mut self, bytes: u64) -> Self {
        self.table_target_size = bytes.max(1 << 10);
        self
    }
}

impl CompactionStrategy for SizeTiered {
    fn get_name(&self) -> &'static str {
        TIERED_COMPACTION_NAME
    }

    fn choose(&self, version: &Version, state: &CompactionState) -> Choice {
        let Some(level0) = version.levels().first() else {
            return Choice::DoNothing;
        };
        // While a merge holds older runs, the newer ones in front of it may still merge.
        let all_runs = level0.runs();
        let free = all_runs
            .iter()
            .position(|run| {
                run.tables()
                    .iter()
                    .any(|t| state.busy_tables.contains(&t.id))
            })
            .unwrap_or(all_runs.len());
        let runs = &all_runs[..free];
        if runs.len() < 2 {
            return Choice::DoNothing;
        }
        let sizes: Vec<u64> = runs
            .iter()
            .map(|run| run.tables().iter().map(|t| t.size_bytes).sum())
            .collect();
        let merge = |width: usize| {
            Choice::Merge(Input {
                table_ids: ids(runs[..width].iter().flat_map(|run| run.tables())),
                dest_level: 0,
                canonical_level: 0,
                target_size: self.table_target_size,
            })
        };
        let oldest = sizes.last().copied().unwrap_or(0);
        let newer: u64 = sizes[..sizes.len() - 1].iter().sum();
        if free == all_runs.len()
            && newer.saturating_mul(100)
                > oldest.saturating_mul(self.max_space_amplification_percent)
        {
            return merge(runs.len());
        }
        let mut taken = sizes[0] as f64;
        let mut width = 1;
        while width < sizes.len() && width < self.max_merge_width {
            if sizes[width] as f64 > taken * (1.0 + self.size_ratio) {
                break;
            }
            taken += sizes[width] as f64;
            width += 1;
        }
        if width >= self.min_merge_width {
            merge(width)
        } else {
            Choice::DoNothing
        }
    }

    fn pending_compaction_bytes(&self, version: &Version) -> u64 {
        let Some(level0) = version.levels().first() else {
            return 0;
        };
        // Everything above the oldest run is rewritten by the next full merge.
        let runs = level0.runs();
        runs.iter()
            .take(runs.len().saturating_sub(1))
            .flat_map(|run| run.tables())
            .map(|table| table.size_bytes)
            .sum()
    }
}
