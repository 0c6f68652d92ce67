//! Bulk ingestion: ascending keys written straight into tables, registered at once.
//!
//! An [`Ingestion`] takes keys in strictly ascending order and streams them to a writer
//! thread, which cuts them into tables (and, in a tree that separates values, blob files)
//! while the caller produces the next ones; nothing passes through a memtable. Every
//! entry is stored at seqno 0. [`Ingestion::finish`] then, under the flush lock:
//!
//! 1. flushes the memtables, so that every version written before it sits in a table;
//! 2. draws **one** seqno from the tree's generator (raised first above every seqno
//!    the tree holds), with writes held off for that instant, and flushes whatever
//!    landed since the first flush;
//! 3. records the tables in one version edit with that seqno as their global seqno
//!    (every entry reads at it), in the deepest level where no table of that level or
//!    above overlaps their key range (level 0, as the newest run, when one does), and
//!    publishes the seqno as visible.
//!
//! So ingested keys are newer than everything written before `finish`, older than
//! everything written after it with a later seqno, and invisible to every read at a
//! seqno at or below theirs (snapshots taken before keep their answers). Tombstones can
//! be ingested too: they hide older versions like written ones.
//!
//! Nothing is registered unless `finish` returns `Ok`: an unsorted or duplicate key,
//! a value out of the limits, a write error, or dropping the ingestion deletes every
//! file it wrote. A crash at any point before the edit is durable leaves only orphans,
//! which the next open removes.
//!
//! The global seqno lives in the manifest (a table stores 0); [`crate::Config::repair`]
//! takes it from the old manifest when that can still be read, and otherwise places the
//! table above every other one (see [`crate::RepairReport::estimated_ingestion_seqnos`]).
//!
//! Writes made while an ingestion streams are fine. A write that races `finish` must
//! take its seqno after `finish` returns, as every write must be newer than the
//! versions of its key already registered.
//!
//! ```
//! use lsm::{AbstractTree, Config, SeqNo, SequenceNumberCounter};
//! # let dir = tempfile::tempdir()?;
//! let seqno = SequenceNumberCounter::default();
//! let tree = Config::new(dir.path(), seqno.clone(), Default::default()).open()?;
//! tree.insert("b", "old", seqno.next());
//! let before = seqno.get();
//!
//! let mut ingestion = tree.ingestion()?;
//! for key in ["a", "b", "c"] {
//!     ingestion.write(key, format!("loaded {key}"))?;
//! }
//! ingestion.finish()?;
//!
//! assert_eq!(&*tree.get("b", SeqNo::MAX)?.unwrap(), b"loaded b");
//! // A read at a seqno from before the ingestion keeps its answer.
//! assert_eq!(&*tree.get("b", before)?.unwrap(), b"old");
//! assert!(tree.get("a", before)?.is_none());
//! # Ok::<(), lsm::Error>(())
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use lsm_compaction::{Outputs, TableTarget};
use lsm_core::{InternalEntry, KeyOrder, UserKey, UserValue, ValueType};
use lsm_table::TableOptions;
use lsm_version::{Level, VersionEdit};

use crate::blob_tree::BlobTree;
use crate::flush::BlobContext;
use crate::tree::{Tree, TreeInner};
use crate::{AbstractTree, AnyTree, Error, Result};

/// Entries handed to the writer thread at a time.
const CHUNK_ENTRIES: usize = 1024;
/// Chunks queued for the writer thread before the caller waits.
const CHUNKS_QUEUED: usize = 4;
/// The target size of an ingested table.
const INGEST_TABLE_TARGET_BYTES: u64 = 64 << 20;

/// A bulk load into a standard tree; see the module docs.
pub struct Ingestion<'a> {
    tree: &'a Tree,
    /// `None` once an error ended the ingestion.
    writer: Option<Writer>,
}

/// A bulk load into a blob tree: values at or above the separation threshold go to
/// blob files as they are written; see the module docs.
pub struct BlobIngestion<'a>(Ingestion<'a>);

/// A bulk load into either kind of tree (what [`AnyTree::ingestion`] returns).
pub enum AnyIngestion<'a> {
    /// Into a standard tree.
    Standard(Ingestion<'a>),
    /// Into a blob tree.
    Blob(BlobIngestion<'a>),
}

/// What the caller's side sends the writer thread.
enum Chunk {
    Entries(Vec<InternalEntry>),
    /// Every entry was sent: write the last table and return.
    Finish,
}

/// The caller's side of the writer thread.
struct Writer {
    /// Dropped to stop the thread without a `Finish`.
    sender: Option<SyncSender<Chunk>>,
    chunk: Vec<InternalEntry>,
    /// The last key of the chunks already sent (the chunk holds the keys after it).
    last_sent: Option<UserKey>,
    order: KeyOrder,
    thread: Option<JoinHandle<Result<Outputs>>>,
}

impl Tree {
    /// Starts a bulk load; see [`crate::ingest`].
    ///
    /// # Errors
    /// [`Error::Unrecoverable`] on a poisoned tree, a background error recorded for the
    /// next write, and [`Error::Io`] when the writer thread cannot start.
    pub fn ingestion(&self) -> Result<Ingestion<'_>> {
        self.write_admission()?;
        Ok(Ingestion {
            tree: self,
            writer: Some(Writer::start(&self.0)?),
        })
    }
}

