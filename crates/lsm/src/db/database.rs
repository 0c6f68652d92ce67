//! [`Database`]: keyspaces sharing one log, one seqno counter, one block cache and one
//! write-buffer budget; and its recovery.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lsm_core::{Fs, SeqNo, StdFs};
use lsm_wal::{Wal, WalOptions};

use crate::db::batch::Batch;
use crate::db::inner::DbInner;
use crate::db::journal::Shared;
use crate::db::keyspace::Keyspace;
use crate::db::layout::{self, Registry, RegistryError};
use crate::db::options::{DatabaseBuilder, KeyspaceCreateOptions};
use crate::db::snapshot::Snapshot;
use crate::{AbstractTree, Cache, Error, Result};

/// How far [`Database::persist`] takes every write made so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistMode {
    /// Handed to the operating system: survives the process dying, not a power cut.
    Buffer,
    /// On disk (`fdatasync` of the log).
    SyncData,
    /// On disk, as [`Self::SyncData`] (the log's sync also makes its length durable).
    SyncAll,
}

/// An embedded database of named keyspaces (column families) with a write-ahead log:
/// a write is as durable as asked when its call returns ([`crate::Durability`], per database
/// and per batch), batches across keyspaces are atomic, and snapshots see every
/// keyspace at one point. Background flushes and compactions run on their own threads,
/// and a flushed write's log segment is deleted once every keyspace has flushed past
/// it. Dropping the last handle (the database and its keyspaces) flushes the log to the
/// operating system and every keyspace's memtables to tables.
///
/// ```
/// use lsm::{Database, KeyspaceCreateOptions, PersistMode};
///
/// let dir = tempfile::tempdir()?;
/// {
///     let db = Database::builder(dir.path()).open()?;
///     let items = db.keyspace("items", KeyspaceCreateOptions::default)?;
///     items.insert("a", "hello")?;
///     db.persist(PersistMode::SyncAll)?;
/// }
/// // Reopened, the write comes back (from the log, or from the tables the drop wrote).
/// let db = Database::builder(dir.path()).open()?;
/// let items = db.keyspace("items", KeyspaceCreateOptions::default)?;
/// assert_eq!(items.get("a")?.as_deref(), Some(&b"hello"[..]));
/// # Ok::<(), lsm::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Database {
    inner: Arc<Shared>,
}

impl Database {
    /// How to open the database at `path`.
    #[must_use]
    pub fn builder<P: AsRef<Path>>(path: P) -> DatabaseBuilder {
        DatabaseBuilder::new(path.as_ref())
    }

    /// The keyspace called `name`, created with `options()` when the database has none
    /// (an existing keyspace keeps the options it was opened with; see
    /// [`DatabaseBuilder::keyspace_options`]).
    ///
    /// # Errors
    /// [`Error::InvalidKeyspaceName`]; I/O errors writing the registry or creating the
    /// tree.
    pub fn keyspace(
        &self,
        name: &str,
        options: impl FnOnce() -> KeyspaceCreateOptions,
    ) -> Result<Keyspace> {
        let state = self.inner.keyspace(name, options)?;
        Ok(Keyspace {
            db: Arc::clone(&self.inner),
            state,
        })
    }

    /// Whether the database has a keyspace called `name`.
    #[must_use]
    pub fn keyspace_exists(&self, name: &str) -> bool {
        self.inner.registry().id_of(name).is_some()
    }

    /// The names of the keyspaces, in the order they were created.
    #[must_use]
    pub fn list_keyspace_names(&self) -> Vec<String> {
        self.inner
            .registry()
            .entries
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    }

    /// How many keyspaces there are.
    #[must_use]
    pub fn keyspace_count(&self) -> usize {
        self.inner.registry().entries.len()
    }

