//! Sequence numbers: the engine's logical clock for MVCC.
//!
//! Every write carries a seqno; a read at seqno `r` sees the versions with seqno strictly
//! below `r`. The top bit is reserved, so [`MAX_SEQNO`] is `2^63 - 1`.

use std::fmt::Debug;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A sequence number.
pub type SeqNo = u64;

/// The largest sequence number a write may carry; the top bit is reserved for callers
/// (a transaction layer may use it to tag uncommitted versions).
pub const MAX_SEQNO: SeqNo = 0x7FFF_FFFF_FFFF_FFFF;

/// A shared, monotonically increasing seqno counter.
///
/// Clones share the same counter.
#[derive(Clone, Default, Debug)]
pub struct SequenceNumberCounter(Arc<AtomicU64>);

impl SequenceNumberCounter {
    /// A counter whose next seqno is `prev`.
    ///
    /// # Panics
    /// When `prev` is above [`MAX_SEQNO`].
    #[must_use]
    pub fn new(prev: SeqNo) -> Self {
        assert!(prev <= MAX_SEQNO, "seqno {prev} is above MAX_SEQNO");
        Self(Arc::new(AtomicU64::new(prev)))
    }

    /// Returns the current value and advances the counter by one.
    ///
    /// # Panics
    /// When the counter has reached [`MAX_SEQNO`].
    pub fn next(&self) -> SeqNo {
        let seqno = self.0.fetch_add(1, Ordering::AcqRel);
        assert!(seqno < MAX_SEQNO, "seqno counter exhausted");
        seqno
    }

    /// The current value (the seqno the next call to [`Self::next`] returns).
    #[must_use]
    pub fn get(&self) -> SeqNo {
        self.0.load(Ordering::Acquire)
    }

    /// Sets the current value.
    ///
    /// # Panics
    /// When `value` is above [`MAX_SEQNO`].
    pub fn set(&self, value: SeqNo) {
        assert!(value <= MAX_SEQNO, "seqno {value} is above MAX_SEQNO");
        self.0.store(value, Ordering::Release);
    }

    /// Raises the current value to at least `value` (clamped to [`MAX_SEQNO`]).
    pub fn fetch_max(&self, value: SeqNo) {
        self.0.fetch_max(value.min(MAX_SEQNO), Ordering::AcqRel);
    }
}

/// A source of seqnos: a tree draws write seqnos from one and publishes visible ones to
/// another. [`SequenceNumberCounter`] is the plain counter; a caller may supply its own
/// (a hybrid logical clock, or a counter shared by the trees of a database).
///
/// Seqnos must increase: `next` returns each value once, above every value returned
/// before, `get` the value `next` would return, and `fetch_max` never lowers it. The top
/// bit is reserved ([`MAX_SEQNO`]).
pub trait SequenceNumberGenerator:
    Send + Sync + Debug + UnwindSafe + RefUnwindSafe + 'static
{
    /// Returns the current value and advances past it.
    fn next(&self) -> SeqNo;

    /// The value the next call to [`Self::next`] returns.
    fn get(&self) -> SeqNo;

    /// Sets the current value.
    fn set(&self, value: SeqNo);

    /// Raises the current value to at least `value`.
    fn fetch_max(&self, value: SeqNo);
}

/// A generator shared by the trees and threads that use it.
pub type SharedSequenceNumberGenerator = Arc<dyn SequenceNumberGenerator>;

impl SequenceNumberGenerator for SequenceNumberCounter {
    fn next(&self) -> SeqNo {
        Self::next(self)
    }

    fn get(&self) -> SeqNo {
        Self::get(self)
    }

    fn set(&self, value: SeqNo) {
        Self::set(self, value);
    }

    fn fetch_max(&self, value: SeqNo) {
        Self::fetch_max(self, value);
    }
}

impl From<SequenceNumberCounter> for SharedSequenceNumberGenerator {
    fn from(counter: SequenceNumberCounter) -> Self {
        Arc::new(counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_returns_value_before_increment() {
        let counter = SequenceNumberCounter::new(5);
        assert_eq!(counter.next(), 5);
        assert_eq!(counter.get(), 6);
        counter.fetch_max(3);
        assert_eq!(counter.get(), 6);
        counter.fetch_max(u64::MAX);
        assert_eq!(counter.get(), MAX_SEQNO);
    }

    #[test]
    fn a_counter_is_a_shared_generator_and_clones_share_it() {
        let counter = SequenceNumberCounter::new(7);
        let shared: SharedSequenceNumberGenerator = counter.clone().into();
        assert_eq!(shared.next(), 7);
        assert_eq!(counter.get(), 8);
        shared.fetch_max(20);
        shared.set(21);
        assert_eq!(counter.next(), 21);
    }
}
