//! Background maintenance (opt-in): flushes and compactions on their own threads, with
//! write stalls instead of unbounded growth.
//!
//! With [`MaintenanceOptions`] set through [`crate::Config::with_background_maintenance`],
//! a write that fills the active memtable past `memtable_size_bytes` seals it and wakes
//! the flush thread; each flush wakes the compaction thread, which runs steps of the
//! chosen strategy until it has nothing to do. Writers slow down when sealed memtables
//! or level-0 runs pass their slowdown limits, and block when they pass their stop
//! limits, until the threads catch up. Slowed down, writes are paced to a byte rate:
//! by default the rate at which the threads last drained the backlog (the last flush's
//! memtable bytes per second; for level 0, the memtables' worth of runs the last merge
//! out of it took per second), so that the backlog holds still instead of growing to a
//! stop or being starved. A writer sleeps once a millisecond of delay is owed, at most a
//! second at a time (a stall beyond that is the stop limits' job). An error on a thread
//! is kept and returned by the next [`crate::AbstractTree::write_admission`] (so by the next
//! `try_*` write); the thread retries after a pause unless the tree is poisoned. Dropping
//! the last handle of the tree stops both threads, waits for them, and flushes what is
//! left in memory.
//!
//! The threads hold only a weak reference to the tree, so they never keep it alive.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use lsm_core::SeqNo;

use crate::compaction::{CompactionAction, CompactionStrategy, Leveled};
use crate::tree::TreeInner;
use crate::{Error, Result};

/// How long a thread waits for work before looking again, and pauses after an error.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The GC watermark source of background work.
pub type WatermarkFn = Arc<dyn Fn() -> SeqNo + Send + Sync>;

/// Settings of background maintenance; see the module docs.
#[derive(Clone)]
pub struct MaintenanceOptions {
    /// Active memtable size that seals it for a flush (default 64 MiB).
    pub memtable_size_bytes: u64,
    /// The compaction strategy (default [`Leveled`]).
    pub strategy: Arc<dyn CompactionStrategy>,
    /// The GC watermark for background flushes and compactions: no version a read at or
    /// above it can see is dropped. The default, 0, keeps every version; set it to the
    /// oldest seqno your snapshots read at. It must not hold a handle of the tree (the
    /// tree would then never see its last handle drop).
    pub gc_watermark: WatermarkFn,
    /// Sealed memtables from which writers slow down (default 2).
    pub sealed_slowdown: usize,
    /// Sealed memtables from which writers wait (default 4).
    pub sealed_stop: usize,
    /// Level-0 runs from which writers slow down (default 20).
    pub l0_slowdown_runs: usize,
    /// Level-0 runs from which writers wait (default 36).
    pub l0_stop_runs: usize,
    /// The byte rate writes are paced to while slowed down; `None` (the default)
    /// matches the rate the threads last drained the backlog at (see the module docs).
    pub slowdown_rate: Option<u64>,
}

impl Default for MaintenanceOptions {
    fn default() -> Self {
        Self {
            memtable_size_bytes: 64 << 20,
            strategy: Arc::new(Leveled::default()),
            gc_watermark: Arc::new(|| 0),
            sealed_slowdown: 2,
            sealed_stop: 4,
            l0_slowdown_runs: 20,
            l0_stop_runs: 36,
            slowdown_rate: None,
        }
    }
}

impl std::fmt::Debug for MaintenanceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaintenanceOptions")
            .field("memtable_size_bytes", &self.memtable_size_bytes)
            .field("strategy", &self.strategy.get_name())
            .field("sealed_stop", &self.sealed_stop)
            .field("l0_stop_runs", &self.l0_stop_runs)
            .field("slowdown_rate", &self.slowdown_rate)
            .finish_non_exhaustive()
    }
}

