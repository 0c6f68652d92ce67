//! [`Flusher`]: completes appends once the database's log is synced, on a thread of its
//! own, so that Raft goes on (replicates, accepts the next append) while a sync runs,
//! and appends that arrive during one share the next.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use lsm::{Database, PersistMode};
use openraft::RaftTypeConfig;
use openraft::storage::LogFlushed;

/// Hands appends' callbacks to the syncing thread; dropping it (with every clone of
/// the sender) ends the thread after it completes what it holds.
pub struct Flusher<C: RaftTypeConfig> {
    sender: Sender<LogFlushed<C>>,
    thread: Option<JoinHandle<()>>,
}

impl<C: RaftTypeConfig> Flusher<C> {
    /// Starts the thread that syncs `db`'s log.
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub fn start(db: Database) -> std::io::Result<Self> {
        let (sender, receiver) = channel();
        let thread = std::thread::Builder::new()
            .name("lsm-raft-flush".to_owned())
            .spawn(move || run(&db, &receiver))?;
        Ok(Self {
            sender,
            thread: Some(thread),
        })
    }

    /// Completes `callback` once everything written before this call is synced.
    /// Should the thread be gone, the callback reports the error instead of success.
    pub fn complete_when_synced(&self, callback: LogFlushed<C>) {
        if let Err(returned) = self.sender.send(callback) {
            returned.0.log_io_completed(Err(std::io::Error::other(
                "the log's sync thread has stopped",
            )));
        }
    }
}

impl<C: RaftTypeConfig> Drop for Flusher<C> {
    fn drop(&mut self) {
        // Close the channel so that the thread ends, then wait for it: a callback it
        // holds is completed, not dropped.
        let (sender, _) = channel();
        drop(std::mem::replace(&mut self.sender, sender));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits for a callback, takes every other one already queued, syncs once and
/// completes them in order. A failed sync fails every callback it held (the log is
/// poisoned then, so every later one fails too).
fn run<C: RaftTypeConfig>(db: &Database, receiver: &Receiver<LogFlushed<C>>) {
    while let Ok(first) = receiver.recv() {
        let mut pending = vec![first];
        pending.extend(receiver.try_iter());
        let outcome = db.persist(PersistMode::SyncData);
        for callback in pending {
            let result = match &outcome {
                Ok(()) => Ok(()),
                Err(error) => Err(std::io::Error::other(error.to_string())),
            };
            callback.log_io_completed(result);
        }
    }
}
