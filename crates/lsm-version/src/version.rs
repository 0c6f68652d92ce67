//! [`Version`]: levels of runs of tables, immutable; edits make new versions.
//!
//! Level 0 holds runs newest first: a flush whose tables overlap none of the newest
//! run's joins that run (a tree fed in key order keeps one level-0 run, and a read
//! checks one table there instead of one per flush); any other flush starts a new run
//! at the front. A level above 0 usually holds one run, but tiered strategies may stack
//! several (newest first). Within a run, tables are sorted by key (in the version's
//! [`KeyOrder`]) and their key ranges are disjoint: asserted whenever a run is built.
//!
//! Joining is safe because a read takes the first run, newest first, holding a version
//! of its key, and in a run only one table can hold a key: the joining tables are
//! newer than every version in level 0 and share no key with the run's older tables.
//!
//! Applying an edit removes the listed tables (dropping runs left empty) and then adds
//! the new ones: to level 0 where the newest run it removed from level 0 was (a flush
//! removes none: at the front, or into the front run as above), so that a merge within
//! level 0 stays behind every run flushed while it ran; when that run keeps tables (a
//! flush joined it while the merge ran, so they are newer than the merge's output), the
//! output goes right behind it. To a higher level: into its newest run when they
//! overlap none of its tables, else as a new run at the front.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use lsm_core::{BlobFileId, KeyOrder, SeqNo, TableId};

use crate::layout::LEVEL_COUNT_MAX;
use crate::{BlobFileInfo, TableMeta, VersionEdit};

/// Tables with disjoint key ranges, in key order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Run {
    tables: Vec<Arc<TableMeta>>,
}

/// Runs of one level, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Level {
    runs: Vec<Run>,
}

/// An immutable set of tables and blob files; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    id: u64,
    levels: Vec<Level>,
    next_table_id: TableId,
    last_seqno: SeqNo,
    blob_files: Arc<BTreeMap<BlobFileId, BlobFileInfo>>,
    next_blob_file_id: BlobFileId,
    order: KeyOrder,
    /// The highest GC watermark a flush or merge recorded (below it, history may be
    /// collapsed); `None` when not known (a manifest older than format 5, or a rebuilt
    /// one).
    gc_watermark: Option<SeqNo>,
}

impl Run {
    /// A run of `tables`, sorted by key in `order`.
    ///
    /// # Panics
    /// When two tables' key ranges overlap (a bug in the caller).
    #[must_use]
    pub fn new(order: &KeyOrder, mut tables: Vec<Arc<TableMeta>>) -> Self {
        tables.sort_by(|a, b| order.cmp(a.key_range.min(), b.key_range.min()));
        assert!(is_disjoint(order, &tables), "tables of a run overlap");
        Self { tables }
    }

    /// The tables, in key order.
    #[must_use]
    pub fn tables(&self) -> &[Arc<TableMeta>] {
        &self.tables
    }

    /// The table whose key range holds `key` in `order` (the run's), if any (binary
    /// search).
    #[must_use]
    pub fn table_for_key(&self, order: &KeyOrder, key: &[u8]) -> Option<&Arc<TableMeta>> {
        let position = self
            .tables
            .partition_point(|table| order.lt(table.key_range.max(), key));
        self.tables
            .get(position)
            .filter(|table| table.key_range.contains_key(order, key))
    }

    fn overlaps(&self, order: &KeyOrder, tables: &[Arc<TableMeta>]) -> bool {
        tables.iter().any(|new| {
            self.tables
                .iter()
                .any(|old| old.key_range.overlaps_with(order, &new.key_range))
        })
    }
}

/// Whether `tables`, sorted by their smallest keys, have disjoint key ranges in `order`.
pub(crate) fn is_disjoint(order: &KeyOrder, tables: &[Arc<TableMeta>]) -> bool {
    tables.windows(2).all(|pair| match pair {
        [left, right] => order.lt(left.key_range.max(), right.key_range.min()),
        _ => true,
    })
}

impl Level {
    /// The runs, newest first.
    #[must_use]
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Tables in the level.
    #[must_use]
    pub fn table_count(&self) -> usize {
        self.runs.iter().map(|run| run.tables.len()).sum()
    }

    /// Bytes of the level's tables.
    #[must_use]
    pub fn size_bytes(&self) -> u64 {
        self.runs
            .iter()
            .flat_map(|run| &run.tables)
            .map(|table| table.size_bytes)
            .sum()
    }
}

impl Version {
    /// The empty version with `level_count` levels, of keys in the lexicographic order.
    ///
    /// # Panics
    /// When `level_count` is 0 or above 64.
    #[must_use]
    pub fn new(level_count: usize) -> Self {
        Self::new_in(level_count, KeyOrder::lexicographic())
    }

