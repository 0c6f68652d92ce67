//! The log's maintenance thread: deletes the segments every keyspace has flushed past,
//! flushes the keyspace pinning the log when it is over its cap, syncs it on the
//! background interval, and removes deleted keyspaces' directories.

use std::sync::{Arc, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::db::inner::DbInner;
use crate::{Error, Result};

/// How often the thread looks when nothing wakes it.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Starts the thread of `inner`; it holds only a weak reference, so it never keeps the
/// database open.
///
/// # Errors
/// [`Error::Io`] when the thread cannot be spawned.
pub(crate) fn start(inner: &Arc<DbInner>) -> Result<()> {
    let weak = Arc::downgrade(inner);
    let signal = Arc::clone(&inner.signal);
    let handle = std::thread::Builder::new()
        .name("lsm-journal".to_owned())
        .spawn(move || run(&weak, &signal))
        .map_err(Error::Io)?;
    *inner
        .journal_thread
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(handle);
    Ok(())
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
            if let Err(error) = inner.wal.sync() {
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
