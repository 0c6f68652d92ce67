//! [`Admission`]: the storage gate of `try_*` writes and the room check of merges,
//! when [`crate::RuntimeConfig::storage_admission_check`] is on.
//!
//! The gate compares what the tree will hold (its files, measured when the version
//! changes, plus its memtables now) with a limit: the quota, or the files plus the file
//! system's free space, whichever is lower, also measured when the version changes. A
//! write costs an atomic load and a sum of memtable sizes. While writes are refused the
//! limit is measured again at most every [`REPROBE`], so that space freed elsewhere
//! reopens the gate by itself.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::runtime_config::RuntimeConfig;
use crate::{Error, Result};

/// How often a refused write measures the free space again.
pub(crate) const REPROBE: Duration = Duration::from_millis(100);

/// What the gate last measured (see the module documentation).
pub(crate) struct Admission {
    /// Bytes of the tree's tables and blob files.
    files: AtomicU64,
    /// The most the tree may hold; `u64::MAX` when unbounded.
    limit: AtomicU64,
    /// When the limit was measured.
    measured: Mutex<Instant>,
}

/// A measurement: the files' bytes and the free space (`None` when the file system
/// cannot tell).
pub(crate) struct Measure {
    pub files: u64,
    pub available: Option<u64>,
}

impl Measure {
    /// The most the tree may hold: the lower of `quota` and the files plus the free
    /// space; `None` when neither bounds it.
    pub(crate) fn limit(&self, quota: Option<u64>) -> Option<u64> {
        let by_disk = self
            .available
            .map(|available| self.files.saturating_add(available));
        quota.into_iter().chain(by_disk).min()
    }
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            files: AtomicU64::new(0),
            limit: AtomicU64::new(u64::MAX),
            measured: Mutex::new(Instant::now()),
        }
    }
}

impl Admission {
    /// Records a new measurement under `config`.
    pub(crate) fn record(&self, measure: &Measure, config: &RuntimeConfig) {
        let limit = measure
            .limit(config.storage_limit_bytes)
            .unwrap_or(u64::MAX);
        self.files.store(measure.files, Ordering::Relaxed);
        self.limit.store(limit, Ordering::Relaxed);
        *self.measured.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// Whether a write may go on with `memtables` bytes in memory; `measure` takes a new
    /// measurement when the last one refuses and is older than [`REPROBE`].
    ///
    /// # Errors
    /// [`Error::StorageFull`] with what the tree would hold and the limit.
    pub(crate) fn admit(
        &self,
        config: &RuntimeConfig,
        memtables: u64,
        measure: impl FnOnce() -> Measure,
    ) -> Result<()> {
        if !config.storage_admission_check {
            return Ok(());
        }
        if self.fits(memtables).is_ok() {
            return Ok(());
        }
        let stale = self
            .measured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
            >= REPROBE;
        if stale {
            self.record(&measure(), config);
        }
        self.fits(memtables)
    }

    fn fits(&self, memtables: u64) -> Result<()> {
        let used = self.files.load(Ordering::Relaxed).saturating_add(memtables);
        let limit = self.limit.load(Ordering::Relaxed);
        if used <= limit {
            Ok(())
        } else {
            Err(Error::StorageFull { used, limit })
        }
    }

    /// The bytes a merge may write: the limit less what the tree holds (its files, and
    /// `memtables` waiting to be flushed).
    pub(crate) fn room(&self, memtables: u64) -> u64 {
        self.limit
            .load(Ordering::Relaxed)
            .saturating_sub(self.files.load(Ordering::Relaxed))
            .saturating_sub(memtables)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn on(limit: Option<u64>) -> RuntimeConfig {
        RuntimeConfig {
            storage_admission_check: true,
            storage_limit_bytes: limit,
            ..RuntimeConfig::default()
        }
    }

    #[test]
    fn the_gate_takes_the_lower_of_quota_and_disk_and_reopens_after_a_new_measure() {
        let gate = Admission::default();
        let config = on(Some(1_000));
        let measure = |files, available| Measure { files, available };
        gate.record(&measure(600, Some(10_000)), &config);
        gate.admit(&config, 400, || unreachable!()).unwrap();
        assert_eq!(gate.room(100), 300);
        // Over the quota; the measurement is fresh, so no new one is taken.
        assert!(matches!(
            gate.admit(&config, 401, || unreachable!()),
            Err(Error::StorageFull {
                used: 1_001,
                limit: 1_000
            })
        ));
        // The disk is tighter than the quota.
        gate.record(&measure(600, Some(100)), &config);
        assert!(gate.admit(&config, 101, || unreachable!()).is_err());
        // Off, nothing is checked.
        gate.admit(&RuntimeConfig::default(), u64::MAX, || unreachable!())
            .unwrap();
        // A stale refusal measures again: space came back.
        *gate.measured.lock().unwrap() -= REPROBE;
        gate.admit(&config, 101, || measure(600, Some(5_000)))
            .unwrap();
        // Unbounded: no quota and no free-space probe.
        gate.record(&measure(600, None), &on(None));
        gate.admit(&on(None), u64::MAX - 600, || unreachable!())
            .unwrap();
    }
}
