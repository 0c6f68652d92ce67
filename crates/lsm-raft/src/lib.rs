//! The engine as the storage of a Raft group: [`openraft`]'s log storage and state
//! machine on an [`lsm::Database`].
//!
//! [`open`] gives a group's two halves on one database: a [`LogStore`] (entries keyed by
//! index, the vote and the committed id; purges and truncations are range deletes) and a
//! key-value [`StateMachine`] of [`Request`]s (each `apply` commits its changes and the
//! last applied id in one batch). Both share the database's log, so the vote and the
//! appended entries are synced with the database's group commit, and a purge's sync also
//! makes every applied write before it durable. Snapshots are database snapshots: holding
//! one costs no copy, and its stream (`docs/format/raft-snapshot.md`) is checksummed.
//!
//! Several groups can share one database (each under its own name), which is how a
//! store sharded by key range across Raft groups keeps one log and one cache per machine.
//!
//! ```
//! use lsm::Database;
//! use lsm_raft::TypeConfig;
//!
//! let dir = tempfile::tempdir()?;
//! let db = Database::builder(dir.path()).open()?;
//! let (log_store, state_machine) = lsm_raft::open::<TypeConfig>(&db, "users")?;
//! let reads = state_machine.clone();
//! // openraft::Raft::new(id, config, network, log_store, state_machine).await ...
//! # drop((log_store, state_machine));
//! assert_eq!(reads.get(b"ada")?, None);
//! # Ok::<(), lsm::Error>(())
//! ```

#![allow(
    clippy::result_large_err,
    reason = "openraft's traits return its own StorageError"
)]

mod codec;
mod flusher;
mod log_store;
mod request;
mod state_machine;

pub use codec::SnapshotError;
pub use log_store::LogStore;
pub use openraft;
pub use request::{KEY_LEN_MAX, Request, RequestError, Response, TypeConfig, VALUE_LEN_MAX};
pub use state_machine::StateMachine;

use lsm::{Database, KeyspaceCreateOptions};
use openraft::RaftTypeConfig;

/// The log store and the state machine of the group `group` in `db`, in the keyspaces
/// `<group>.log` and `<group>.sm` (created when missing).
///
/// # Errors
/// A group name that does not make a valid keyspace name
/// ([`lsm::Error::InvalidKeyspaceName`]), the errors of opening a keyspace, and
/// [`lsm::Error::Io`] when the log's sync thread cannot start.
pub fn open<C: RaftTypeConfig>(
    db: &Database,
    group: &str,
) -> lsm::Result<(LogStore<C>, StateMachine<C>)> {
    let log = db.keyspace(&format!("{group}.log"), KeyspaceCreateOptions::default)?;
    let sm = db.keyspace(&format!("{group}.sm"), KeyspaceCreateOptions::default)?;
    Ok((
        LogStore::new(db.clone(), log)?,
        StateMachine::new(db.clone(), sm),
    ))
}
