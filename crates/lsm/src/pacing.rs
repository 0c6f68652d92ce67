//! [`WritePacing`]: how fast writers go while a tree's backlog slows them down.
//!
//! Background maintenance measures how fast it drains each backlog: a flush, the bytes
//! of the memtables it wrote per second; a merge out of level 0, the memtables' worth
//! of runs it removed per second. A slowed-down writer is charged its bytes at the
//! slower of the rates of the backlogs that slow it (or a rate the caller set), so that
//! the backlog holds still instead of growing to a stop or being starved. The charges
//! add up to a debt of delay shared by every writer; the writer whose charge brings it
//! to a millisecond takes all of it and sleeps it off, at most a second at a time (a
//! stall longer than that is the stop limits' job).
//!
//! The type is public so that other engines driven the same way (the benchmark tool
//! drives two) are paced by the very same rule.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::sync::AtomicU64;

/// The pacing rate before any drain was measured (bytes per second).
pub const FALLBACK_RATE: u64 = 16 << 20;

/// Owed delay (nanoseconds) below which a paced writer does not sleep yet.
const MIN_PAUSE_NANOS: u64 = 1_000_000;

/// The longest one paced writer sleeps (nanoseconds); debt beyond it is forgiven.
const MAX_PAUSE_NANOS: u64 = 1_000_000_000;

/// Measured drain rates and the delay writers owe; see the module docs.
#[derive(Debug)]
pub struct WritePacing {
    /// A rate set by the caller, used instead of the measured ones.
    fixed_rate: Option<u64>,
    /// Bytes of one memtable: what a level-0 run stands for.
    memtable_bytes: u64,
    /// Bytes per second of the last flush (0 before one).
    flush_rate: AtomicU64,
    /// Memtable bytes per second the last merge out of level 0 drained it at (0 before
    /// one).
    l0_rate: AtomicU64,
    /// Delay owed by paced writers and not slept yet, in nanoseconds.
    owed_nanos: AtomicU64,
}

impl WritePacing {
    /// Pacing at `fixed_rate` bytes per second, or (with `None`) at the measured drain
    /// rates, for memtables of `memtable_bytes`.
    #[must_use]
    pub fn new(fixed_rate: Option<u64>, memtable_bytes: u64) -> Self {
        Self {
            fixed_rate,
            memtable_bytes,
            flush_rate: AtomicU64::new(0),
            l0_rate: AtomicU64::new(0),
            owed_nanos: AtomicU64::new(0),
        }
    }

    /// Records a flush of `bytes` of memtables that took `elapsed`.
    pub fn record_flush(&self, bytes: u64, elapsed: Duration) {
        if bytes > 0 {
            self.flush_rate
                .store(rate(bytes, elapsed), Ordering::Relaxed);
        }
    }

    /// Records a compaction step that took `elapsed` and removed `runs` level-0 runs.
    pub fn record_l0_drain(&self, runs: u64, elapsed: Duration) {
        if runs > 0 {
            let bytes = self.memtable_bytes.saturating_mul(runs);
            self.l0_rate.store(rate(bytes, elapsed), Ordering::Relaxed);
        }
    }

    /// The byte rate of a writer slowed down by the sealed memtables (`sealed`) and by
    /// level 0 (`l0`).
    #[must_use]
    pub fn rate(&self, sealed: bool, l0: bool) -> u64 {
        if let Some(rate) = self.fixed_rate {
            return rate.max(1);
        }
        let measured = |rate: &AtomicU64| match rate.load(Ordering::Relaxed) {
            0 => FALLBACK_RATE,
            rate => rate,
        };
        match (sealed, l0) {
            (true, true) => measured(&self.flush_rate).min(measured(&self.l0_rate)),
            (true, false) => measured(&self.flush_rate),
            _ => measured(&self.l0_rate),
        }
    }

    /// Paces a write of `bytes` slowed down by the sealed memtables (`sealed`) and by
    /// level 0 (`l0`): charges it and sleeps off the debt once it reaches a
    /// millisecond; returns the sleep, if it slept.
    pub fn pace(&self, bytes: u64, sealed: bool, l0: bool) -> Option<Duration> {
        let pause = self.charge(bytes, self.rate(sealed, l0))?;
        std::thread::sleep(pause);
        Some(pause)
    }

    /// Adds the delay of `bytes` at `rate` to the debt; once it reaches a millisecond,
    /// takes it all and returns the pause to sleep (at most a second).
    fn charge(&self, bytes: u64, rate: u64) -> Option<Duration> {
        let cost = u64::try_from(u128::from(bytes) * 1_000_000_000 / u128::from(rate.max(1)))
            .unwrap_or(u64::MAX);
        let owed = self
            .owed_nanos
            .fetch_add(cost, Ordering::AcqRel)
            .saturating_add(cost);
        if owed < MIN_PAUSE_NANOS {
            return None;
        }
        // Whoever takes the debt sleeps it off; the others go on owing from zero.
        let taken = self.owed_nanos.swap(0, Ordering::AcqRel);
        Some(Duration::from_nanos(taken.min(MAX_PAUSE_NANOS)))
    }
}

