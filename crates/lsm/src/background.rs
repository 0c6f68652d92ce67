//! Background maintenance (opt-in): flushes and compactions on their own threads, with
//! write stalls instead of unbounded growth.
//!
//! With [`MaintenanceOptions`] set through [`crate::Config::with_background_maintenance`],
//! a write that fills the active memtable past `memtable_size_bytes` seals it and wakes
//! the flush thread; each flush wakes the compaction threads (`compaction_jobs` of
//! them), which run steps of the chosen strategy side by side on disjoint tables until
//! there is nothing left to do, each finished step waking them again. Writers slow down when sealed memtables
//! or level-0 runs pass their slowdown limits, and block when they pass their stop
//! limits, until the threads catch up; slowed down, they are paced to the rate at which
//! the threads last drained the backlog ([`WritePacing`]). An error on a thread is kept
//! and returned by the next [`crate::AbstractTree::write_admission`] (so by the next
//! `try_*` write); the thread retries after a pause unless the tree is poisoned. Dropping
//! the last handle of the tree stops both threads, waits for them, and flushes what is
//! left in memory.
//!
//! The threads hold only a weak reference to the tree, so they never keep it alive.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use lsm_core::SeqNo;

use crate::Error;
use crate::compaction::{CompactionStrategy, Leveled};
use crate::metrics::Metrics;

pub use crate::pacing::WritePacing;

/// How long a thread waits for work before looking again, and pauses after an error.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(100);

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
    /// Compaction jobs that run side by side, each on its own thread (default 2, at
    /// least 1): with two, level 0 merges within itself while an older part of it goes
    /// down, and deeper levels are merged while level 0 is.
    pub compaction_jobs: usize,
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
            compaction_jobs: 2,
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
            .field("compaction_jobs", &self.compaction_jobs)
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
    /// The drain rates slowed-down writers are paced to.
    pub(crate) pacing: WritePacing,
}

/// What a tree has waiting for its threads, as a writer's admission sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backlog {
    /// Sealed memtables waiting for a flush.
    pub(crate) sealed_memtables: usize,
    /// Runs in level 0.
    pub(crate) l0_runs: usize,
    /// Whether the tree is poisoned (its threads cannot catch up).
    pub(crate) poisoned: bool,
}

#[derive(Default)]
struct State {
    stop: bool,
    flush_pending: bool,
    /// Counts compaction requests: each compaction thread runs once per new request.
    compaction_requests: u64,
    error: Option<Error>,
}

impl Background {
    pub(crate) fn new(options: MaintenanceOptions) -> Self {
        let pacing = WritePacing::new(options.slowdown_rate, options.memtable_size_bytes);
        Self {
            options,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            progress: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            holders: Mutex::new(0),
            pacing,
        }
    }

    /// Runs `work` on the tree if it is still alive.
    pub(crate) fn with_tree<Tree, T>(
        &self,
        weak: &Weak<Tree>,
        work: impl FnOnce(&Tree) -> T,
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
    pub(crate) fn is_last_user_handle<Tree>(&self, tree: &Arc<Tree>) -> bool {
        let holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::strong_count(tree) - *holders == 1
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// Asks every compaction thread to look for work.
    pub(crate) fn request_compaction(&self) {
        self.lock().compaction_requests += 1;
        self.wake.notify_all();
    }

    /// The error a thread hit since the last call, if any.
    pub(crate) fn take_error(&self) -> Option<Error> {
        self.lock().error.take()
    }

    pub(crate) fn record(&self, error: Error) {
        tracing::warn!(%error, "background maintenance failed; retrying");
        self.lock().error.get_or_insert(error);
        self.progress.notify_all();
    }

    /// Slows down or blocks a writer of `bytes` while the tree's backlog (as `backlog`
    /// reads it, again after each wait) is past its limits; counts the waits and the
    /// sleeps in `metrics`.
    pub(crate) fn admit(&self, backlog: impl Fn() -> Backlog, bytes: u64, metrics: &Metrics) {
        let mut stalled_since = None;
        let stall_ended = |since: Option<Instant>| {
            if let Some(since) = since {
                metrics.stalled(since.elapsed());
            }
        };
        loop {
            let Backlog {
                sealed_memtables: sealed,
                l0_runs,
                poisoned,
            } = backlog();
            let options = &self.options;
            if sealed >= options.sealed_stop || l0_runs >= options.l0_stop_runs {
                let state = self.lock();
                if state.stop || state.error.is_some() || poisoned {
                    // The threads cannot catch up now; do not hang the writer.
                    stall_ended(stalled_since);
                    return;
                }
                stalled_since.get_or_insert_with(Instant::now);
                let _ = self
                    .progress
                    .wait_timeout(state, POLL_INTERVAL)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let sealed_slow = sealed >= options.sealed_slowdown;
            let l0_slow = l0_runs >= options.l0_slowdown_runs;
            stall_ended(stalled_since);
            if (sealed_slow || l0_slow)
                && let Some(slept) = self.pacing.pace(bytes, sealed_slow, l0_slow)
            {
                metrics.slowed(slept);
            }
            return;
        }
    }

    /// Adds a thread to join at shutdown.
    pub(crate) fn add_thread(&self, handle: JoinHandle<()>) {
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle);
    }

    /// Whether the threads are told to stop.
    pub(crate) fn is_stopped(&self) -> bool {
        self.lock().stop
    }

    /// Wakes writers waiting out a stall (the backlog shrank).
    pub(crate) fn notify_progress(&self) {
        self.progress.notify_all();
    }

    /// Waits for a flush request; `false` on stop.
    pub(crate) fn wait_for_flush_request(&self) -> bool {
        self.wait_until(|state| std::mem::take(&mut state.flush_pending))
    }

    /// Waits for a compaction request newer than `*seen` (and records it); `false` on
    /// stop.
    pub(crate) fn wait_for_compaction_request(&self, seen: &mut u64) -> bool {
        self.wait_until(|state| {
            let new = state.compaction_requests != *seen;
            *seen = state.compaction_requests;
            new
        })
    }

    /// Waits until `take` finds a request in the state (and takes it); `false` on stop.
    fn wait_until(&self, mut take: impl FnMut(&mut State) -> bool) -> bool {
        let mut state = self.lock();
        loop {
            if state.stop {
                return false;
            }
            if take(&mut state) {
                return true;
            }
            state = self.wait(state);
        }
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.wake
            .wait_timeout(state, POLL_INTERVAL)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }
}
