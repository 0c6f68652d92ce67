//! The `Database` layer: named keyspaces over one write-ahead log (`lsm-wal`), with
//! writes durable when their call returns, atomic batches across keyspaces, and
//! snapshots as objects. The shape is fjall 3's ([`crate::Database::builder`],
//! [`crate::Database::keyspace`], [`Batch`], [`Snapshot`], [`crate::PersistMode`]).
//!
//! Files, from the bottom floor up: `layout` (the directory and the registry format),
//! `options` and `snapshots` (settings, open snapshots), `inner` (the shared state and
//! the write path), `journal` (the log's maintenance thread), `keyspace`, `batch` and
//! `snapshot` (the handles), `database` (the entry point and recovery).
//!
//! **Durability.** A write is one log record; its call returns once the record is as
//! durable as its [`crate::Durability`] asks (buffered in memory, handed to the
//! operating system, or synced), concurrent writers sharing one write and one sync.
//! A failed log write or sync poisons the log: no later write is acknowledged until
//! the database is reopened. **Recovery** opens every keyspace's tree, then replays
//! the log a segment at a time into the keyspaces whose tables do not hold each batch
//! yet; a torn tail is cut. **Log trimming**: once every keyspace has flushed past a segment's writes, the
//! segment is deleted; past [`crate::DatabaseBuilder::max_journal_size`], the keyspace
//! holding the oldest writes in memory is flushed so that it can be.

pub mod layout;

mod batch;
mod database;
mod inner;
mod journal;
mod keyspace;
mod options;
mod snapshot;
mod snapshots;

pub use batch::Batch;
pub use database::{Database, PersistMode};
pub use keyspace::Keyspace;
pub use options::{ConfigFn, DatabaseBuilder, KeyspaceCreateOptions};
pub use snapshot::Snapshot;