    /// Deletes `keyspace`: it leaves the database at once (durably), its handles refuse
    /// writes, and its files go once its last handle has.
    ///
    /// # Errors
    /// I/O errors writing the registry (the keyspace then stays).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "fjall's signature: the caller gives the handle up"
    )]
    pub fn delete_keyspace(&self, keyspace: Keyspace) -> Result<()> {
        self.inner.delete_keyspace(&keyspace.state)
    }

    /// An empty batch (see [`Batch`]).
    pub fn batch(&self) -> Batch {
        Batch::new(Arc::clone(&self.inner))
    }

    /// A snapshot of every keyspace now (see [`Snapshot`]).
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(Arc::clone(&self.inner))
    }

    /// Makes every write made so far as durable as `mode` says.
    ///
    /// # Errors
    /// Log errors ([`Error::Wal`]; a failed sync poisons the log).
    pub fn persist(&self, mode: PersistMode) -> Result<()> {
        match mode {
            PersistMode::Buffer => self.inner.wal()?.flush()?,
            PersistMode::SyncData | PersistMode::SyncAll => self.inner.wal()?.sync()?,
        }
        Ok(())
    }

    /// The seqno the next write gets; reads see every write below the visible seqno.
    #[must_use]
    pub fn seqno(&self) -> SeqNo {
        self.inner.seqno.get()
    }

    /// The seqno below which writes are visible.
    #[must_use]
    pub fn visible_seqno(&self) -> SeqNo {
        self.inner.visible.get()
    }

    /// How many log segments are on disk.
    #[must_use]
    pub fn journal_count(&self) -> usize {
        self.inner.wal().map_or(0, Wal::segment_count)
    }

    /// Bytes of the log segments on disk.
    #[must_use]
    pub fn journal_disk_space(&self) -> u64 {
        self.inner.wal().map_or(0, Wal::live_bytes)
    }

    /// Bytes of every keyspace's tables and blob files, and of the log.
    #[must_use]
    pub fn disk_space(&self) -> u64 {
        let trees: u64 = self
            .inner
            .keyspace_map()
            .values()
            .map(|state| state.tree.disk_space())
            .sum();
        trees + self.journal_disk_space()
    }

    /// How many snapshots are open.
    #[must_use]
    pub fn snapshot_count(&self) -> usize {
        self.inner.snapshots.count()
    }

    /// The block cache every keyspace shares.
    #[must_use]
    pub fn cache(&self) -> &Arc<Cache> {
        &self.inner.cache
    }

    /// Deletes the log segments every keyspace has flushed past now, rather than at the
    /// background thread's next look.
    ///
    /// # Errors
    /// I/O errors deleting a segment.
    pub fn trim_journal(&self) -> Result<()> {
        self.inner.maintain_log()
    }
}

impl DatabaseBuilder {
    /// Opens the database, creating it when the directory holds none.
    ///
    /// # Errors
    /// [`Error::Locked`] when another opener holds it; I/O errors; a damaged registry
    /// ([`Error::BadRegistry`]) or log ([`Error::Wal`]); any keyspace's recovery error.
    pub fn open(self) -> Result<Database> {
        open(self)
    }
}

/// Opens (or creates) the database `builder` describes: the registry, every keyspace's
/// tree, then the log, whose batches are replayed into the keyspaces that have not
/// persisted them; seqnos resume past everything recovered.
fn open(builder: DatabaseBuilder) -> Result<Database> {
    let fs: Arc<dyn Fs> = builder.fs.clone().unwrap_or_else(|| Arc::new(StdFs));
    let path = builder.path.clone();
    fs.create_dir_all(&path)
        .map_err(|error| Error::io("create_dir_all", &path, error))?;
    if let Some(parent) = path.parent() {
        fs.sync_dir(parent)
            .map_err(|error| Error::io("sync_dir", parent, error))?;
    }
    let dir_lock = fs
        .lock(&path.join(layout::LOCK_FILE))
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::WouldBlock => Error::Locked(path.display().to_string()),
            _ => Error::io("lock", &path, error),
        })?;
    let registry = read_registry(fs.as_ref(), &path)?;
    remove_unregistered(fs.as_ref(), &path, &registry)?;

    let encryption = match &builder.encryption {
        Some(provider) => Some(provider.master_key().cloned().ok_or(Error::InvalidConfig(
            "an encrypted database needs a provider with a master key",
        ))?),
        None => None,
    };
    let wal_options = WalOptions {
        segment_bytes: builder.journal_segment_size,
        recovery: builder.journal_recovery,
        encryption,
        ..WalOptions::default()
    };
    let inner = DbInner::new(builder, fs, registry.clone(), dir_lock);
    // The trees open first; then the log is read one segment at a time (synced before
    // its batches are replayed, so a flush of replayed writes never persists one the
    // log could still lose), each batch going into the keyspaces that lack it.
    let mut persisted = BTreeMap::new();
    for (id, name) in &registry.entries {
        let options = inner
            .settings
            .keyspace_options
            .get(name)
            .map_or_else(KeyspaceCreateOptions::default, |options| options());
        let state = inner.open_keyspace(*id, name, &options)?;
        if let Some(seqno) = state.tree.get_highest_persisted_seqno() {
            persisted.insert(*id, seqno);
        }
    }
    let mut replay_error = None;
    let opened = Wal::open(
        Arc::clone(&inner.fs),
        &inner.path().join(layout::JOURNAL_DIR),
        wal_options,
        |batch| {
            inner.replay(batch, &persisted).map_err(|error| {
                replay_error = Some(error);
                lsm_wal::Error::Io(std::io::Error::other("replay failed"))
            })
        },
    );
    if let Some(error) = replay_error {
        return Err(error);
    }
    let (wal, report) = opened?;
    if report.torn_tail_bytes > 0 || report.skipped_bytes > 0 {
        tracing::warn!(
            torn_tail_bytes = report.torn_tail_bytes,
            skipped_bytes = report.skipped_bytes,
            "log recovery cut or skipped bytes"
        );
    }
    inner.set_wal(wal);
    if let Some(last) = report.last_seqno {
        inner.seqno.fetch_max(last + 1);
    }
    inner.visible.fetch_max(inner.seqno.get());
    inner.flush_replayed();
    tracing::info!(
        path = %inner.path().display(),
        keyspaces = registry.entries.len(),
        batches = report.batches,
        seqno = inner.seqno.get(),
        "database opened"
    );
    Ok(Database {
        inner: crate::db::journal::start(inner)?,
    })
}

