//! Checks a [`Choice`] against the version before anything acts on it.
//!
//! A strategy cannot fail, but a user's strategy can be wrong, and a wrong choice could
//! put older versions in front of newer ones. A choice is refused unless:
//!
//! 1. every table it names is in the version and not busy;
//! 2. a move or merge sends tables only down or within their level (never up);
//! 3. level-0 tables go as whole runs: all of level 0 when they leave it, a prefix of
//!    its runs (the newest) when the output stays in level 0;
//! 4. a table that skips levels takes along every table it overlaps in the levels it
//!    skips (the older data there would otherwise end up above it);
//! 5. a move does not land on tables it overlaps.

use std::collections::HashSet;

use lsm_core::TableId;
use lsm_version::Version;

use crate::levels::{overlapping, pairwise_disjoint, tables_of};
use crate::{Choice, CompactionState, Input};

/// Why a choice was refused (see the module docs for the rules).
pub type Refusal = &'static str;

/// Checks `choice` against `version`; see the module docs.
///
/// # Errors
/// The rule the choice breaks.
pub fn validate(
    version: &Version,
    state: &CompactionState,
    choice: &Choice,
) -> Result<(), Refusal> {
    let present: HashSet<TableId> = version.tables().map(|table| table.id).collect();
    let named: &HashSet<TableId> = match choice {
        Choice::DoNothing => return Ok(()),
        Choice::Drop(ids) => ids,
        Choice::Move(input) | Choice::Merge(input) => &input.table_ids,
    };
    if named.is_empty() {
        return Err("the choice names no table");
    }
    if !named.is_subset(&present) {
        return Err("the choice names a table the version does not hold");
    }
    if !named.is_disjoint(&state.busy_tables) {
        return Err("the choice names a table a running compaction holds");
    }
    match choice {
        Choice::Move(input) => {
            check_input(version, input)?;
            let moved: Vec<_> = version
                .tables()
                .filter(|table| input.table_ids.contains(&table.id))
                .collect();
            if input.dest_level > 0 && !pairwise_disjoint(version.order(), &moved) {
                return Err("moved tables overlap each other below level 0");
            }
            let dest = &version.levels()[usize::from(input.dest_level)];
            for table in version
                .tables()
                .filter(|table| input.table_ids.contains(&table.id))
            {
                if overlapping(version.order(), dest, &table.key_range)
                    .iter()
                    .any(|other| !input.table_ids.contains(&other.id))
                {
                    return Err("a moved table overlaps tables in its destination");
                }
            }
            Ok(())
        }
        Choice::Merge(input) => check_input(version, input),
        Choice::Drop(_) | Choice::DoNothing => Ok(()),
    }
}

fn check_input(version: &Version, input: &Input) -> Result<(), Refusal> {
    let levels = version.levels();
    let dest = usize::from(input.dest_level);
    if dest >= levels.len() {
        return Err("the destination level does not exist");
    }
    let level_of = |id: TableId| {
        levels
            .iter()
            .position(|level| tables_of(level).any(|table| table.id == id))
            .expect("named tables are in the version")
    };
    if input.table_ids.iter().any(|&id| level_of(id) > dest) {
        return Err("a table would move up");
    }
    // Level 0 leaves as whole runs: all of it when going down, the newest when staying.
    let runs = levels[0].runs();
    let taken: Vec<bool> = runs
        .iter()
        .map(|run| {
            let count = run
                .tables()
                .iter()
                .filter(|t| input.table_ids.contains(&t.id))
                .count();
            if count == 0 {
                Ok(false)
            } else if count == run.tables().len() {
                Ok(true)
            } else {
                Err("a level-0 run is taken in part")
            }
        })
        .collect::<Result<_, _>>()?;
    if taken.iter().any(|&t| t) {
        let prefix = taken.iter().take_while(|&&t| t).count();
        if taken[prefix..].iter().any(|&t| t) {
            return Err("level-0 runs are taken out of age order");
        }
        if dest > 0 && prefix != runs.len() {
            return Err("level 0 goes down only as a whole");
        }
    }
    // A table skipping levels takes what it overlaps there.
    for (level_idx, level) in levels.iter().enumerate().take(dest) {
        for table in tables_of(level).filter(|t| input.table_ids.contains(&t.id)) {
            for skipped in levels.iter().take(dest).skip(level_idx + 1) {
                if overlapping(version.order(), skipped, &table.key_range)
                    .iter()
                    .any(|other| !input.table_ids.contains(&other.id))
                {
                    return Err("a table skips levels that hold tables it overlaps");
                }
            }
        }
    }
    Ok(())
}
