//! Helpers over a version's levels shared by the strategies.

use std::collections::HashSet;
use std::sync::Arc;

use lsm_core::{KeyOrder, KeyRange, TableId};
use lsm_version::{Level, TableMeta, Version};

/// Every table of a level.
pub(crate) fn tables_of(level: &Level) -> impl Iterator<Item = &Arc<TableMeta>> {
    level.runs().iter().flat_map(|run| run.tables())
}

/// The union of the key ranges of `tables` (in `order`), if any.
pub(crate) fn key_range_of<'a>(
    order: &KeyOrder,
    tables: impl IntoIterator<Item = &'a Arc<TableMeta>>,
) -> Option<KeyRange> {
    tables
        .into_iter()
        .map(|table| table.key_range.clone())
        .reduce(|union, range| union.union(order, &range))
}

/// The tables of `level` whose keys overlap `range` (in `order`).
pub(crate) fn overlapping<'a>(
    order: &KeyOrder,
    level: &'a Level,
    range: &KeyRange,
) -> Vec<&'a Arc<TableMeta>> {
    tables_of(level)
        .filter(|table| table.key_range.overlaps_with(order, range))
        .collect()
}

/// Whether no two of `tables` share a key (in `order`).
pub(crate) fn pairwise_disjoint(order: &KeyOrder, tables: &[&Arc<TableMeta>]) -> bool {
    let mut sorted = tables.to_vec();
    sorted.sort_by(|a, b| order.cmp(a.key_range.min(), b.key_range.min()));
    sorted
        .windows(2)
        .all(|pair| !pair[0].key_range.overlaps_with(order, &pair[1].key_range))
}

/// Whether any of `tables` is held by a running compaction.
pub(crate) fn any_busy<'a>(
    tables: impl IntoIterator<Item = &'a Arc<TableMeta>>,
    busy: &HashSet<TableId>,
) -> bool {
    tables.into_iter().any(|table| busy.contains(&table.id))
}

/// The ids of `tables`.
pub(crate) fn ids<'a>(tables: impl IntoIterator<Item = &'a Arc<TableMeta>>) -> HashSet<TableId> {
    tables.into_iter().map(|table| table.id).collect()
}

/// The level index as the `u8` the edit format uses.
pub(crate) fn level_u8(level_idx: usize) -> u8 {
    u8::try_from(level_idx).expect("versions have at most 64 levels")
}

/// The deepest level.
pub(crate) fn last_level(version: &Version) -> usize {
    version.levels().len() - 1
}

/// A merge of `table` alone back into `level_idx` (a level of one run below level 0): one
/// output, since the rewrite keeps the table's key range.
pub(crate) fn rewrite_in_place(level_idx: usize, table: &TableMeta) -> Option<crate::Choice> {
    let level = u8::try_from(level_idx).ok()?;
    Some(crate::Choice::Merge(crate::Input {
        table_ids: HashSet::from([table.id]),
        dest_level: level,
        canonical_level: level,
        target_size: table.size_bytes.saturating_mul(2).max(1 << 20),
    }))
}
