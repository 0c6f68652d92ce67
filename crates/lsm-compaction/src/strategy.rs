//! [`CompactionStrategy`]: the planner's interface, public so users can write their own.
//!
//! A strategy looks at a version and returns a [`Choice`]. It does no I/O and cannot
//! fail: whatever it returns, the worker checks before acting (every table must be in
//! the version and not busy).

use lsm_version::Version;

use crate::{Choice, CompactionState};

/// Chooses the next compaction step.
pub trait CompactionStrategy: Send + Sync {
    /// A name for logs and metrics.
    fn get_name(&self) -> &'static str;

    /// The next step for `version`.
    fn choose(&self, version: &Version, state: &CompactionState) -> Choice;

    /// Bytes the strategy would still have to rewrite to bring the version within its
    /// targets (the compaction debt; 0 when the strategy has no notion of it).
    fn pending_compaction_bytes(&self, _version: &Version) -> u64 {
        0
    }
}