impl BlobTree {
    /// Starts a bulk load; see [`crate::ingest`].
    ///
    /// # Errors
    /// As [`Tree::ingestion`].
    pub fn ingestion(&self) -> Result<BlobIngestion<'_>> {
        self.index.ingestion().map(BlobIngestion)
    }
}

impl AnyTree {
    /// Starts a bulk load; see [`crate::ingest`].
    ///
    /// # Errors
    /// As [`Tree::ingestion`].
    pub fn ingestion(&self) -> Result<AnyIngestion<'_>> {
        match self {
            Self::Standard(tree) => tree.ingestion().map(AnyIngestion::Standard),
            Self::Blob(tree) => tree.ingestion().map(AnyIngestion::Blob),
        }
    }
}

impl Ingestion<'_> {
    /// Writes `key` with `value`.
    ///
    /// # Errors
    /// [`Error::UnsortedIngestion`] when `key` does not sort strictly after the previous
    /// key; [`Error::InvalidArgument`] for a key or value outside the limits; the writer
    /// thread's error (I/O, a full disk). Any error ends the ingestion: its files are
    /// deleted and later calls return [`Error::IngestionAborted`].
    pub fn write<K: Into<UserKey>, V: Into<UserValue>>(&mut self, key: K, value: V) -> Result<()> {
        self.push(key.into(), value.into(), ValueType::Value)
    }

    /// Writes a tombstone for `key`: it hides the older versions of the key.
    ///
    /// # Errors
    /// As [`Self::write`].
    pub fn write_tombstone<K: Into<UserKey>>(&mut self, key: K) -> Result<()> {
        self.push(key.into(), UserValue::empty(), ValueType::Tombstone)
    }

    /// Writes a weak tombstone for `key` (it hides the newest older version only).
    ///
    /// # Errors
    /// As [`Self::write`].
    pub fn write_weak_tombstone<K: Into<UserKey>>(&mut self, key: K) -> Result<()> {
        self.push(key.into(), UserValue::empty(), ValueType::WeakTombstone)
    }

    fn push(&mut self, key: UserKey, value: UserValue, value_type: ValueType) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(Error::IngestionAborted);
        };
        let pushed = writer.push(InternalEntry::new(key, value, 0, value_type));
        if pushed.is_err() {
            self.abort();
        }
        pushed
    }

    /// Ends the ingestion without registering anything: the writer thread deletes
    /// its files, and this waits for it.
    fn abort(&mut self) {
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
    }

    /// Writes the last table and registers the ingested tables; see the module docs.
    /// An ingestion of no keys registers nothing.
    ///
    /// # Errors
    /// [`Error::IngestionAborted`] after an earlier error; the writer's errors (the
    /// files are deleted, nothing is registered); flush errors; manifest errors (which
    /// poison the tree: whether the tables were registered is known at the next open).
    pub fn finish(mut self) -> Result<()> {
        let Some(writer) = self.writer.take() else {
            return Err(Error::IngestionAborted);
        };
        let mut outputs = writer.finish()?;
        let tree = self.tree;
        match register(tree, &mut outputs) {
            Ok(()) => Ok(()),
            Err(Registration::NotRecorded(error)) => {
                outputs.remove(tree.config.fs.as_ref());
                Err(error)
            }
            // The edit may or may not be durable: the next open decides.
            Err(Registration::Unknown(error)) => Err(error),
        }
    }
}

impl Drop for Ingestion<'_> {
    fn drop(&mut self) {
        self.abort();
    }
}

impl BlobIngestion<'_> {
    /// As [`Ingestion::write`]; a value at or above the separation threshold goes to a
    /// blob file.
    ///
    /// # Errors
    /// As [`Ingestion::write`].
    pub fn write<K: Into<UserKey>, V: Into<UserValue>>(&mut self, key: K, value: V) -> Result<()> {
        self.0.write(key, value)
    }

    /// As [`Ingestion::write_tombstone`].
    ///
    /// # Errors
    /// As [`Ingestion::write`].
    pub fn write_tombstone<K: Into<UserKey>>(&mut self, key: K) -> Result<()> {
        self.0.write_tombstone(key)
    }

    /// As [`Ingestion::write_weak_tombstone`].
    ///
    /// # Errors
    /// As [`Ingestion::write`].
    pub fn write_weak_tombstone<K: Into<UserKey>>(&mut self, key: K) -> Result<()> {
        self.0.write_weak_tombstone(key)
    }

    /// As [`Ingestion::finish`]: the blob files are registered with the tables.
    ///
    /// # Errors
    /// As [`Ingestion::finish`].
    pub fn finish(self) -> Result<()> {
        self.0.finish()
    }
}

