//! [`RuntimeConfig`]: the settings a running tree takes changes of without a restart
//! (`AbstractTree::update_runtime_config`). They are swapped whole and atomically; the
//! next write, flush or compaction uses the new ones. They are not persisted: a reopen
//! starts from [`crate::Config::with_runtime_config`] again. Files describe themselves,
//! so no setting here can make an older file unreadable.

use crate::{Error, Result};

/// Settings a running tree can change (see the module documentation). Build one with
/// `RuntimeConfig::default()` and set its fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// Refuse `try_*` writes and `apply_batch` with [`Error::StorageFull`] while the
    /// tree's files, plus what its memtables will flush, would pass
    /// [`Self::storage_limit_bytes`] or the file system's free space; and defer a merge
    /// whose inputs would not fit in the room left. Reads keep working, and writes are
    /// admitted again by themselves once there is room (default `false`).
    pub storage_admission_check: bool,
    /// A byte quota for the tree's files, checked when
    /// [`Self::storage_admission_check`] is on (default `None`: only free space).
    pub storage_limit_bytes: Option<u64>,
    /// Compaction writes, in bytes per second; `None`: not limited. Starts from
    /// [`crate::Config::compaction_rate_limit`].
    pub compaction_rate_limit: Option<u64>,
}

impl RuntimeConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero quota or a zero rate (use `None`).
    pub fn validate(&self) -> Result<()> {
        if self.storage_limit_bytes == Some(0) {
            return Err(Error::InvalidConfig(
                "storage_limit_bytes of 0: no write could be admitted (use None for no quota)",
            ));
        }
        if self.compaction_rate_limit == Some(0) {
            return Err(Error::InvalidConfig(
                "compaction_rate_limit of 0 bytes per second (use None for no limit)",
            ));
        }
        Ok(())
    }
}
