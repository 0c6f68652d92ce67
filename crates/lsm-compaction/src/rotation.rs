//! Key rotation's choice (pure, like the planner): when some tables or blob files were
//! written under an older encryption key and nothing else is due, which tables to rewrite
//! so that they (and the values they point to) move to the current key.

use std::collections::HashSet;

use lsm_core::{BlobFileId, TableId};
use lsm_version::{TableMeta, Version};

use crate::levels::{rewrite_in_place, tables_of};
use crate::{Choice, Input};

/// A rewrite that moves some files to the current key: level 0 merged whole within
/// itself (when none of it is busy) if any of its tables is stale; else the first free
/// table of a level of one run below it that is in `stale_tables` or points into a blob
/// file of `stale_blob_files` (the merge relocates those values), rewritten in place.
/// `None` when nothing is stale. Each step leaves fewer stale files, so a quiet tree
/// rotates every file in a bounded number of steps.
#[must_use]
pub fn rotation_choice(
    version: &Version,
    busy: &HashSet<TableId>,
    stale_tables: &HashSet<TableId>,
    stale_blob_files: &HashSet<BlobFileId>,
) -> Option<Choice> {
    if stale_tables.is_empty() && stale_blob_files.is_empty() {
        return None;
    }
    let is_stale = |table: &TableMeta| {
        stale_tables.contains(&table.id)
            || table
                .blob_refs
                .iter()
                .any(|blob_ref| stale_blob_files.contains(&blob_ref.file_id))
    };
    let mut levels = version.levels().iter().enumerate();
    if let Some((_, level0)) = levels.next() {
        let tables: Vec<_> = tables_of(level0).collect();
        if tables.iter().any(|table| is_stale(table)) {
            if tables.iter().any(|table| busy.contains(&table.id)) {
                return None;
            }
            return Some(Choice::Merge(Input {
                table_ids: tables.iter().map(|table| table.id).collect(),
                dest_level: 0,
                canonical_level: 0,
                target_size: 64 << 20,
            }));
        }
    }
    levels
        .filter_map(|(level_idx, level)| match level.runs() {
            [run] => Some((level_idx, run)),
            _ => None,
        })
        .find_map(|(level_idx, run)| {
            run.tables()
                .iter()
                .find(|table| !busy.contains(&table.id) && is_stale(table))
                .and_then(|table| rewrite_in_place(level_idx, table))
        })
}

#[cfg(test)]
mod tests {
    use lsm_core::KeyRange;
    use lsm_version::{BlobFileInfo, BlobRef, VersionEdit};

    use super::*;

    fn table(id: TableId, min: &str, max: &str, blob_file: Option<BlobFileId>) -> TableMeta {
        TableMeta {
            id,
            key_range: KeyRange::new(&lsm_core::KeyOrder::lexicographic(), min.into(), max.into()),
            seqno_min: 1,
            seqno_max: 2,
            size_bytes: 100,
            entry_count: 10,
            tombstone_count: 0,
            blob_refs: blob_file
                .map(|file_id| BlobRef {
                    file_id,
                    frames: 1,
                    value_bytes: 10,
                })
                .into_iter()
                .collect(),
            digest: None,
            global_seqno: None,
        }
    }

    fn ids(choice: Option<Choice>) -> Option<(u8, Vec<TableId>)> {
        match choice? {
            Choice::Merge(input) => {
                let mut ids: Vec<_> = input.table_ids.into_iter().collect();
                ids.sort_unstable();
                Some((input.dest_level, ids))
            }
            other => panic!("expected a merge, got {other:?}"),
        }
    }

    #[test]
    fn stale_files_are_rewritten_level_0_whole_and_deeper_tables_in_place() {
        let version = Version::new(3)
            .apply(&VersionEdit {
                added: vec![(
                    2,
                    vec![table(1, "a", "c", None), table(2, "d", "f", Some(9))],
                )],
                added_blob_files: vec![BlobFileInfo::new(9, 1, 10, 50)],
                next_table_id: 3,
                next_blob_file_id: 10,
                ..VersionEdit::default()
            })
            .apply(&VersionEdit {
                added: vec![(0, vec![table(3, "a", "z", None)])],
                next_table_id: 4,
                ..VersionEdit::default()
            })
            .apply(&VersionEdit {
                added: vec![(0, vec![table(4, "a", "z", None)])],
                next_table_id: 5,
                ..VersionEdit::default()
            });
        let none = HashSet::new();
        let set = |ids: &[u64]| ids.iter().copied().collect::<HashSet<_>>();
        assert_eq!(rotation_choice(&version, &none, &none, &none), None);
        // A stale level-0 table: the whole level merges within itself, unless busy.
        assert_eq!(
            ids(rotation_choice(&version, &none, &set(&[3]), &none)),
            Some((0, vec![3, 4]))
        );
        assert_eq!(
            rotation_choice(&version, &set(&[4]), &set(&[3]), &none),
            None
        );
        // A stale table below, or one pointing into a stale blob file: rewritten alone.
        assert_eq!(
            ids(rotation_choice(&version, &none, &set(&[1]), &none)),
            Some((2, vec![1]))
        );
        assert_eq!(
            ids(rotation_choice(&version, &none, &none, &set(&[9]))),
            Some((2, vec![2]))
        );
        assert_eq!(
            rotation_choice(&version, &set(&[2]), &none, &set(&[9])),
            None
        );
    }
}
