//! [`rebuild`]: a version rebuilt from the tables and blob files found on disk, for a
//! tree whose manifest is lost or damaged.
//!
//! Which tables are live follows from what each table records about the ones it made
//! obsolete (`docs/repair.md`):
//!
//! - a table names the tables already removed from the tree whose files were not yet
//!   deleted when it was written (`obsolete`), and a drop marker names a table being
//!   dropped: those are left out;
//! - a merge's outputs name its inputs (`replaces`). The inputs are left out when the
//!   merge was installed, and the proof of that is an input whose file is gone
//!   (inputs are deleted only after the install), one that a table names as obsolete,
//!   or one that points into a blob file that is gone (a blob file is deleted only
//!   once no table of the tree points into it). Without that proof, the merge may never have been installed (or its
//!   outputs may be incomplete), so its outputs are left out and its inputs stay: they
//!   hold everything the outputs hold.
//!
//! The live tables are placed so that a point read, which stops at the first source
//! holding the key, finds the newest version: a table whose key range overlaps no other
//! goes to the last level; the others go to level 0, newest (by largest seqno) first,
//! each in a run of its own or joining the newest run when it shares no key with it. Two level-0 tables that overlap with interleaved seqno ranges cannot
//! be ordered that way; [`Rebuilt::needs_merge`] says so, and the caller merges them.

use std::collections::{BTreeMap, BTreeSet};

use lsm_core::{BlobFileId, KeyOrder, SeqNo, TableId};

use crate::{BlobFileInfo, TableMeta, Version, VersionEdit};

/// A readable table found on disk.
#[derive(Debug, Clone)]
pub struct FoundTable {
    /// What the version records about it (blob references counted from its entries).
    pub meta: TableMeta,
    /// The tables the merge that wrote it replaces.
    pub replaces: Vec<TableId>,
    /// Tables already removed from the tree when it was written.
    pub obsolete: Vec<TableId>,
}

/// A version rebuilt from files; see the module docs.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    /// The version: live tables placed, referenced blob files with their dead values.
    pub version: Version,
    /// Tables left out as obsolete (replaced by an installed merge, or removed).
    pub obsolete: Vec<TableId>,
    /// Tables left out as outputs of a merge that may not have been installed.
    pub uninstalled: Vec<TableId>,
    /// Whether two level-0 tables share keys and have interleaved seqno ranges: they
    /// must be merged before point reads can trust the level-0 order.
    pub needs_merge: bool,
    /// Blob files no live table points into (left out).
    pub unreferenced_blob_files: Vec<BlobFileId>,
    /// Blob files that otherwise live tables point into and that were not found (or
    /// not readable).
    pub missing_blob_files: Vec<BlobFileId>,
    /// Tables left out because they point into a missing blob file: their values are
    /// not all there (the caller quarantines them, as it does damaged tables).
    pub broken: Vec<TableId>,
}

/// What a rebuild starts from: the files found in a tree's directories.
#[derive(Debug, Clone, Default)]
pub struct FilesOnDisk {
    /// The readable tables.
    pub tables: Vec<FoundTable>,
    /// The id of every table file on disk, readable or not.
    pub table_ids: BTreeSet<TableId>,
    /// Tables a drop marker names: a drop (clear, a dropped range, a FIFO drop) was
    /// being installed.
    pub dropped: BTreeSet<TableId>,
    /// The readable blob files (dead counters zero).
    pub blob_files: Vec<BlobFileInfo>,
    /// The id of every blob file on disk, readable or not.
    pub blob_file_ids: BTreeSet<BlobFileId>,
}