    /// The empty version with `level_count` levels, of keys in `order`.
    ///
    /// # Panics
    /// When `level_count` is 0 or above 64.
    #[must_use]
    pub fn new_in(level_count: usize, order: KeyOrder) -> Self {
        assert!(
            (1..=LEVEL_COUNT_MAX).contains(&level_count),
            "level count {level_count} outside 1..=64"
        );
        Self {
            id: 0,
            levels: vec![Level::default(); level_count],
            next_table_id: 1,
            last_seqno: 0,
            blob_files: Arc::default(),
            next_blob_file_id: 1,
            order,
            gc_watermark: Some(0),
        }
    }

    pub(crate) fn from_parts(
        id: u64,
        levels: Vec<Level>,
        next_table_id: TableId,
        last_seqno: SeqNo,
        blob_files: BTreeMap<BlobFileId, BlobFileInfo>,
        next_blob_file_id: BlobFileId,
        order: KeyOrder,
    ) -> Self {
        Self {
            id,
            levels,
            next_table_id,
            last_seqno,
            blob_files: Arc::new(blob_files),
            next_blob_file_id,
            order,
            gc_watermark: None,
        }
    }

    /// The highest GC watermark recorded: below it, a flush or merge may have collapsed
    /// versions and dropped tombstones. `None` when not known.
    #[must_use]
    pub fn gc_watermark(&self) -> Option<SeqNo> {
        self.gc_watermark
    }

    /// The same version, its GC watermark set to `watermark` (`None`: not known, as for
    /// a version rebuilt from files).
    #[must_use]
    pub fn with_gc_watermark(mut self, watermark: Option<SeqNo>) -> Self {
        self.gc_watermark = watermark;
        self
    }

    /// The order of the version's keys.
    #[must_use]
    pub fn order(&self) -> &KeyOrder {
        &self.order
    }

    pub(crate) fn level_from_runs(runs: Vec<Run>) -> Level {
        Level { runs }
    }

    /// The version's id: the number of edits applied since the empty version.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The levels.
    #[must_use]
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// The next unused table id.
    #[must_use]
    pub fn next_table_id(&self) -> TableId {
        self.next_table_id
    }

    /// The highest seqno persisted in tables.
    #[must_use]
    pub fn last_seqno(&self) -> SeqNo {
        self.last_seqno
    }