impl AnyIngestion<'_> {
    /// As [`Ingestion::write`].
    ///
    /// # Errors
    /// As [`Ingestion::write`].
    pub fn write<K: Into<UserKey>, V: Into<UserValue>>(&mut self, key: K, value: V) -> Result<()> {
        match self {
            Self::Standard(ingestion) => ingestion.write(key, value),
            Self::Blob(ingestion) => ingestion.write(key, value),
        }
    }

    /// As [`Ingestion::write_tombstone`].
    ///
    /// # Errors
    /// As [`Ingestion::write`].
    pub fn write_tombstone<K: Into<UserKey>>(&mut self, key: K) -> Result<()> {
        match self {
            Self::Standard(ingestion) => ingestion.write_tombstone(key),
            Self::Blob(ingestion) => ingestion.write_tombstone(key),
        }
    }

    /// As [`Ingestion::write_weak_tombstone`].
    ///
    /// # Errors
    /// As [`Ingestion::write`].
    pub fn write_weak_tombstone<K: Into<UserKey>>(&mut self, key: K) -> Result<()> {
        match self {
            Self::Standard(ingestion) => ingestion.write_weak_tombstone(key),
            Self::Blob(ingestion) => ingestion.write_weak_tombstone(key),
        }
    }

    /// As [`Ingestion::finish`].
    ///
    /// # Errors
    /// As [`Ingestion::finish`].
    pub fn finish(self) -> Result<()> {
        match self {
            Self::Standard(ingestion) => ingestion.finish(),
            Self::Blob(ingestion) => ingestion.finish(),
        }
    }
}

impl Writer {
    fn start(tree: &Arc<TreeInner>) -> Result<Self> {
        let (sender, receiver) = sync_channel(CHUNKS_QUEUED);
        let thread_tree = Arc::clone(tree);
        let thread = std::thread::Builder::new()
            .name("lsm-ingest".to_owned())
            .spawn(move || write_tables(&thread_tree, receiver))
            .map_err(Error::Io)?;
        Ok(Self {
            sender: Some(sender),
            chunk: Vec::with_capacity(CHUNK_ENTRIES),
            last_sent: None,
            order: tree.config.key_order().clone(),
            thread: Some(thread),
        })
    }

    fn push(&mut self, entry: InternalEntry) -> Result<()> {
        crate::argument::check_entry(&entry)?;
        let last = match self.chunk.last() {
            Some(last) => Some(&last.key.user_key),
            None => self.last_sent.as_ref(),
        };
        if last.is_some_and(|last| !self.order.lt(last, &entry.key.user_key)) {
            return Err(Error::UnsortedIngestion {
                key: entry.key.user_key,
            });
        }
        self.chunk.push(entry);
        if self.chunk.len() >= CHUNK_ENTRIES {
            let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_ENTRIES));
            self.last_sent = chunk.last().map(|entry| entry.key.user_key.clone());
            let sent = self
                .sender
                .as_ref()
                .is_some_and(|sender| sender.send(Chunk::Entries(chunk)).is_ok());
            if !sent {
                // The thread stopped on an error: return it.
                return Err(self.join().err().unwrap_or(Error::IngestionAborted));
            }
        }
        Ok(())
    }

    /// Sends the last entries and waits for the tables.
    fn finish(mut self) -> Result<Outputs> {
        let chunk = std::mem::take(&mut self.chunk);
        if let Some(sender) = self.sender.take() {
            // A failed send means the thread stopped on an error, which `join` returns.
            let _ = sender.send(Chunk::Entries(chunk));
            let _ = sender.send(Chunk::Finish);
        }
        self.join()
    }

    /// Stops the thread without a `Finish`: it deletes what it wrote.
    fn abort(mut self) {
        self.sender = None;
        let _ = self.join();
    }

    fn join(&mut self) -> Result<Outputs> {
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or(Err(Error::IngestionAborted)),
            None => Err(Error::IngestionAborted),
        }
    }
}

/// The entries the caller sends, until `Finish`; an error when the caller is gone
/// without one (so that the files written are deleted).
struct Received {
    receiver: Receiver<Chunk>,
    chunk: std::vec::IntoIter<InternalEntry>,
    done: bool,
}

