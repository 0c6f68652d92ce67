//! [`Snapshot`]: a consistent view of every keyspace of a database.

use std::ops::RangeBounds;
use std::sync::Arc;

use lsm_core::SeqNo;

use crate::db::journal::Shared;
use crate::db::keyspace::Keyspace;
use crate::{IterBox, KvPair, Result, UserValue};

/// Every keyspace of a database as it was when the snapshot was taken: later writes
/// are not seen, and no version it sees is compacted away while it is open (it holds
/// the GC watermark back, so keep snapshots short-lived). Dropping it releases that.
///
/// ```
/// use lsm::{Database, KeyspaceCreateOptions};
///
/// let dir = tempfile::tempdir()?;
/// let db = Database::builder(dir.path()).open()?;
/// let items = db.keyspace("items", KeyspaceCreateOptions::default)?;
/// items.insert("a", "1")?;
/// let snapshot = db.snapshot();
/// items.insert("a", "2")?;
/// assert_eq!(snapshot.get(&items, "a")?.as_deref(), Some(&b"1"[..]));
/// assert_eq!(items.get("a")?.as_deref(), Some(&b"2"[..]));
/// # Ok::<(), lsm::Error>(())
/// ```
pub struct Snapshot {
    db: Arc<Shared>,
    seqno: SeqNo,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("seqno", &self.seqno)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    pub(crate) fn new(db: Arc<Shared>) -> Self {
        let seqno = db.snapshots.open();
        Self { db, seqno }
    }

    /// The seqno the snapshot reads at: it sees every write below it.
    #[must_use]
    pub fn seqno(&self) -> SeqNo {
        self.seqno
    }

    /// The value of `key` in `keyspace`.
    ///
    /// # Errors
    /// I/O and corruption errors.
    pub fn get<K: AsRef<[u8]>>(&self, keyspace: &Keyspace, key: K) -> Result<Option<UserValue>> {
        keyspace.view_at(self.seqno).get(key)
    }

    /// Whether `key` has a value in `keyspace`.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn contains_key<K: AsRef<[u8]>>(&self, keyspace: &Keyspace, key: K) -> Result<bool> {
        keyspace.view_at(self.seqno).contains_key(key)
    }

    /// Every item of `keyspace`.
    #[must_use]
    pub fn iter(&self, keyspace: &Keyspace) -> IterBox {
        keyspace.view_at(self.seqno).iter()
    }

    /// The items of `keyspace` in `range`.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        keyspace: &Keyspace,
        range: R,
    ) -> IterBox {
        keyspace.view_at(self.seqno).range(range)
    }

    /// The items of `keyspace` whose keys start with `prefix`.
    pub fn prefix<K: AsRef<[u8]>>(&self, keyspace: &Keyspace, prefix: K) -> IterBox {
        keyspace.view_at(self.seqno).prefix(prefix)
    }

    /// The item of `keyspace` with the smallest key.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn first_key_value(&self, keyspace: &Keyspace) -> Result<Option<KvPair>> {
        keyspace.view_at(self.seqno).first_key_value()
    }

    /// The item of `keyspace` with the largest key.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn last_key_value(&self, keyspace: &Keyspace) -> Result<Option<KvPair>> {
        keyspace.view_at(self.seqno).last_key_value()
    }

    /// How many items `keyspace` has (a full scan).
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn len(&self, keyspace: &Keyspace) -> Result<usize> {
        keyspace.view_at(self.seqno).len()
    }

    /// Whether `keyspace` has no item.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn is_empty(&self, keyspace: &Keyspace) -> Result<bool> {
        keyspace.view_at(self.seqno).is_empty()
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.db.snapshots.close(self.seqno);
    }
}
