//! [`Major`]: everything into the last level, in one merge.

use lsm_version::Version;

use crate::levels::{ids, last_level, level_u8};
use crate::{Choice, CompactionState, CompactionStrategy, Input};

/// The name of [`Major`].
pub const MAJOR_COMPACTION_NAME: &str = "MajorCompaction";

/// Major compaction: merges every table into the last level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Major {
    target_size: u64,
}

impl Major {
    /// Output tables of about `target_size` bytes (at least 1 KiB).
    #[must_use]
    pub fn new(target_size: u64) -> Self {
        Self {
            target_size: target_size.max(1 << 10),
        }
    }
}

impl CompactionStrategy for Major {
    fn get_name(&self) -> &'static str {
        MAJOR_COMPACTION_NAME
    }

    fn choose(&self, version: &Version, state: &CompactionState) -> Choice {
        let tables: Vec<_> = version.tables().collect();
        if tables.is_empty()
            || tables
                .iter()
                .any(|table| state.busy_tables.contains(&table.id))
        {
            return Choice::DoNothing;
        }
        let last = last_level(version);
        Choice::Merge(Input {
            table_ids: ids(tables),
            dest_level: level_u8(last),
            canonical_level: level_u8(last),
            target_size: self.target_size,
        })
    }

    fn pending_compaction_bytes(&self, version: &Version) -> u64 {
        let last = last_level(version);
        version.levels()[..last]
            .iter()
            .map(|level| level.size_bytes())
            .sum()
    }
}
