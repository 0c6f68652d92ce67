//! [`Keyspace`]: one tree of a database, written through its log.

use std::ops::RangeBounds;
use std::sync::Arc;

use lsm_core::SeqNo;
use lsm_wal::WalOp;

use crate::db::inner::KeyspaceState;
use crate::db::journal::Shared;
use crate::{AbstractTree, AnyTree, Guard, IterBox, KvPair, Result, UserKey, UserValue};

/// A keyspace of a [`crate::Database`] (a column family): its own tree, sharing the
/// database's log, seqnos, block cache and write-buffer budget. Every write is one log
/// record at a seqno of its own, durable as the database's default
/// [`crate::DatabaseBuilder::durability`] asks when the call returns; reads see every
/// write whose call has returned. Cheap to clone (clones share the keyspace).
///
/// ```
/// use lsm::{Database, KeyspaceCreateOptions};
///
/// let dir = tempfile::tempdir()?;
/// let db = Database::builder(dir.path()).open()?;
/// let users = db.keyspace("users", KeyspaceCreateOptions::default)?;
/// users.insert("ada", "lovelace")?;
/// assert_eq!(users.get("ada")?.as_deref(), Some(&b"lovelace"[..]));
/// users.remove("ada")?;
/// assert!(users.get("ada")?.is_none());
/// # Ok::<(), lsm::Error>(())
/// ```
#[derive(Clone)]
pub struct Keyspace {
    pub(crate) db: Arc<Shared>,
    pub(crate) state: Arc<KeyspaceState>,
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace")
            .field("name", &self.state.name)
            .field("id", &self.state.id)
            .finish_non_exhaustive()
    }
}

impl Keyspace {
    /// The keyspace's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The tree underneath, for what the keyspace does not offer (statistics,
    /// verification, checkpoints, reads at an explicit seqno). Never write, ingest or
    /// `clear` through it: the log would not know, and its recovery would replay older
    /// writes over the change or skip writes the tree has not persisted.
    #[must_use]
    pub fn tree(&self) -> &AnyTree {
        &self.state.tree
    }

    fn write(&self, op: WalOp) -> Result<()> {
        self.db
            .commit_one(&self.state, op, self.db.settings.durability)
            .map(|_| ())
    }

    /// Sets `key` to `value`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for a key or value out of the limits;
    /// [`crate::Error::KeyspaceDeleted`]; log errors ([`crate::Error::Wal`]); a
    /// background error of the tree.
    pub fn insert<K: Into<UserKey>, V: Into<UserValue>>(&self, key: K, value: V) -> Result<()> {
        self.write(WalOp::Insert {
            key: key.into(),
            value: value.into(),
        })
    }

    /// Deletes `key`.
    ///
    /// # Errors
    /// As [`Self::insert`].
    pub fn remove<K: Into<UserKey>>(&self, key: K) -> Result<()> {
        self.write(WalOp::Remove { key: key.into() })
    }

    /// Cancels `key`'s newest version only (a weak delete: for a key written once and
    /// deleted once, cheaper to compact away).
    ///
    /// # Errors
    /// As [`Self::insert`].
    pub fn remove_weak<K: Into<UserKey>>(&self, key: K) -> Result<()> {
        self.write(WalOp::RemoveWeak { key: key.into() })
    }

    /// Adds a merge operand for `key` (the keyspace's merge operator combines them on
    /// read and compaction).
    ///
    /// # Errors
    /// As [`Self::insert`].
    pub fn merge<K: Into<UserKey>, V: Into<UserValue>>(&self, key: K, operand: V) -> Result<()> {
        self.write(WalOp::Merge {
            key: key.into(),
            operand: operand.into(),
        })
    }

    /// Deletes every key from `start` (inclusive) to `end` (exclusive); an empty range
    /// writes nothing.
    ///
    /// # Errors
    /// As [`Self::insert`].
    pub fn remove_range<K: Into<UserKey>>(&self, start: K, end: K) -> Result<()> {
        self.write(WalOp::RemoveRange {
            start: start.into(),
            end: end.into(),
        })
    }

    /// Removes every item at once: its tables are dropped and its memtables emptied
    /// (no tombstone per key). Durable when it returns, and so is every write made
    /// before it (the log is synced first); a snapshot taken before keeps its answers;
    /// writes after it are kept. Writes of other keyspaces are held while
    /// it runs (it syncs the keyspace's manifest).
    ///
    /// # Errors
    /// [`crate::Error::KeyspaceDeleted`]; the tree's manifest errors.
    pub fn clear(&self) -> Result<()> {
        self.db.clear_keyspace(&self.state)
    }

