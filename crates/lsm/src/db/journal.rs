//! The log's maintenance thread: deletes the segments every keyspace has flushed past,
//! flushes the keyspace pinning the log when it is over its cap, syncs it on the
//! background interval, and removes deleted keyspaces' directories; and [`Shared`], what
//! the handles hold, whose drop stops the thread.

use std::ops::Deref;
use std::sync::{Arc, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::db::inner::DbInner;
use crate::{Error, Result};

/// What every handle of a database ([`crate::Database`], [`crate::Keyspace`], batches
/// and snapshots) holds. Dropping the last one stops the log's thread and waits for it,
/// so the database closes on the dropping thread: its memtables are flushed, its log
/// handed to the operating system and its lock released before the drop returns.
pub(crate) struct Shared {
    inner: Arc<DbInner>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Deref for Shared {
    type Target = DbInner;

    fn deref(&self) -> &DbInner {
        &self.inner
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        *self
            .inner
            .signal
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.inner.signal.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic on the thread was reported there; nothing is left to clean.
            let _ = thread.join();
        }
    }
}

/// How often the thread looks when nothing wakes it.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Starts the thread of `inner` and returns the handles' shared part; the thread holds
/// only a weak reference.
///
/// # Errors
/// [`Error::Io`] when the thread cannot be spawned.
pub(crate) fn start(inner: DbInner) -> Result<Arc<Shared>> {
    let inner = Arc::new(inner);
    let weak = Arc::downgrade(&inner);
    let signal = Arc::clone(&inner.signal);
    let thread = std::thread::Builder::new()
        .name("lsm-journal".to_owned())
        .spawn(move || run(&weak, &signal))
        .map_err(Error::Io)?;
    Ok(Arc::new(Shared {
        inner,
        thread: Some(thread),
    }))
}

fn run(weak: &Weak<DbInner>, signal: &crate::db::inner::Signal) {
    let mut last_sync = Instant::now();
    loop {
        {
            let stop = signal.stop.lock().unwrap_or_else(PoisonError::into_inner);
            if *stop {
                return;
            }
            let (stop, _) = signal
                .wake
                .wait_timeout(stop, POLL_INTERVAL)
                .unwrap_or_else(PoisonError::into_inner);
            if *stop {
                return;
            }
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if let Some(interval) = inner.settings.sync_interval
            && last_sync.elapsed() >= interval
        {
            // A failure poisons the log; every later write reports it.
            if let Err(error) = inner.wal().and_then(|wal| Ok(wal.sync()?)) {
                tracing::error!(%error, "background log sync failed");
            }
            last_sync = Instant::now();
        }
        if let Err(error) = inner.maintain_log() {
            tracing::warn!(%error, "deleting old log segments failed; retrying");
        }
        inner.reap_deleted();
    }
}