/// `bytes` drained in `elapsed`, per second (at least 1).
fn rate(bytes: u64, elapsed: Duration) -> u64 {
    let nanos = elapsed.as_nanos().max(1);
    u64::try_from(u128::from(bytes) * 1_000_000_000 / nanos)
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_bytes_per_second_and_never_zero() {
        assert_eq!(rate(1 << 20, Duration::from_millis(500)), 2 << 20);
        assert_eq!(rate(0, Duration::from_secs(1)), 1);
        assert_eq!(rate(5, Duration::ZERO), 5_000_000_000);
        assert_eq!(rate(u64::MAX, Duration::from_nanos(1)), u64::MAX);
    }

    #[test]
    fn a_set_rate_wins_over_the_measured_ones() {
        let pacing = WritePacing::new(Some(1234), 1 << 20);
        pacing.record_flush(1 << 20, Duration::from_secs(1));
        assert_eq!(pacing.rate(true, false), 1234);
        assert_eq!(pacing.rate(false, true), 1234);
        assert_eq!(WritePacing::new(Some(0), 1 << 20).rate(true, true), 1);
    }

    #[test]
    fn measured_rates_pace_their_own_backlog_and_the_slower_one_both() {
        let pacing = WritePacing::new(None, 1 << 20);
        assert_eq!(pacing.rate(true, false), FALLBACK_RATE);
        assert_eq!(pacing.rate(false, true), FALLBACK_RATE);
        pacing.record_flush(8 << 20, Duration::from_secs(1));
        // Two memtables' worth of level-0 runs drained in one second.
        pacing.record_l0_drain(2, Duration::from_secs(1));
        assert_eq!(pacing.rate(true, false), 8 << 20);
        assert_eq!(pacing.rate(false, true), 2 << 20);
        assert_eq!(pacing.rate(true, true), 2 << 20);
        // A step that drained no level-0 run, or a flush of nothing, changes nothing.
        pacing.record_l0_drain(0, Duration::from_nanos(1));
        pacing.record_flush(0, Duration::from_secs(1));
        assert_eq!(pacing.rate(false, true), 2 << 20);
        assert_eq!(pacing.rate(true, false), 8 << 20);
    }

    #[test]
    fn pacing_owes_small_writes_and_takes_the_debt_once_it_reaches_a_pause() {
        let pacing = WritePacing::new(None, 1 << 20);
        // 1,000 bytes at 1 GB/s cost a microsecond each: owed, not slept.
        for writes in 1..=999_u64 {
            assert_eq!(pacing.charge(1_000, 1_000_000_000), None);
            assert_eq!(pacing.owed_nanos.load(Ordering::Acquire), writes * 1_000);
        }
        // The thousandth brings the debt to a millisecond: its writer takes all of it.
        assert_eq!(
            pacing.charge(1_000, 1_000_000_000),
            Some(Duration::from_millis(1))
        );
        assert_eq!(pacing.owed_nanos.load(Ordering::Acquire), 0);
        // A write that would owe an hour pauses a second at most and leaves no debt.
        assert_eq!(pacing.charge(3_600, 1), Some(Duration::from_secs(1)));
        assert_eq!(pacing.owed_nanos.load(Ordering::Acquire), 0);
        assert_eq!(pacing.charge(u64::MAX, 0), Some(Duration::from_secs(1)));
    }
}

/// The loom model of the shared debt (`--cfg loom`; `docs/reliability.md`).
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// Three writers charge at once: every nanosecond charged is either slept by one
    /// of them or still owed, never lost and never slept twice.
    #[test]
    fn charged_delay_is_slept_once_or_still_owed() {
        crate::sync::loom_model("loom: the write pacing's shared debt", || {
            let pacing = Arc::new(WritePacing::new(Some(1_000_000_000), 1 << 20));
            // Each charge costs 600 us: two reach the millisecond.
            let writers: Vec<_> = (0..3)
                .map(|_| {
                    let pacing = Arc::clone(&pacing);
                    thread::spawn(move || {
                        pacing
                            .charge(600_000, 1_000_000_000)
                            .map_or(0, |pause| pause.as_nanos())
                    })
                })
                .collect();
            let slept: u128 = writers
                .into_iter()
                .map(|writer| writer.join().unwrap())
                .sum();
            let owed = u128::from(pacing.owed_nanos.load(Ordering::SeqCst));
            assert_eq!(slept + owed, 3 * 600_000);
        });
    }
}
