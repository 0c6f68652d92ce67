//! The primitives of the synchronisation cores that loom checks (the super-version's
//! installs and the write gate, the compaction jobs' claims and waits, the write
//! pacing's debt): the standard library's (and `arc-swap`'s), or loom's in a
//! `--cfg loom` build, so that the models run the production types themselves
//! (`docs/reliability.md`, goal G9).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockWriteGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockWriteGuard};

/// An `Arc` readers load without waiting and writers replace whole: `arc-swap`'s.
#[cfg(not(loom))]
pub(crate) struct ArcCell<T>(arc_swap::ArcSwap<T>);

#[cfg(not(loom))]
impl<T> ArcCell<T> {
    pub(crate) fn from_pointee(value: T) -> Self {
        Self(arc_swap::ArcSwap::from_pointee(value))
    }

    pub(crate) fn load_full(&self) -> std::sync::Arc<T> {
        self.0.load_full()
    }

    pub(crate) fn peek<R>(&self, look: impl FnOnce(&T) -> R) -> R {
        look(&self.0.load())
    }

    pub(crate) fn store(&self, value: std::sync::Arc<T>) {
        self.0.store(value);
    }
}

/// The same in a loom build: `arc-swap` has no loom support, so a loom mutex holds the
/// `Arc` (each load and store one atomic step, as `arc-swap` promises).
#[cfg(loom)]
pub(crate) struct ArcCell<T>(Mutex<std::sync::Arc<T>>);

#[cfg(loom)]
impl<T> ArcCell<T> {
    pub(crate) fn from_pointee(value: T) -> Self {
        Self(Mutex::new(std::sync::Arc::new(value)))
    }

    pub(crate) fn load_full(&self) -> std::sync::Arc<T> {
        std::sync::Arc::clone(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub(crate) fn peek<R>(&self, look: impl FnOnce(&T) -> R) -> R {
        look(&self.load_full())
    }

    pub(crate) fn store(&self, value: std::sync::Arc<T>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = value;
    }
}

/// Runs the loom model `body` exhaustively and records it for the reliability program
/// (goal G9) as `harness`.
#[cfg(all(test, loom))]
pub(crate) fn loom_model(harness: &str, body: impl Fn() + Sync + Send + 'static) {
    let started = std::time::Instant::now();
    loom::model(body);
    lsm_testkit::reliability::record("G9", harness, 1, "exhaustive loom models", started);
}