    /// Every table, level by level, run by run.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableMeta>> {
        self.levels
            .iter()
            .flat_map(|level| &level.runs)
            .flat_map(|run| &run.tables)
    }

    /// Tables in all levels.
    #[must_use]
    pub fn table_count(&self) -> usize {
        self.levels.iter().map(Level::table_count).sum()
    }

    /// The blob files, by id.
    #[must_use]
    pub fn blob_files(&self) -> &BTreeMap<BlobFileId, BlobFileInfo> {
        &self.blob_files
    }

    /// Blob files in the version.
    #[must_use]
    pub fn blob_file_count(&self) -> usize {
        self.blob_files.len()
    }

    /// Value bytes in blob files that no table points to any more.
    #[must_use]
    pub fn stale_blob_bytes(&self) -> u64 {
        self.blob_files
            .values()
            .map(|info| info.dead_value_bytes)
            .sum()
    }

    /// The next unused blob file id.
    #[must_use]
    pub fn next_blob_file_id(&self) -> BlobFileId {
        self.next_blob_file_id
    }

    /// The version after `edit`.
    ///
    /// # Panics
    /// When the edit removes a table the version does not hold, adds one it already
    /// holds, or names a level the version does not have: edits are built from the
    /// version they apply to, so any of these is a bug.
    #[must_use]
    pub fn apply(&self, edit: &VersionEdit) -> Self {
        let present: BTreeSet<TableId> = self.tables().map(|table| table.id).collect();
        let removed: BTreeSet<TableId> = edit.removed.iter().copied().collect();
        assert!(
            removed.is_subset(&present),
            "edit removes a table the version does not hold"
        );
        // Runs in front of the newest one losing a table keep their places, so this is
        // also the slot's index once the removals are done.
        let level0_loser = self.levels.first().and_then(|level| {
            level
                .runs
                .iter()
                .position(|run| run.tables.iter().any(|table| removed.contains(&table.id)))
                .map(|idx| {
                    let keeps_tables = level.runs[idx]
                        .tables
                        .iter()
                        .any(|table| !removed.contains(&table.id));
                    (idx, keeps_tables)
                })
        });
        // Where level-0 outputs go: behind a run that keeps tables (they joined it while
        // the merge ran), else in the place of the removed run.
        let level0_slot = match level0_loser {
            Some((idx, true)) => idx + 1,
            Some((idx, false)) => idx,
            None => 0,
        };
        let is_flush = level0_loser.is_none();
        let mut levels: Vec<Level> = self
            .levels
            .iter()
            .map(|level| Level {
                runs: level
                    .runs
                    .iter()
                    .map(|run| Run {
                        tables: run
                            .tables
                            .iter()
                            .filter(|table| !removed.contains(&table.id))
                            .cloned()
                            .collect(),
                    })
                    .filter(|run| !run.tables.is_empty())
                    .collect(),
            })
            .collect();
        for (level_idx, tables) in &edit.added {
            if tables.is_empty() {
                continue;
            }
            assert!(
                tables
                    .iter()
                    .all(|table| !present.contains(&table.id) || removed.contains(&table.id)),
                "edit adds a table twice"
            );
            let level = levels
                .get_mut(usize::from(*level_idx))
                .expect("edits name existing levels");
            let tables: Vec<Arc<TableMeta>> = tables.iter().cloned().map(Arc::new).collect();
            match level.runs.first_mut() {
                // Into the newest run when they share no key with it: at level 0 only a
                // flush joins (a merge's output goes to its slot below).
                Some(run)
                    if (*level_idx > 0 || is_flush) && !run.overlaps(&self.order, &tables) =>
                {
                    let mut merged = run.tables.clone();
                    merged.extend(tables);
                    *run = Run::new(&self.order, merged);
                }
                _ if *level_idx == 0 => level
                    .runs
                    .insert(level0_slot, Run::new(&self.order, tables)),
                _ => level.runs.insert(0, Run::new(&self.order, tables)),
            }
        }
        let max_id = levels
            .iter()
            .flat_map(|level| &level.runs)
            .flat_map(|run| &run.tables)
            .map(|table| table.id)
            .max();
        let blob_files = self
            .blob_files_after(edit)
            .expect("edit's blob file changes apply to the version");
        let max_blob_id = blob_files.keys().next_back().copied();
        Self {
            id: self.id + 1,
            levels,
            next_table_id: self
                .next_table_id
                .max(edit.next_table_id)
                .max(max_id.map_or(0, |id| id + 1)),
            last_seqno: self.last_seqno.max(edit.last_seqno),
            next_blob_file_id: self
                .next_blob_file_id
                .max(edit.next_blob_file_id)
                .max(max_blob_id.map_or(0, |id| id + 1)),
            blob_files: if blob_files == *self.blob_files {
                Arc::clone(&self.blob_files)
            } else {
                Arc::new(blob_files)
            },
            order: self.order.clone(),
            // An unknown watermark stays unknown: older history is not vouched for.
            gc_watermark: match (self.gc_watermark, edit.gc_watermark) {
                (Some(known), Some(new)) => Some(known.max(new)),
                (known, None) => known,
                (None, Some(_)) => None,
            },
        }
    }

    /// The blob files after `edit`: removals, then additions, then dead values credited;
    /// `None` when the edit removes a blob file the version does not hold, adds one twice,
    /// or credits garbage to an absent file or past its totals.
    pub(crate) fn blob_files_after(
        &self,
        edit: &VersionEdit,
    ) -> Option<BTreeMap<BlobFileId, BlobFileInfo>> {
        let mut blob_files = (*self.blob_files).clone();
        for id in &edit.removed_blob_files {
            blob_files.remove(id)?;
        }
        for info in &edit.added_blob_files {
            if !info.is_consistent() || blob_files.insert(info.id, *info).is_some() {
                return None;
            }
        }
        for garbage in &edit.blob_garbage {
            let info = blob_files.get_mut(&garbage.file_id)?;
            info.dead_frames = info.dead_frames.checked_add(garbage.frames)?;
            info.dead_value_bytes = info.dead_value_bytes.checked_add(garbage.value_bytes)?;
            if !info.is_consistent() {
                return None;
            }
        }
        Some(blob_files)
    }

    /// Whether table ids are unique and below the next id (what a decoded snapshot must
    /// satisfy; runs are checked as they are decoded).
    #[must_use]
    pub fn ids_are_consistent(&self) -> bool {
        let mut seen = BTreeSet::new();
        self.tables()
            .all(|table| seen.insert(table.id) && table.id < self.next_table_id)
            && self
                .blob_files
                .iter()
                .all(|(&id, info)| id == info.id && id < self.next_blob_file_id)
    }

    /// Checks every structural invariant (runs sorted and disjoint, ids unique and below
    /// the next id).
    ///
    /// # Panics
    /// When one does not hold.
    pub fn validate(&self) {
        let mut seen = BTreeSet::new();
        for run in self.levels.iter().flat_map(|level| &level.runs) {
            assert!(!run.tables.is_empty(), "empty run");
            assert!(
                is_disjoint(&self.order, &run.tables),
                "run out of order or overlapping"
            );
            for table in &run.tables {
                assert!(seen.insert(table.id), "table {} appears twice", table.id);
                assert!(
                    table.id < self.next_table_id,
                    "table id {} not below the next id",
                    table.id
                );
            }
        }
        for (&id, info) in self.blob_files.iter() {
            assert_eq!(id, info.id, "blob file filed under another id");
            assert!(
                id < self.next_blob_file_id,
                "blob file id {id} not below the next id"
            );
            assert!(
                info.is_consistent(),
                "blob file {id} has more dead values than values"
            );
        }
    }
}
