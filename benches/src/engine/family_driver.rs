//! Background maintenance for the lsm-tree-family peers (fjall's lsm-tree and
//! coordinode-lsm-tree), which leave flushing and compaction to their caller: the same
//! scheme our engine runs on its own threads. A write that fills the active memtable
//! past the matched size seals it and wakes one flush thread; each flush wakes one
//! compaction thread, which runs leveled steps until the tree's shape stops changing.
//! Writers slow down and then wait at the same sealed-memtable and level-0 limits as
//! ours, and slowed down they are paced by our own rule ([`WritePacing`]: the rate at
//! which the threads last drained the backlog). The first error of a thread is returned
//! by the next write.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lsm::background::WritePacing;

use super::Result;
use crate::settings::{L0_SLOWDOWN_RUNS, L0_STOP_RUNS, Settings};

/// What the driver needs of a tree.
pub trait FamilyTree: Send + Sync + 'static {
    /// Bytes in the active memtable.
    fn active_bytes(&self) -> u64;
    /// Seals the active memtable.
    fn rotate(&self);
    /// Flushes every sealed memtable, keeping what a read at `watermark` can see.
    fn flush_sealed(&self, watermark: u64) -> Result<()>;
    /// Runs one step of leveled compaction.
    fn compact_step(&self, watermark: u64) -> Result<()>;
    /// Sealed memtables waiting for a flush.
    fn sealed_count(&self) -> usize;
    /// Level-0 runs.
    fn l0_runs(&self) -> usize;
    /// Tables per level: a step that changes nothing leaves it equal.
    fn shape(&self) -> Vec<usize>;
    /// The GC watermark: the next seqno to be written.
    fn watermark(&self) -> u64;
}

const PRESSURE_NONE: u8 = 0;
const PRESSURE_SLOW: u8 = 1;
const PRESSURE_STOP: u8 = 2;
/// Bits of `Shared::slow_causes`: sealed memtables, level-0 runs.
const SLOW_FLUSH: u8 = 1;
const SLOW_L0: u8 = 2;
const POLL: Duration = Duration::from_millis(100);
/// Steps one settle may run before it reports that compaction never converges.
const SETTLE_STEPS_MAX: usize = 100_000;