    /// Loads `items` straight into tables, past the log and the memtables: keys
    /// strictly ascending in the keyspace's order. Every item takes one seqno, drawn
    /// when the load is registered, above every earlier write; durable when it returns
    /// (the tables are in the keyspace's manifest), and so is every write made before
    /// it (the log is synced first). Writes of every keyspace are held
    /// while the load registers (it flushes this keyspace's memtables first).
    ///
    /// # Errors
    /// [`crate::Error::UnsortedIngestion`] for keys out of order (nothing is loaded);
    /// [`crate::Error::KeyspaceDeleted`]; the ingestion's write, flush and manifest
    /// errors.
    pub fn ingest<K, V, I>(&self, items: I) -> Result<()>
    where
        K: Into<UserKey>,
        V: Into<UserValue>,
        I: IntoIterator<Item = (K, V)>,
    {
        let mut ingestion = self.state.tree.ingestion()?;
        for (key, value) in items {
            ingestion.write(key, value)?;
        }
        self.db.finish_ingestion(&self.state, ingestion)
    }

    /// Reads at `seqno`.
    pub(crate) fn view_at(&self, seqno: SeqNo) -> View<'_> {
        View {
            tree: &self.state.tree,
            seqno,
        }
    }

    fn view(&self) -> View<'_> {
        self.view_at(self.db.visible.get())
    }

    /// The value of `key`.
    ///
    /// # Errors
    /// I/O and corruption errors.
    pub fn get<K: AsRef<[u8]>>(&self, key: K) -> Result<Option<UserValue>> {
        self.view().get(key)
    }

    /// Whether `key` has a value.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn contains_key<K: AsRef<[u8]>>(&self, key: K) -> Result<bool> {
        self.view().contains_key(key)
    }

    /// The length of `key`'s value.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn size_of<K: AsRef<[u8]>>(&self, key: K) -> Result<Option<u32>> {
        self.view().size_of(key)
    }

    /// Every item, in key order (double-ended).
    #[must_use]
    pub fn iter(&self) -> IterBox {
        self.view().iter()
    }

    /// The items in `range`.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> IterBox {
        self.view().range(range)
    }

    /// The items whose keys start with `prefix`.
    pub fn prefix<K: AsRef<[u8]>>(&self, prefix: K) -> IterBox {
        self.view().prefix(prefix)
    }

    /// The item with the smallest key.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn first_key_value(&self) -> Result<Option<KvPair>> {
        self.view().first_key_value()
    }

    /// The item with the largest key.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn last_key_value(&self) -> Result<Option<KvPair>> {
        self.view().last_key_value()
    }

    /// How many items there are (a full scan).
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn len(&self) -> Result<usize> {
        self.view().len()
    }

    /// Whether there is no item.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub fn is_empty(&self) -> Result<bool> {
        self.view().is_empty()
    }

    /// An estimate of the item count, from the tables' and memtables' counts.
    #[must_use]
    pub fn approximate_len(&self) -> usize {
        self.state.tree.approximate_len()
    }

    /// Bytes of the keyspace's tables and blob files.
    #[must_use]
    pub fn disk_space(&self) -> u64 {
        self.state.tree.disk_space()
    }

    /// Writes what the keyspace holds in memory to tables and waits for it (the log
    /// segments holding only those writes can then go).
    ///
    /// # Errors
    /// I/O errors of the flush.
    pub fn rotate_memtable_and_wait(&self) -> Result<()> {
        self.state
            .tree
            .flush_active_memtable(self.db.snapshots.watermark())
    }

    /// Whether the database still has the keyspace.
    #[must_use]
    pub fn is_deleted(&self) -> bool {
        self.state
            .deleted
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The reads of one keyspace at one seqno (a [`Keyspace`] reads at the visible seqno, a
/// [`crate::db::Snapshot`] at its own).
pub(crate) struct View<'a> {
    tree: &'a AnyTree,
    seqno: SeqNo,
}

impl View<'_> {
    pub(crate) fn get<K: AsRef<[u8]>>(&self, key: K) -> Result<Option<UserValue>> {
        self.tree.get(key, self.seqno)
    }

    pub(crate) fn contains_key<K: AsRef<[u8]>>(&self, key: K) -> Result<bool> {
        self.tree.contains_key(key, self.seqno)
    }

    pub(crate) fn size_of<K: AsRef<[u8]>>(&self, key: K) -> Result<Option<u32>> {
        self.tree.size_of(key, self.seqno)
    }

    pub(crate) fn iter(&self) -> IterBox {
        self.tree.iter(self.seqno, None)
    }

    pub(crate) fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> IterBox {
        self.tree.range(range, self.seqno, None)
    }

    pub(crate) fn prefix<K: AsRef<[u8]>>(&self, prefix: K) -> IterBox {
        self.tree.prefix(prefix, self.seqno, None)
    }

    pub(crate) fn first_key_value(&self) -> Result<Option<KvPair>> {
        self.tree
            .first_key_value(self.seqno, None)
            .map(Guard::into_inner)
            .transpose()
    }

    pub(crate) fn last_key_value(&self) -> Result<Option<KvPair>> {
        self.tree
            .last_key_value(self.seqno, None)
            .map(Guard::into_inner)
            .transpose()
    }

    pub(crate) fn len(&self) -> Result<usize> {
        self.tree.len(self.seqno, None)
    }

    pub(crate) fn is_empty(&self) -> Result<bool> {
        self.tree.is_empty(self.seqno, None)
    }
}
