//! [`PinBudget`]: a bound on the bytes tables keep pinned in memory.
//!
//! A table opened with [`crate::ReadOptions::pin_index`] or
//! [`crate::ReadOptions::pin_filter`] keeps its top-level index and its filter (or a
//! partitioned filter's index) decoded in memory, where every read finds them without
//! the block cache. With a budget in [`crate::ReadOptions::pin_budget`], a table pins
//! only what still fits (the index first, then the filter: the index serves every read
//! that reaches the table, the filter every read that asks it), and reads the rest
//! through the block cache; a table gives its bytes back when it is dropped. One budget
//! may serve many trees.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A bound on pinned bytes, shared by the tables that take from it; see the module docs.
#[derive(Debug)]
pub struct PinBudget {
    limit: u64,
    used: AtomicU64,
}

impl PinBudget {
    /// A budget of `limit` bytes.
    #[must_use]
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// The bound.
    #[must_use]
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes pinned now by the open tables that took from this budget.
    #[must_use]
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Takes `bytes` if they fit.
    fn try_take(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// What one table took from a budget; given back when dropped.
#[derive(Debug, Default)]
pub(crate) struct PinGrant {
    taken: Option<(Arc<PinBudget>, u64)>,
}

impl PinGrant {
    /// Takes `bytes` more from `budget` (always granted without one).
    pub(crate) fn take(&mut self, budget: Option<&Arc<PinBudget>>, bytes: u64) -> bool {
        let Some(budget) = budget else {
            return true;
        };
        if !budget.try_take(bytes) {
            return false;
        }
        match &mut self.taken {
            Some((_, taken)) => *taken += bytes,
            None => self.taken = Some((Arc::clone(budget), bytes)),
        }
        true
    }
}

impl Drop for PinGrant {
    fn drop(&mut self) {
        if let Some((budget, bytes)) = self.taken.take() {
            budget.give_back(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_take_what_fits_and_give_it_back_when_dropped() {
        let budget = PinBudget::new(100);
        let mut first = PinGrant::default();
        assert!(first.take(Some(&budget), 60));
        let mut second = PinGrant::default();
        assert!(!second.take(Some(&budget), 50), "60 + 50 is over the bound");
        assert!(second.take(Some(&budget), 40));
        assert_eq!(budget.used(), 100);
        drop(first);
        assert_eq!(budget.used(), 40);
        assert!(second.take(Some(&budget), 60));
        drop(second);
        assert_eq!(budget.used(), 0);
        assert!(
            PinGrant::default().take(None, u64::MAX),
            "no budget, no bound"
        );
    }
}
