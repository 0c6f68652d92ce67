//! The compaction jobs running on a tree: the tables each holds, so that jobs run side by
//! side on disjoint inputs.
//!
//! A step chooses and claims its inputs under one lock, so no two running jobs share a
//! table. A step that finds nothing to do while other jobs run either returns (the
//! background threads: the job that finishes asks for another step) or, when its caller
//! must wait for the tree to be free (a user's call, such as a major compaction), waits
//! for a job to finish and chooses again; while such a caller waits, background steps
//! start no new job, so it cannot be starved.

use std::collections::HashSet;
use std::sync::PoisonError;

use lsm_core::TableId;

use crate::sync::{Condvar, Mutex, MutexGuard};

/// The running jobs of one tree; see the module docs.
pub(crate) struct Jobs {
    state: Mutex<State>,
    finished: Condvar,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            state: Mutex::new(State::default()),
            finished: Condvar::new(),
        }
    }
}

#[derive(Default)]
pub(crate) struct State {
    /// Tables a running job holds.
    pub(crate) busy: HashSet<TableId>,
    /// Jobs running.
    pub(crate) running: usize,
    /// Callers waiting for the tree to be free.
    pub(crate) waiting: usize,
}

/// Whether a step waits for running jobs when it finds nothing else to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Wait, and keep background steps from starting jobs meanwhile.
    ForFree,
    /// Return at once.
    No,
}

impl Jobs {
    /// The state, locked: a step chooses under this lock and claims before releasing it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a running job finishes (or a moment passes).
    pub(crate) fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.finished
            .wait_timeout(state, std::time::Duration::from_millis(100))
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// Claims `tables` for a job (under the lock the choice was made with).
    pub(crate) fn claim<'a>(
        &'a self,
        state: &mut State,
        tables: impl IntoIterator<Item = TableId>,
    ) -> Claim<'a> {
        let tables: Vec<TableId> = tables.into_iter().collect();
        state.busy.extend(tables.iter().copied());
        state.running += 1;
        Claim { jobs: self, tables }
    }

    /// Whether any job runs.
    pub(crate) fn any_running(&self) -> bool {
        self.lock().running > 0
    }
}

/// The inputs of one running job; dropping it frees them and wakes waiting callers.
pub(crate) struct Claim<'a> {
    jobs: &'a Jobs,
    tables: Vec<TableId>,
}

impl Claim<'_> {
    /// The tables claimed.
    pub(crate) fn tables(&self) -> &[TableId] {
        &self.tables
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut state = self.jobs.lock();
        for id in &self.tables {
            state.busy.remove(id);
        }
        state.running -= 1;
        drop(state);
        self.jobs.finished.notify_all();
    }
}

/// The loom models of the claims and the wait (`--cfg loom`; `docs/reliability.md`).
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::thread;

    use super::*;

    /// Two jobs choose overlapping inputs (tables 1-2 and 2-3) under the lock while a
    /// caller waits for the tree to be free: no table is ever held by two running jobs,
    /// the waiter wakes (no lost notification), and it finds no table busy.
    #[test]
    fn claims_never_overlap_and_a_waiting_caller_wakes() {
        crate::sync::loom_model(
            "loom: the compaction jobs' claims and the wait for a free tree",
            || {
                let jobs = Arc::new(Jobs::default());
                // Running jobs holding each table (tables 1 to 3).
                let holders: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
                let workers: Vec<_> = [[1_u64, 2], [2, 3]]
                    .into_iter()
                    .map(|tables| {
                        let (jobs, holders) = (Arc::clone(&jobs), Arc::clone(&holders));
                        thread::spawn(move || {
                            let mut state = jobs.lock();
                            if tables.iter().any(|id| state.busy.contains(id)) {
                                return false;
                            }
                            let claim = jobs.claim(&mut state, tables);
                            drop(state);
                            for &id in claim.tables() {
                                let before = holders[id as usize].fetch_add(1, Ordering::SeqCst);
                                assert_eq!(before, 0, "table {id} held by two jobs");
                            }
                            for &id in claim.tables() {
                                holders[id as usize].fetch_sub(1, Ordering::SeqCst);
                            }
                            drop(claim);
                            true
                        })
                    })
                    .collect();
                {
                    let mut state = jobs.lock();
                    while state.running > 0 {
                        state = jobs.wait(state);
                    }
                    assert!(state.busy.is_empty(), "no job runs, yet tables are busy");
                }
                let ran: Vec<bool> = workers
                    .into_iter()
                    .map(|worker| worker.join().unwrap())
                    .collect();
                // At least one job claims its tables (the first to take the lock).
                assert!(ran.iter().any(|&ran| ran));
                let state = jobs.lock();
                assert!(state.busy.is_empty() && state.running == 0);
            },
        );
    }
}