/// Rebuilds a version of `level_count` levels of keys in `order` from `files`; see the
/// module docs. New ids are numbered past every file present.
///
/// # Panics
/// When `level_count` is 0 or above 64.
#[must_use]
pub fn rebuild(level_count: usize, order: &KeyOrder, files: FilesOnDisk) -> Rebuilt {
    let FilesOnDisk {
        tables,
        table_ids: present,
        dropped,
        blob_files,
        blob_file_ids: present_blob_files,
    } = files;
    let (live, obsolete, uninstalled) =
        live_tables(tables, &present, &dropped, &present_blob_files);
    let found_blob_ids: BTreeSet<BlobFileId> = blob_files.iter().map(|info| info.id).collect();
    let (live, broken): (Vec<_>, Vec<_>) = live.into_iter().partition(|meta| {
        meta.blob_refs
            .iter()
            .all(|blob_ref| found_blob_ids.contains(&blob_ref.file_id))
    });
    let missing_blob_files: Vec<BlobFileId> = broken
        .iter()
        .flat_map(|meta| &meta.blob_refs)
        .map(|blob_ref| blob_ref.file_id)
        .filter(|id| !found_blob_ids.contains(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let broken = broken.into_iter().map(|meta| meta.id).collect();
    let (isolated, overlapping) = split_by_overlap(order, live);
    let needs_merge = interleaved(order, &overlapping);

    let mut referenced: BTreeMap<BlobFileId, (u64, u64)> = BTreeMap::new();
    for meta in isolated.iter().chain(&overlapping) {
        for blob_ref in &meta.blob_refs {
            let counts = referenced.entry(blob_ref.file_id).or_default();
            counts.0 += blob_ref.frames;
            counts.1 += blob_ref.value_bytes;
        }
    }
    let mut unreferenced_blob_files = Vec::new();
    let mut added_blob_files = Vec::new();
    for mut info in blob_files {
        let Some(&(frames, value_bytes)) = referenced.get(&info.id) else {
            unreferenced_blob_files.push(info.id);
            continue;
        };
        info.dead_frames = info.frame_count.saturating_sub(frames);
        info.dead_value_bytes = info.value_bytes.saturating_sub(value_bytes);
        added_blob_files.push(info);
    }

    let last_seqno: SeqNo = isolated
        .iter()
        .chain(&overlapping)
        .map(|meta| meta.seqno_max)
        .max()
        .unwrap_or(0);
    let next_table_id = present.iter().next_back().map_or(1, |id| id + 1);
    let next_blob_file_id = present_blob_files.iter().next_back().map_or(1, |id| id + 1);
    let counters = VersionEdit {
        next_table_id,
        last_seqno,
        next_blob_file_id,
        ..VersionEdit::default()
    };
    let last_level = u8::try_from(level_count.saturating_sub(1)).unwrap_or(u8::MAX);
    let mut version = Version::new_in(level_count, order.clone()).apply(&VersionEdit {
        added: vec![(last_level, isolated)],
        added_blob_files,
        ..counters.clone()
    });
    // Oldest first: each edit puts its run in front of level 0.
    for meta in overlapping {
        version = version.apply(&VersionEdit {
            added: vec![(0, vec![meta])],
            ..counters.clone()
        });
    }
    Rebuilt {
        // What the tables' merges collapsed is not known.
        version: version.with_gc_watermark(None),
        obsolete,
        uninstalled,
        needs_merge,
        unreferenced_blob_files,
        missing_blob_files,
        broken,
    }
}

/// Splits `tables` into (live, obsolete ids, uninstalled ids).
fn live_tables(
    tables: Vec<FoundTable>,
    present: &BTreeSet<TableId>,
    dropped: &BTreeSet<TableId>,
    present_blob_files: &BTreeSet<BlobFileId>,
) -> (Vec<TableMeta>, Vec<TableId>, Vec<TableId>) {
    // A blob file is deleted only once no table of the tree points into it: a table
    // pointing into one that is gone had been removed.
    let removed_by_blob_files: BTreeSet<TableId> = tables
        .iter()
        .filter(|table| {
            table
                .meta
                .blob_refs
                .iter()
                .any(|blob_ref| !present_blob_files.contains(&blob_ref.file_id))
        })
        .map(|table| table.meta.id)
        .collect();
    let mut obsolete: BTreeSet<TableId> = tables
        .iter()
        .flat_map(|table| table.obsolete.iter().copied())
        .chain(dropped.iter().copied())
        .collect();
    let named_obsolete = obsolete.clone();
    let mut uninstalled = BTreeSet::new();
    for table in &tables {
        if table.replaces.is_empty() {
            continue;
        }
        // TODO(issue 25): one crash image proves a merge installed when it was not.
        // `crash_flush`'s blob workload, seed 4, crash point 248, under the
        // directory-subset model with the crash drawing randomness only for the files
        // that survive it: repair leaves out tables 12-14 as replaced, keeps their one
        // output, and loses keys (9 left, change 17's state expected). Find which proof
        // below fired for an uninstalled merge.
        // A table a drop marker names was in the tree when the drop began: the merge
        // that wrote it was installed, even if every one of its inputs is still here.
        let installed = dropped.contains(&table.meta.id)
            || table.replaces.iter().any(|id| {
                !present.contains(id)
                    || named_obsolete.contains(id)
                    || removed_by_blob_files.contains(id)
            });
        if installed {
            obsolete.extend(table.replaces.iter().copied());
        } else {
            uninstalled.insert(table.meta.id);
        }
    }
    let mut live: Vec<TableMeta> = Vec::new();
    let mut left_out = (Vec::new(), Vec::new());
    for table in tables {
        let id = table.meta.id;
        if obsolete.contains(&id) {
            left_out.0.push(id);
        } else if uninstalled.contains(&id) {
            left_out.1.push(id);
        } else {
            live.push(table.meta);
        }
    }
    (live, left_out.0, left_out.1)
}

/// Splits `tables` into those whose key range overlaps no other's (by key) and the rest
/// (oldest first: by largest seqno, then id).
fn split_by_overlap(
    order: &KeyOrder,
    mut tables: Vec<TableMeta>,
) -> (Vec<TableMeta>, Vec<TableMeta>) {
    tables.sort_by(|a, b| order.cmp(a.key_range.min(), b.key_range.min()));
    // A table overlaps an earlier one exactly when its smallest key is not past the
    // largest key of the earlier ones, and so overlaps the one reaching furthest (a
    // table overlapped only by later ones is that one when they come).
    let mut overlaps = vec![false; tables.len()];
    let mut reach: Option<(usize, &TableMeta)> = None;
    for (idx, table) in tables.iter().enumerate() {
        if let Some((reach_idx, widest)) = reach
            && order.le(table.key_range.min(), widest.key_range.max())
        {
            for flag in [idx, reach_idx] {
                if let Some(flag) = overlaps.get_mut(flag) {
                    *flag = true;
                }
            }
        }
        let wider =
            reach.is_none_or(|(_, widest)| order.lt(widest.key_range.max(), table.key_range.max()));
        if wider {
            reach = Some((idx, table));
        }
    }
    let (mut overlapping, mut isolated) = (Vec::new(), Vec::new());
    for (table, overlap) in tables.into_iter().zip(overlaps) {
        if overlap {
            overlapping.push(table);
        } else {
            isolated.push(table);
        }
    }
    overlapping.sort_by_key(|table| (table.seqno_max, table.id));
    (isolated, overlapping)
}

/// Whether two of `tables` share keys and have interleaved seqno ranges.
fn interleaved(order: &KeyOrder, tables: &[TableMeta]) -> bool {
    tables.iter().enumerate().any(|(idx, a)| {
        tables.iter().skip(idx + 1).any(|b| {
            a.key_range.overlaps_with(order, &b.key_range)
                && a.seqno_min <= b.seqno_max
                && b.seqno_min <= a.seqno_max
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsm_core::KeyRange;

    fn table(id: TableId, keys: (&str, &str), seqnos: (SeqNo, SeqNo)) -> FoundTable {
        let order = KeyOrder::lexicographic();
        FoundTable {
            meta: TableMeta {
                id,
                key_range: KeyRange::new(&order, keys.0.into(), keys.1.into()),
                seqno_min: seqnos.0,
                seqno_max: seqnos.1,
                size_bytes: 100,
                entry_count: 1,
                tombstone_count: 0,
                blob_refs: Vec::new(),
                digest: None,
                global_seqno: None,
            },
            replaces: Vec::new(),
            obsolete: Vec::new(),
        }
    }

    fn ids(tables: &[std::sync::Arc<TableMeta>]) -> Vec<TableId> {
        tables.iter().map(|table| table.id).collect()
    }

    /// The ids of level 0's tables, run by run.
    fn level0_runs(version: &Version) -> Vec<Vec<TableId>> {
        version.levels()[0]
            .runs()
            .iter()
            .map(|run| ids(run.tables()))
            .collect()
    }

    fn rebuilt(tables: Vec<FoundTable>, present: &[TableId]) -> Rebuilt {
        let files = FilesOnDisk {
            tables,
            table_ids: present.iter().copied().collect(),
            ..FilesOnDisk::default()
        };
        rebuild(4, &KeyOrder::lexicographic(), files)
    }

    #[test]
    fn disjoint_tables_go_to_the_last_level_and_overlapping_ones_to_level_0_newest_first() {
        let result = rebuilt(
            vec![
                table(1, ("a", "c"), (1, 10)),
                table(2, ("b", "d"), (11, 20)),
                table(3, ("m", "n"), (1, 5)),
                table(4, ("c", "c"), (21, 22)),
            ],
            &[1, 2, 3, 4],
        );
        let levels = result.version.levels();
        let level0 = level0_runs(&result.version);
        assert_eq!(level0, vec![vec![4], vec![2], vec![1]]);
        assert_eq!(ids(levels[3].runs()[0].tables()), vec![3]);
        assert!(!result.needs_merge);
        assert_eq!(result.version.last_seqno(), 22);
        assert_eq!(result.version.next_table_id(), 5);
    }

    #[test]
    fn a_table_overlapping_a_wide_earlier_one_is_found() {
        // 2 starts after 1 ends but within the wide 0.
        let result = rebuilt(
            vec![
                table(0, ("a", "z"), (1, 2)),
                table(1, ("b", "c"), (3, 4)),
                table(2, ("x", "y"), (5, 6)),
            ],
            &[0, 1, 2],
        );
        let levels = result.version.levels();
        let level0 = level0_runs(&result.version);
        // 1 and 2 share no key: they join one run, in front of the wide 0.
        assert_eq!(level0, vec![vec![1, 2], vec![0]]);
        assert_eq!(
            levels
                .iter()
                .skip(1)
                .map(|level| level.table_count())
                .sum::<usize>(),
            0
        );
    }

    #[test]
    fn interleaved_seqno_ranges_of_overlapping_tables_need_a_merge() {
        let result = rebuilt(
            vec![table(1, ("a", "c"), (1, 10)), table(2, ("b", "d"), (5, 20))],
            &[1, 2],
        );
        assert!(result.needs_merge);
    }

    #[test]
    fn inputs_of_an_installed_merge_are_left_out() {
        // 3 replaced 1 and 2; 2's file is gone, so the merge was installed.
        let mut output = table(3, ("a", "d"), (1, 20));
        output.replaces = vec![1, 2];
        let result = rebuilt(vec![table(1, ("a", "c"), (1, 10)), output], &[1, 3]);
        assert_eq!(result.obsolete, vec![1]);
        assert_eq!(result.version.table_count(), 1);
    }

    #[test]
    fn outputs_of_a_merge_whose_inputs_all_remain_are_left_out() {
        let mut output = table(3, ("a", "d"), (1, 20));
        output.replaces = vec![1, 2];
        let result = rebuilt(
            vec![
                table(1, ("a", "c"), (1, 10)),
                table(2, ("b", "d"), (11, 20)),
                output,
            ],
            &[1, 2, 3],
        );
        assert_eq!(result.uninstalled, vec![3]);
        assert_eq!(result.version.table_count(), 2);
    }

    #[test]
    fn a_table_named_obsolete_by_a_later_one_is_left_out_and_proves_its_merge() {
        // 3 replaced 1 and 2 (both still here); 4, written later, names 1 and 2 as
        // removed: the merge was installed.
        let mut merged = table(3, ("a", "d"), (1, 20));
        merged.replaces = vec![1, 2];
        let mut later = table(4, ("x", "y"), (21, 30));
        later.obsolete = vec![1, 2];
        let result = rebuilt(
            vec![
                table(1, ("a", "c"), (1, 10)),
                table(2, ("b", "d"), (11, 20)),
                merged,
                later,
            ],
            &[1, 2, 3, 4],
        );
        assert_eq!(result.obsolete, vec![1, 2]);
        assert!(result.uninstalled.is_empty());
        assert_eq!(result.version.table_count(), 2);
    }

    #[test]
    fn a_table_a_drop_marker_names_is_left_out() {
        let files = FilesOnDisk {
            tables: vec![
                table(1, ("a", "c"), (1, 10)),
                table(2, ("x", "y"), (11, 20)),
            ],
            table_ids: [1, 2].into_iter().collect(),
            dropped: [1].into_iter().collect(),
            ..FilesOnDisk::default()
        };
        let result = rebuild(4, &KeyOrder::lexicographic(), files);
        assert_eq!(result.obsolete, vec![1]);
        assert_eq!(result.version.table_count(), 1);
    }

    #[test]
    fn a_dropped_table_proves_its_merge_even_when_its_input_remains() {
        // 2 replaced 1 alone; a drop then named 2. 1's deletion was lost, 2's kept:
        // the drop shows 2 was in the tree, so 1 had been replaced.
        let mut merged = table(2, ("a", "c"), (1, 10));
        merged.replaces = vec![1];
        let files = FilesOnDisk {
            tables: vec![table(1, ("a", "c"), (1, 10)), merged],
            table_ids: [1, 2].into_iter().collect(),
            dropped: [2].into_iter().collect(),
            ..FilesOnDisk::default()
        };
        let result = rebuild(4, &KeyOrder::lexicographic(), files);
        assert_eq!(result.obsolete, vec![1, 2]);
        assert_eq!(result.version.table_count(), 0);
    }

    #[test]
    fn blob_files_get_their_dead_values() {
        let mut holder = table(1, ("a", "b"), (1, 2));
        holder.meta.blob_refs = vec![crate::BlobRef {
            file_id: 7,
            frames: 3,
            value_bytes: 300,
        }];
        let files = FilesOnDisk {
            tables: vec![holder],
            table_ids: [1].into_iter().collect(),
            blob_files: vec![BlobFileInfo::new(7, 5, 500, 600)],
            blob_file_ids: [7].into_iter().collect(),
            ..FilesOnDisk::default()
        };
        let result = rebuild(4, &KeyOrder::lexicographic(), files);
        let info = result.version.blob_files()[&7];
        assert_eq!((info.dead_frames, info.dead_value_bytes), (2, 200));
        assert_eq!(result.version.table_count(), 1);
    }

    #[test]
    fn a_table_pointing_into_a_missing_blob_file_is_left_out() {
        let mut holder = table(1, ("a", "b"), (1, 2));
        holder.meta.blob_refs = vec![
            crate::BlobRef {
                file_id: 7,
                frames: 3,
                value_bytes: 300,
            },
            crate::BlobRef {
                file_id: 9,
                frames: 1,
                value_bytes: 10,
            },
        ];
        let files = FilesOnDisk {
            tables: vec![holder],
            table_ids: [1].into_iter().collect(),
            blob_files: vec![
                BlobFileInfo::new(7, 5, 500, 600),
                BlobFileInfo::new(8, 2, 20, 40),
            ],
            blob_file_ids: [7, 8].into_iter().collect(),
            ..FilesOnDisk::default()
        };
        let result = rebuild(4, &KeyOrder::lexicographic(), files);
        assert_eq!(result.unreferenced_blob_files, vec![7, 8]);
        assert_eq!(result.missing_blob_files, vec![9]);
        assert_eq!(result.broken, vec![1]);
        assert_eq!(result.version.next_blob_file_id(), 9);
    }
}