/// A tree and the threads that maintain it; dropping it stops and joins them.
pub struct Driver<T: FamilyTree> {
    shared: Arc<Shared<T>>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared<T> {
    tree: T,
    memtable_bytes: u64,
    sealed_slowdown: usize,
    sealed_stop: usize,
    state: Mutex<State>,
    wake: Condvar,
    progress: Condvar,
    pressure: AtomicU8,
    /// Which backlog slowed writers down: flush and/or level 0 (bits).
    slow_causes: AtomicU8,
    /// The drain rates slowed-down writers are paced to.
    pacing: WritePacing,
    /// Set with `State::error`, so that writes look at an atomic, not the lock.
    failed: AtomicBool,
    rotation: Mutex<()>,
}

#[derive(Default)]
struct State {
    stop: bool,
    flush_pending: bool,
    compaction_pending: bool,
    compacting: bool,
    error: Option<String>,
}

impl<T: FamilyTree> Driver<T> {
    /// Starts the flush and compaction threads for `tree`.
    pub fn start(tree: T, settings: &Settings) -> Self {
        let shared = Arc::new(Shared {
            tree,
            memtable_bytes: settings.memtable_bytes,
            sealed_slowdown: settings.sealed_slowdown(),
            sealed_stop: settings.sealed_stop(),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            progress: Condvar::new(),
            pressure: AtomicU8::new(PRESSURE_NONE),
            slow_causes: AtomicU8::new(0),
            pacing: WritePacing::new(None, settings.memtable_bytes),
            failed: AtomicBool::new(false),
            rotation: Mutex::new(()),
        });
        let flusher = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || shared.flush_loop())
        };
        let compactor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || shared.compaction_loop())
        };
        Self {
            shared,
            threads: vec![flusher, compactor],
        }
    }

    /// The tree.
    pub fn tree(&self) -> &T {
        &self.shared.tree
    }

    /// Call after each write of `written_bytes` with the active memtable's size it
    /// reported: seals a full memtable and applies write stalls.
    ///
    /// # Errors
    /// The first error a background thread met.
    pub fn after_write(&self, written_bytes: u64, memtable_bytes: u64) -> Result<()> {
        let shared = &*self.shared;
        if memtable_bytes >= shared.memtable_bytes {
            let _rotation = lock(&shared.rotation);
            // Another writer may have sealed it meanwhile.
            if shared.tree.active_bytes() >= shared.memtable_bytes {
                shared.tree.rotate();
                shared.update_pressure();
                let mut state = lock(&shared.state);
                state.flush_pending = true;
                shared.wake.notify_all();
            }
        }
        match shared.pressure.load(Ordering::Acquire) {
            PRESSURE_NONE => {}
            PRESSURE_SLOW => {
                let causes = shared.slow_causes.load(Ordering::Acquire);
                shared.pacing.pace(
                    written_bytes,
                    causes & SLOW_FLUSH != 0,
                    causes & SLOW_L0 != 0,
                );
            }
            _ => {
                let mut state = lock(&shared.state);
                while shared.pressure.load(Ordering::Acquire) == PRESSURE_STOP
                    && state.error.is_none()
                {
                    state = shared
                        .progress
                        .wait_timeout(state, POLL)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    shared.update_pressure();
                }
            }
        }
        if shared.failed.load(Ordering::Acquire) {
            return lock(&shared.state).error.clone().map_or(Ok(()), Err);
        }
        Ok(())
    }

    /// Flushes everything in memory and waits until compaction has nothing to do.
    ///
    /// # Errors
    /// A flush or compaction error, or a background thread's.
    pub fn settle(&self) -> Result<()> {
        let shared = &*self.shared;
        {
            let _rotation = lock(&shared.rotation);
            if shared.tree.active_bytes() > 0 {
                shared.tree.rotate();
            }
        }
        shared.tree.flush_sealed(shared.tree.watermark())?;
        {
            let mut state = lock(&shared.state);
            while state.compacting || state.compaction_pending || state.flush_pending {
                if let Some(error) = state.error.clone() {
                    return Err(error);
                }
                state = shared
                    .progress
                    .wait_timeout(state, POLL)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        for _ in 0..SETTLE_STEPS_MAX {
            let before = shared.tree.shape();
            shared.tree.compact_step(shared.tree.watermark())?;
            if shared.tree.shape() == before {
                shared.update_pressure();
                return Ok(());
            }
        }
        Err("compaction did not settle".to_owned())
    }
}

impl<T: FamilyTree> Drop for Driver<T> {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl<T: FamilyTree> Shared<T> {
    fn update_pressure(&self) {
        let sealed = self.tree.sealed_count();
        let l0 = self.tree.l0_runs();
        let mut causes = 0;
        if sealed >= self.sealed_slowdown {
            causes |= SLOW_FLUSH;
        }
        if l0 >= L0_SLOWDOWN_RUNS {
            causes |= SLOW_L0;
        }
        let pressure = if sealed >= self.sealed_stop || l0 >= L0_STOP_RUNS {
            PRESSURE_STOP
        } else if causes != 0 {
            PRESSURE_SLOW
        } else {
            PRESSURE_NONE
        };
        self.slow_causes.store(causes, Ordering::Release);
        self.pressure.store(pressure, Ordering::Release);
    }

    /// Waits until `pending` says there is work (clearing it) or the driver stops.
    fn wait_for(&self, pending: impl Fn(&mut State) -> &mut bool) -> Option<MutexGuard<'_, State>> {
        let mut state = lock(&self.state);
        loop {
            if state.stop {
                return None;
            }
            let flag = pending(&mut state);
            if *flag {
                *flag = false;
                return Some(state);
            }
            state = self
                .wake
                .wait_timeout(state, POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn fail(&self, error: String) {
        let mut state = lock(&self.state);
        state.error.get_or_insert(error);
        self.failed.store(true, Ordering::Release);
        self.progress.notify_all();
    }

    fn flush_loop(&self) {
        while let Some(state) = self.wait_for(|state| &mut state.flush_pending) {
            drop(state);
            let bytes = self.memtable_bytes * self.tree.sealed_count() as u64;
            let started = Instant::now();
            if let Err(error) = self.tree.flush_sealed(self.tree.watermark()) {
                self.fail(error);
                return;
            }
            self.pacing.record_flush(bytes, started.elapsed());
            self.update_pressure();
            lock(&self.state).compaction_pending = true;
            self.wake.notify_all();
            self.progress.notify_all();
        }
    }

    fn compaction_loop(&self) {
        while let Some(mut state) = self.wait_for(|state| &mut state.compaction_pending) {
            state.compacting = true;
            drop(state);
            let result = self.compact_until_settled();
            lock(&self.state).compacting = false;
            self.progress.notify_all();
            if let Err(error) = result {
                self.fail(error);
                return;
            }
        }
    }

    fn compact_until_settled(&self) -> Result<()> {
        loop {
            let before = self.tree.shape();
            let l0_before = self.tree.l0_runs();
            let started = Instant::now();
            self.tree.compact_step(self.tree.watermark())?;
            // Flushes may add runs meanwhile: the drain is counted low, never high.
            let drained = l0_before.saturating_sub(self.tree.l0_runs()) as u64;
            self.pacing.record_l0_drain(drained, started.elapsed());
            self.update_pressure();
            self.progress.notify_all();
            if self.tree.shape() == before || lock(&self.state).stop {
                return Ok(());
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