/// The running maintenance of one tree.
pub(crate) struct Background {
    pub(crate) options: MaintenanceOptions,
    state: Mutex<State>,
    /// Wakes the threads.
    wake: Condvar,
    /// Wakes stalled writers.
    progress: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Strong references the threads hold right now (counted under this lock, so that
    /// dropping a handle can tell whether it was the last one a user held).
    holders: Mutex<usize>,
    /// Bytes per second the last flush drained sealed memtables at (0 before one).
    flush_rate: AtomicU64,
    /// Memtable bytes per second the last merge out of level 0 drained it at (0 before
    /// one).
    l0_rate: AtomicU64,
    /// Delay owed by paced writers and not slept yet, in nanoseconds.
    owed_nanos: AtomicU64,
}

/// The pacing rate before any drain was measured (bytes per second).
const FALLBACK_RATE: u64 = 16 << 20;

/// Owed delay (nanoseconds) below which a paced writer does not sleep yet.
const MIN_PAUSE_NANOS: u64 = 1_000_000;

/// The longest one paced writer sleeps (nanoseconds); debt beyond it is forgiven.
const MAX_PAUSE_NANOS: u64 = 1_000_000_000;

/// `bytes` drained in `elapsed`, per second (at least 1).
fn rate(bytes: u64, elapsed: Duration) -> u64 {
    let nanos = elapsed.as_nanos().max(1);
    u64::try_from(u128::from(bytes) * 1_000_000_000 / nanos)
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The level-0 runs of `tree` now, as the ids of their first tables.
fn l0_runs(tree: &TreeInner) -> BTreeSet<u64> {
    tree.super_version()
        .version
        .levels()
        .first()
        .map(|level| {
            level
                .runs()
                .iter()
                .filter_map(|run| run.tables().first().map(|table| table.id))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Default)]
struct State {
    stop: bool,
    flush_pending: bool,
    compaction_pending: bool,
    error: Option<Error>,
}

impl Background {
    pub(crate) fn new(options: MaintenanceOptions) -> Self {
        Self {
            options,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            progress: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            holders: Mutex::new(0),
            flush_rate: AtomicU64::new(0),
            l0_rate: AtomicU64::new(0),
            owed_nanos: AtomicU64::new(0),
        }
    }

    /// Runs `work` on the tree if it is still alive.
    fn with_tree<T>(
        &self,
        weak: &Weak<TreeInner>,
        work: impl FnOnce(&TreeInner) -> T,
    ) -> Option<T> {
        let tree = {
            let mut holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
            let tree = weak.upgrade()?;
            *holders += 1;
            tree
        };
        let result = work(&tree);
        let mut holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
        drop(tree);
        *holders -= 1;
        Some(result)
    }

    /// Whether `tree` (one user handle of it) is the last handle a user holds.
    pub(crate) fn is_last_user_handle(&self, tree: &Arc<TreeInner>) -> bool {
        let holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::strong_count(tree) - *holders == 1
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the flush and compaction threads of `tree`.
    pub(crate) fn start(self: &Arc<Self>, tree: &Arc<TreeInner>) -> Result<()> {
        let mut threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, body) in [
            ("lsm-flush", flush_loop as fn(&Weak<TreeInner>, &Background)),
            ("lsm-compaction", compaction_loop),
        ] {
            let weak = Arc::downgrade(tree);
            let background = Arc::clone(self);
            let handle = std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || body(&weak, &background))
                .map_err(Error::Io)?;
            threads.push(handle);
        }
        Ok(())
    }

    /// Stops the threads and waits for them (except the calling thread, when the last
    /// handle of the tree was dropped on one of them).
    pub(crate) fn shutdown(&self) {
        self.lock().stop = true;
        self.wake.notify_all();
        self.progress.notify_all();
        let current: ThreadId = std::thread::current().id();
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in threads {
            if handle.thread().id() != current {
                let _ = handle.join();
            }
        }
    }

    /// Asks for a flush.
    pub(crate) fn request_flush(&self) {
        self.lock().flush_pending = true;
        self.wake.notify_all();
    }

    fn request_compaction(&self) {
        self.lock().compaction_pending = true;
        self.wake.notify_all();
    }

    /// The error a thread hit since the last call, if any.
    pub(crate) fn take_error(&self) -> Option<Error> {
        self.lock().error.take()
    }

    fn record(&self, error: Error) {
        tracing::warn!(%error, "background maintenance failed; retrying");
        self.lock().error.get_or_insert(error);
        self.progress.notify_all();
    }

    /// Slows down or blocks a writer of `bytes` while the tree is past its limits.
    pub(crate) fn admit(&self, tree: &TreeInner, bytes: u64) {
        loop {
            let current = tree.super_version();
            let sealed = current.sealed.len();
            let l0_runs = current
                .version
                .levels()
                .first()
                .map_or(0, |level| level.runs().len());
            drop(current);
            let options = &self.options;
            if sealed >= options.sealed_stop || l0_runs >= options.l0_stop_runs {
                let state = self.lock();
                if state.stop || state.error.is_some() || tree.poisoned.load(Ordering::Acquire) {
                    // The threads cannot catch up now; do not hang the writer.
                    return;
                }
                let _ = self
                    .progress
                    .wait_timeout(state, POLL_INTERVAL)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let sealed_slow = sealed >= options.sealed_slowdown;
            let l0_slow = l0_runs >= options.l0_slowdown_runs;
            if sealed_slow || l0_slow {
                self.pace(bytes, self.pacing_rate(sealed_slow, l0_slow));
            }
            return;
        }
    }

    /// The byte rate of writes slowed down by the memtables (`sealed`) and level 0.
    fn pacing_rate(&self, sealed: bool, l0: bool) -> u64 {
        if let Some(rate) = self.options.slowdown_rate {
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

    /// Charges `bytes` at `rate` and sleeps off the delay owed once it reaches a
    /// millisecond.
    fn pace(&self, bytes: u64, rate: u64) {
        if let Some(pause) = self.charge(bytes, rate) {
            std::thread::sleep(pause);
        }
    }

    /// Adds the delay of `bytes` at `rate` to the debt; once it reaches a millisecond,
    /// takes it all and returns the pause to sleep (at most [`MAX_PAUSE_NANOS`]).
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

    /// Records a flush of `bytes` of memtables that took `elapsed`.
    fn record_flush(&self, bytes: u64, elapsed: Duration) {
        self.flush_rate
            .store(rate(bytes, elapsed), Ordering::Relaxed);
    }

    /// Records a compaction step that took `elapsed` and removed `runs` level-0 runs.
    fn record_l0_drain(&self, runs: usize, elapsed: Duration) {
        if runs > 0 {
            let bytes = self.options.memtable_size_bytes.saturating_mul(runs as u64);
            self.l0_rate.store(rate(bytes, elapsed), Ordering::Relaxed);
        }
    }

    /// Waits until a request or a stop; `false` on stop.
    fn wait_for(&self, pending: fn(&mut State) -> &mut bool) -> bool {
        let mut state = self.lock();
        loop {
            if state.stop {
                return false;
            }
            let flag = pending(&mut state);
            if *flag {
                *flag = false;
                return true;
            }
            state = self
                .wake
                .wait_timeout(state, POLL_INTERVAL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

fn flush_loop(weak: &Weak<TreeInner>, background: &Background) {
    while background.wait_for(|state| &mut state.flush_pending) {
        let outcome = background.with_tree(weak, |tree| {
            let watermark = (background.options.gc_watermark)();
            let flushed = {
                let lock = tree.flush_lock();
                let bytes: u64 = tree
                    .super_version()
                    .sealed
                    .iter()
                    .map(|memtable| memtable.approximate_size())
                    .sum();
                let started = Instant::now();
                let flushed = tree.flush_sealed(&lock, watermark);
                if matches!(flushed, Ok(Some(_))) {
                    background.record_flush(bytes, started.elapsed());
                }
                flushed
            };
            flushed.map_err(|error| {
                let fatal =
                    matches!(error, Error::Unrecoverable) || tree.poisoned.load(Ordering::Acquire);
                (error, fatal)
            })
        });
        match outcome {
            None => return,
            Some(Ok(flushed)) => {
                if flushed.is_some() {
                    background.request_compaction();
                }
                background.progress.notify_all();
            }
            Some(Err((error, fatal))) => {
                background.record(error);
                if fatal {
                    return;
                }
                std::thread::sleep(POLL_INTERVAL);
                background.request_flush();
            }
        }
    }
}

fn compaction_loop(weak: &Weak<TreeInner>, background: &Background) {
    while background.wait_for(|state| &mut state.compaction_pending) {
        loop {
            if background.lock().stop {
                return;
            }
            let outcome = background.with_tree(weak, |tree| {
                let watermark = (background.options.gc_watermark)();
                let before = l0_runs(tree);
                let started = Instant::now();
                let result = tree
                    .compact(background.options.strategy.as_ref(), watermark)
                    .map_err(|error| (error, tree.poisoned.load(Ordering::Acquire)));
                if result.is_ok() {
                    let after = l0_runs(tree);
                    background
                        .record_l0_drain(before.difference(&after).count(), started.elapsed());
                }
                result
            });
            match outcome {
                None | Some(Err((Error::Closed, _))) => return,
                Some(Ok(result)) if result.action == CompactionAction::Nothing => break,
                Some(Ok(_)) => background.progress.notify_all(),
                Some(Err((error, fatal))) => {
                    background.record(error);
                    if fatal {
                        return;
                    }
                    std::thread::sleep(POLL_INTERVAL);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn background(slowdown_rate: Option<u64>) -> Background {
        Background::new(MaintenanceOptions {
            memtable_size_bytes: 1 << 20,
            slowdown_rate,
            ..MaintenanceOptions::default()
        })
    }

    #[test]
    fn rate_is_bytes_per_second_and_never_zero() {
        assert_eq!(rate(1 << 20, Duration::from_millis(500)), 2 << 20);
        assert_eq!(rate(0, Duration::from_secs(1)), 1);
        assert_eq!(rate(5, Duration::ZERO), 5_000_000_000);
        assert_eq!(rate(u64::MAX, Duration::from_nanos(1)), u64::MAX);
    }

    #[test]
    fn a_set_rate_wins_over_the_measured_ones() {
        let background = background(Some(1234));
        background.record_flush(1 << 20, Duration::from_secs(1));
        assert_eq!(background.pacing_rate(true, false), 1234);
        assert_eq!(background.pacing_rate(false, true), 1234);
        assert_eq!(self::background(Some(0)).pacing_rate(true, true), 1);
    }

    #[test]
    fn measured_rates_pace_their_own_backlog_and_the_slower_one_both() {
        let background = background(None);
        assert_eq!(background.pacing_rate(true, false), FALLBACK_RATE);
        assert_eq!(background.pacing_rate(false, true), FALLBACK_RATE);
        background.record_flush(8 << 20, Duration::from_secs(1));
        // Two memtables' worth of level-0 runs drained in one second.
        background.record_l0_drain(2, Duration::from_secs(1));
        assert_eq!(background.pacing_rate(true, false), 8 << 20);
        assert_eq!(background.pacing_rate(false, true), 2 << 20);
        assert_eq!(background.pacing_rate(true, true), 2 << 20);
        // A step that drained no level-0 run leaves the measured rate alone.
        background.record_l0_drain(0, Duration::from_nanos(1));
        assert_eq!(background.pacing_rate(false, true), 2 << 20);
    }

    #[test]
    fn pacing_owes_small_writes_and_takes_the_debt_once_it_reaches_a_pause() {
        let background = background(None);
        // 1,000 bytes at 1 GB/s cost a microsecond each: owed, not slept.
        for writes in 1..=999_u64 {
            assert_eq!(background.charge(1_000, 1_000_000_000), None);
            assert_eq!(
                background.owed_nanos.load(Ordering::Acquire),
                writes * 1_000
            );
        }
        // The thousandth brings the debt to a millisecond: its writer takes all of it.
        assert_eq!(
            background.charge(1_000, 1_000_000_000),
            Some(Duration::from_millis(1))
        );
        assert_eq!(background.owed_nanos.load(Ordering::Acquire), 0);
        // A write that would owe an hour pauses a second at most and leaves no debt.
        assert_eq!(background.charge(3_600, 1), Some(Duration::from_secs(1)));
        assert_eq!(background.owed_nanos.load(Ordering::Acquire), 0);
        assert_eq!(background.charge(u64::MAX, 1), Some(Duration::from_secs(1)));
    }
}
