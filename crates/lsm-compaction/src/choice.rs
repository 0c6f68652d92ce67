//! What a strategy decides ([`Choice`], [`Input`]) and what it decides from besides the
//! version ([`CompactionState`]).

use std::collections::{HashMap, HashSet};

use lsm_core::TableId;

/// A strategy's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Nothing to do.
    DoNothing,
    /// Move the tables to another level without rewriting them (nothing they overlap is
    /// in the destination).
    Move(Input),
    /// Merge the tables into new tables in the destination level.
    Merge(Input),
    /// Delete the tables.
    Drop(HashSet<TableId>),
}

/// The tables a [`Choice::Move`] or [`Choice::Merge`] takes, and where they go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The tables.
    pub table_ids: HashSet<TableId>,
    /// The level the outputs go to.
    pub dest_level: u8,
    /// The level the choice was made for (the source level of a leveled merge).
    pub canonical_level: u8,
    /// Target size of output tables.
    pub target_size: u64,
}

/// What a strategy knows besides the version.
#[derive(Clone, Debug, Default)]
pub struct CompactionState {
    /// Tables a running compaction holds; a choice never includes them.
    pub busy_tables: HashSet<TableId>,
    /// Creation time of each table in milliseconds since the Unix epoch (FIFO's TTL);
    /// tables missing here count as new.
    pub table_created_ms: HashMap<TableId, u64>,
    /// The caller's clock, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}