/// The registry (an empty one for a new database), with a leftover temporary removed.
fn read_registry(fs: &dyn Fs, dir: &Path) -> Result<Registry> {
    let temp = dir.join(layout::REGISTRY_TEMP_FILE);
    if fs
        .exists(&temp)
        .map_err(|error| Error::io("exists", &temp, error))?
    {
        fs.remove_file(&temp)
            .map_err(|error| Error::io("remove_file", &temp, error))?;
    }
    let path = dir.join(layout::REGISTRY_FILE);
    if !fs
        .exists(&path)
        .map_err(|error| Error::io("exists", &path, error))?
    {
        return Ok(Registry::default());
    }
    let bytes =
        lsm_core::fs::read_all(fs, &path).map_err(|error| Error::io("read", &path, error))?;
    Registry::decode(&bytes).map_err(|error| match error {
        RegistryError::Damaged(reason) => Error::BadRegistry { path, reason },
        RegistryError::UnsupportedVersion(version) => Error::UnsupportedVersion {
            what: "keyspace registry",
            version,
        },
    })
}

/// Removes the directories of deleted keyspaces (a deletion that stopped half way: the
/// registry no longer lists them, and their ids are below its next id). A directory
/// the registry could never have made (an id at or past its next id, or any at all
/// when there is no registry) is damage, and refused: the registry is always written
/// before a keyspace's directory.
fn remove_unregistered(fs: &dyn Fs, dir: &Path, registry: &Registry) -> Result<()> {
    let keyspaces = dir.join(layout::KEYSPACES_DIR);
    if !fs
        .exists(&keyspaces)
        .map_err(|error| Error::io("exists", &keyspaces, error))?
    {
        return Ok(());
    }
    let entries = fs
        .read_dir(&keyspaces)
        .map_err(|error| Error::io("read_dir", &keyspaces, error))?;
    for entry in entries.iter().filter(|entry| entry.is_dir) {
        let id = entry.file_name().and_then(|name| name.parse::<u32>().ok());
        if id.is_some_and(|id| registry.entries.iter().any(|(listed, _)| *listed == id)) {
            continue;
        }
        if id.is_none_or(|id| id >= registry.next_id) {
            return Err(Error::BadRegistry {
                path: dir.join(layout::REGISTRY_FILE),
                reason: "a keyspace directory it never listed (the registry is missing or older)",
            });
        }
        tracing::info!(dir = %entry.path.display(), "removing a deleted keyspace's directory");
        lsm_core::fs::remove_dir_all(fs, &entry.path)
            .map_err(|error| Error::io("remove_dir_all", &entry.path, error))?;
    }
    Ok(())
}