impl Iterator for Received {
    type Item = Result<InternalEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.chunk.next() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            match self.receiver.recv() {
                Ok(Chunk::Entries(chunk)) => self.chunk = chunk.into_iter(),
                Ok(Chunk::Finish) => self.done = true,
                Err(_) => {
                    self.done = true;
                    return Some(Err(Error::IngestionAborted));
                }
            }
        }
    }
}

/// The writer thread: the received entries as ingested tables (and blob files), every
/// file synced; on any error every file written is deleted.
fn write_tables(tree: &TreeInner, receiver: Receiver<Chunk>) -> Result<Outputs> {
    let current = tree.super_version();
    let no_relocation = BTreeSet::new();
    let blobs = BlobContext {
        files: &current.blob_files,
        relocate: &no_relocation,
    };
    let stream = Received {
        receiver,
        chunk: Vec::new().into_iter(),
        done: false,
    };
    tree.with_targets(
        0,
        INGEST_TABLE_TARGET_BYTES,
        &[],
        blobs,
        |fs, tables, blob_target| {
            let ingested = TableTarget {
                dir: tables.dir,
                options: TableOptions {
                    ingested: true,
                    // One seqno for every entry: per-block bounds would say nothing.
                    seqno_bounds: false,
                    ..tables.options.clone()
                },
                target_bytes: tables.target_bytes,
                next_table: tables.next_table,
            };
            lsm_compaction::write_outputs(fs, &ingested, blob_target, stream, Vec::new())
        },
    )
}

/// Why registering failed.
enum Registration {
    /// Nothing names the files: they can go.
    NotRecorded(Error),
    /// The manifest write failed: the edit may be durable.
    Unknown(Error),
}

/// Steps 1-3 of the module docs.
fn register(tree: &Tree, outputs: &mut Outputs) -> std::result::Result<(), Registration> {
    if outputs.tables.is_empty() {
        return Ok(());
    }
    let lock = tree.flush_lock();
    tree.rotate();
    tree.flush_sealed(&lock, 0)
        .map_err(Registration::NotRecorded)?;
    let seqno = {
        let _gate = tree.published.exclusive();
        // Above every version the tree holds, even ones written with seqnos that did
        // not come from its generator.
        let newest = tree
            .get_highest_memtable_seqno()
            .max(tree.get_highest_persisted_seqno());
        if let Some(newest) = newest {
            tree.config.seqno.fetch_max(newest + 1);
        }
        let seqno = tree.config.seqno.next();
        tree.seal_active();
        seqno
    };
    tree.flush_sealed(&lock, 0)
        .map_err(Registration::NotRecorded)?;
    let current = tree.super_version();
    let level = ingestion_level(current.version.levels(), current.version.order(), outputs);
    // The tables were written before their level was known: a level route may keep
    // that level elsewhere.
    crate::dirs::move_tables(
        tree.config.fs.as_ref(),
        outputs,
        &tree.config.tables_dir(level),
    )
    .map_err(Registration::NotRecorded)?;
    let mut opened = tree
        .open_outputs_at(level, outputs, Some(seqno))
        .map_err(Registration::NotRecorded)?;
    for (meta, _) in &mut opened.tables {
        meta.seqno_min = seqno;
        meta.seqno_max = seqno;
        meta.global_seqno = Some(seqno);
    }
    let edit = VersionEdit {
        added: vec![(
            u8::try_from(level).unwrap_or(0),
            opened.tables.iter().map(|(meta, _)| meta.clone()).collect(),
        )],
        added_blob_files: opened.blob_infos(),
        next_table_id: tree.ids.next_table(),
        next_blob_file_id: tree.ids.next_blob_file(),
        last_seqno: seqno,
        ..VersionEdit::default()
    };
    let version = tree.apply_edit(&edit).map_err(Registration::Unknown)?;
    let tables = opened.tables.len();
    tree.install(|current| {
        let mut next = current.clone();
        opened.add_to(&mut next, version);
        next
    });
    tree.config.visible_seqno.fetch_max(seqno + 1);
    drop(lock);
    tracing::info!(tables, level, seqno, "ingested");
    Ok(())
}

/// The deepest level where no table of that level or above overlaps the ingested key
/// range (their keys are then the newest wherever a read finds them); level 0 when a
/// level-0 table overlaps it.
fn ingestion_level(levels: &[Level], order: &KeyOrder, outputs: &Outputs) -> usize {
    let (Some(first), Some(last)) = (outputs.tables.first(), outputs.tables.last()) else {
        return 0;
    };
    let (min, max) = (&first.properties.key_min, &last.properties.key_max);
    let mut deepest = 0;
    for (idx, level) in levels.iter().enumerate() {
        let overlaps = level
            .runs()
            .iter()
            .flat_map(|run| run.tables())
            .any(|table| {
                order.le(table.key_range.min(), max) && order.le(min, table.key_range.max())
            });
        if overlaps {
            break;
        }
        deepest = idx;
    }
    deepest
}
