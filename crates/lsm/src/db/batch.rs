//! [`Batch`]: changes to several keyspaces that take effect together.

use std::sync::Arc;

use lsm_wal::{Durability, WalOp};

use crate::db::inner::KeyspaceState;
use crate::db::journal::Shared;
use crate::db::keyspace::Keyspace;
use crate::{Result, UserKey, UserValue};

/// Changes to any keyspaces of one database, written as one log record at one seqno by
/// [`Self::commit`]: after a crash, all of them are there or none; readers see all of
/// them or none. A later change to a key in the same batch replaces an earlier one
/// (merge operands are combined), and mixing a merge with another kind of change on one
/// key is [`crate::Error::MixedOperationBatch`]; a range delete covers what was written
/// before the batch, not the batch's own changes.
///
/// ```
/// use lsm::{Database, Durability, KeyspaceCreateOptions};
///
/// let dir = tempfile::tempdir()?;
/// let db = Database::builder(dir.path()).open()?;
/// let accounts = db.keyspace("accounts", KeyspaceCreateOptions::default)?;
/// let log = db.keyspace("log", KeyspaceCreateOptions::default)?;
///
/// let mut batch = db.batch().durability(Durability::Sync);
/// batch.insert(&accounts, "ada", "90");
/// batch.insert(&accounts, "bob", "110");
/// batch.insert(&log, "0001", "ada -> bob: 10");
/// batch.commit()?;
/// assert_eq!(accounts.get("bob")?.as_deref(), Some(&b"110"[..]));
/// # Ok::<(), lsm::Error>(())
/// ```
#[must_use = "a batch does nothing until it is committed"]
pub struct Batch {
    db: Arc<Shared>,
    changes: Vec<(Arc<KeyspaceState>, WalOp)>,
    durability: Durability,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("changes", &self.changes.len())
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl Batch {
    pub(crate) fn new(db: Arc<Shared>) -> Self {
        let durability = db.settings.durability;
        Self {
            db,
            changes: Vec::new(),
            durability,
        }
    }

    /// How durable the batch is when [`Self::commit`] returns (default: the database's
    /// [`crate::DatabaseBuilder::durability`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    fn push(&mut self, keyspace: &Keyspace, op: WalOp) {
        self.changes.push((Arc::clone(&keyspace.state), op));
    }

    /// Sets `key` of `keyspace` to `value`.
    pub fn insert<K: Into<UserKey>, V: Into<UserValue>>(
        &mut self,
        keyspace: &Keyspace,
        key: K,
        value: V,
    ) {
        let (key, value) = (key.into(), value.into());
        self.push(keyspace, WalOp::Insert { key, value });
    }

    /// Deletes `key` of `keyspace`.
    pub fn remove<K: Into<UserKey>>(&mut self, keyspace: &Keyspace, key: K) {
        self.push(keyspace, WalOp::Remove { key: key.into() });
    }

    /// Weak-deletes `key` of `keyspace` (see [`Keyspace::remove_weak`]).
    pub fn remove_weak<K: Into<UserKey>>(&mut self, keyspace: &Keyspace, key: K) {
        self.push(keyspace, WalOp::RemoveWeak { key: key.into() });
    }

    /// Adds a merge operand for `key` of `keyspace`.
    pub fn merge<K: Into<UserKey>, V: Into<UserValue>>(
        &mut self,
        keyspace: &Keyspace,
        key: K,
        operand: V,
    ) {
        let (key, operand) = (key.into(), operand.into());
        self.push(keyspace, WalOp::Merge { key, operand });
    }

    /// Deletes every key of `keyspace` from `start` (inclusive) to `end` (exclusive).
    pub fn remove_range<K: Into<UserKey>>(&mut self, keyspace: &Keyspace, start: K, end: K) {
        let (start, end) = (start.into(), end.into());
        self.push(keyspace, WalOp::RemoveRange { start, end });
    }

    /// How many changes the batch holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether the batch holds no change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Writes every change at one seqno; returns it. A batch that changes nothing (no
    /// change, or only empty range deletes) returns `None` once every earlier write is
    /// as durable as the batch asks.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for a key or value out of the limits and
    /// [`crate::Error::MixedOperationBatch`] (nothing is written);
    /// [`crate::Error::KeyspaceDeleted`]; log errors ([`crate::Error::Wal`]: the batch's
    /// fate is then unknown until the database is reopened); a background error of a
    /// keyspace's tree.
    pub fn commit(self) -> Result<Option<lsm_core::SeqNo>> {
        self.db.commit(self.changes, self.durability)
    }
}
