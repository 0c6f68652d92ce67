//! Compaction through the facade: strategies ([`Leveled`], [`SizeTiered`], [`Fifo`], or
//! one of your own) choose, the tree checks the choice and carries it out; this module
//! holds what a caller names (the strategies, filters, and the result of a step).
//!
//! [`crate::AbstractTree::compact`] runs one step: the strategy's choice is validated
//! against the current version (a wrong choice is refused with a typed error, never
//! acted on), then a move re-files tables, a drop removes them (like `drop_range`: reads
//! below its seqno keep their answers until a GC watermark passes it), and a merge reads
//! the chosen tables, keeps what reads at or above the watermark can see, writes new
//! tables, and installs them and removes the inputs in one version edit. Steps run side
//! by side on disjoint tables; flushes go on while a merge writes (see ARCHITECTURE.md).

/// What a strategy sees: a version's levels of runs of tables.
pub use lsm_version::{Level, Run, TableMeta, Version};

pub mod filter;

pub use lsm_compaction::{
    Choice, CompactionState, CompactionStrategy, FIFO_COMPACTION_NAME, Fifo, Input,
    LEVELED_COMPACTION_NAME, Leveled, Levelled, MAJOR_COMPACTION_NAME, Major, SizeTiered,
    TIERED_COMPACTION_NAME,
};

/// What a compaction step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactionAction {
    /// Nothing (the strategy chose nothing).
    Nothing,
    /// Tables were merged into new ones.
    Merged,
    /// Tables moved to another level without a rewrite.
    Moved,
    /// Tables were dropped.
    Dropped,
}

/// Why a compaction step ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompactionReason {
    /// The compaction strategy chose it (level sizes, level-0 runs, expiry, ...).
    Strategy,
    /// Blob files with too much garbage: their live values are relocated.
    BlobGc,
    /// Files written under an older encryption key are rewritten under the current.
    KeyRotation,
}

impl CompactionReason {
    /// Every reason.
    pub const ALL: [Self; 3] = [Self::Strategy, Self::BlobGc, Self::KeyRotation];

    /// A short name for logs and reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Strategy => "strategy",
            Self::BlobGc => "blob gc",
            Self::KeyRotation => "key rotation",
        }
    }
}

/// The outcome of a compaction step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactionResult {
    /// What happened.
    pub action: CompactionAction,
    /// Where the tables went (moves and merges).
    pub dest_level: Option<u8>,
    /// Tables taken.
    pub tables_in: usize,
    /// Tables written (merges) or moved.
    pub tables_out: usize,
}

impl CompactionResult {
    /// The result of a step that did nothing.
    #[must_use]
    pub fn nothing() -> Self {
        Self {
            action: CompactionAction::Nothing,
            dest_level: None,
            tables_in: 0,
            tables_out: 0,
        }
    }
}
