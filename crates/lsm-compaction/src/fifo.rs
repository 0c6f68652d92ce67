//! [`Fifo`]: keep the tree under a size limit by dropping its oldest tables.
//!
//! Tables whose age passed the TTL are dropped first; then, while the tree is above
//! `limit` bytes, the tables with the oldest data (lowest newest seqno) go. When level 0
//! grows past [`FIFO_L0_RUN_LIMIT`] runs, its runs merge into one so that reads stay fast.
//! Nothing is ever rewritten otherwise: FIFO suits data that expires as a whole (logs,
//! metrics, caches).

use std::collections::HashSet;

use lsm_version::Version;

use crate::levels::ids;
use crate::{Choice, CompactionState, CompactionStrategy, Input};

/// The name of [`Fifo`].
pub const FIFO_COMPACTION_NAME: &str = "FifoCompaction";

/// Level-0 runs past which FIFO merges level 0 into one run.
pub const FIFO_L0_RUN_LIMIT: usize = 16;

/// Target size of the tables FIFO's level-0 merge writes.
const FIFO_TABLE_TARGET_BYTES: u64 = 64 << 20;

/// FIFO compaction; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fifo {
    /// Bytes the tree may hold.
    pub limit: u64,
    /// Age after which a table is dropped, if any.
    pub ttl_seconds: Option<u64>,
}

impl Fifo {
    /// FIFO with a size `limit` and an optional TTL.
    #[must_use]
    pub fn new(limit: u64, ttl_seconds: Option<u64>) -> Self {
        Self { limit, ttl_seconds }
    }
}

impl CompactionStrategy for Fifo {
    fn get_name(&self) -> &'static str {
        FIFO_COMPACTION_NAME
    }

    fn choose(&self, version: &Version, state: &CompactionState) -> Choice {
        let free = |id: &u64| !state.busy_tables.contains(id);
        if let Some(ttl_seconds) = self.ttl_seconds {
            let ttl_ms = ttl_seconds.saturating_mul(1_000);
            let expired: HashSet<_> = version
                .tables()
                .filter(|table| free(&table.id))
                .filter(|table| {
                    state
                        .table_created_ms
                        .get(&table.id)
                        .is_some_and(|&created| created.saturating_add(ttl_ms) <= state.now_ms)
                })
                .map(|table| table.id)
                .collect();
            if !expired.is_empty() {
                return Choice::Drop(expired);
            }
        }
        let total: u64 = version.tables().map(|table| table.size_bytes).sum();
        if total > self.limit {
            let mut oldest_first: Vec<_> =
                version.tables().filter(|table| free(&table.id)).collect();
            oldest_first.sort_by_key(|table| (table.seqno_max, table.id));
            let mut remaining = total;
            let mut dropped = HashSet::new();
            for table in oldest_first {
                if remaining <= self.limit {
                    break;
                }
                remaining -= table.size_bytes;
                dropped.insert(table.id);
            }
            if !dropped.is_empty() {
                return Choice::Drop(dropped);
            }
        }
        if let Some(level0) = version.levels().first()
            && level0.runs().len() > FIFO_L0_RUN_LIMIT
        {
            let tables: Vec<_> = level0.runs().iter().flat_map(|run| run.tables()).collect();
            if tables.iter().all(|table| free(&table.id)) {
                return Choice::Merge(Input {
                    table_ids: ids(tables),
                    dest_level: 0,
                    canonical_level: 0,
                    target_size: FIFO_TABLE_TARGET_BYTES,
                });
            }
        }
        Choice::DoNothing
    }

    fn pending_compaction_bytes(&self, version: &Version) -> u64 {
        let total: u64 = version.tables().map(|table| table.size_bytes).sum();
        total.saturating_sub(self.limit)
    }
}
