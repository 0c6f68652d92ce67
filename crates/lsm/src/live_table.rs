//! [`LiveTable`]: an open table that deletes its file once nothing can read it.
//!
//! A table leaves the current version when a version edit removes it (compaction,
//! `clear`, `drop_range`), but readers may still hold super-versions that list it:
//! snapshot iterators, and the version history that keeps reads below a destructive
//! change's mark answering as before. So the edit only marks the table obsolete, and
//! the file is removed when the last `Arc` of it drops. A crash before that leaves an
//! orphan, which the next open removes.
//!
//! Until its file is gone, an obsolete table is listed in the tree's
//! [`PendingDeletions`], and every table written meanwhile names it as replaced (table
//! property `replaces`): a manifest rebuilt from the files on disk
//! ([`crate::Config::repair`]) then leaves it out instead of bringing back what it
//! held. A drop removes tables without writing one, so its drop marker names the
//! pending tables too and lasts until their files are gone: once the dropped tables
//! are deleted, nothing else on disk would say the pending ones are obsolete.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use lsm_core::{Fs, TableId};
use lsm_table::Table;

/// Tables removed from a tree whose files are not deleted yet, each with the drop
/// markers that name it (kept until its file is gone).
#[derive(Debug, Default)]
pub(crate) struct PendingDeletions(Mutex<BTreeMap<TableId, Vec<Arc<DropMarker>>>>);

impl PendingDeletions {
    /// The ids, ascending.
    pub(crate) fn ids(&self) -> Vec<TableId> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect()
    }

    /// Keeps `marker` until the file of each of `ids` still pending is deleted.
    pub(crate) fn hold_marker(&self, ids: &[TableId], marker: &Arc<DropMarker>) {
        let mut pending = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            if let Some(markers) = pending.get_mut(id) {
                markers.push(Arc::clone(marker));
            }
        }
    }

    fn insert(&self, id: TableId) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_default();
    }

    fn remove(&self, id: TableId) {
        let markers = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        // Markers drop (and may sync and delete) outside the lock.
        drop(markers);
    }
}

/// An open table of a tree; see the module docs.
pub(crate) struct LiveTable {
    pub(crate) table: Table,
    /// Written under an older key epoch (a compaction rewrites it under the current key).
    pub(crate) stale_key: bool,
    path: PathBuf,
    fs: Arc<dyn Fs>,
    obsolete: AtomicBool,
    /// Where the table is listed once obsolete, until its file is deleted.
    pending: OnceLock<Arc<PendingDeletions>>,
    /// The drop marker naming the table, if a drop removed it (deleted once every
    /// table it names is).
    drop_marker: OnceLock<Arc<DropMarker>>,
    /// Sync the directory after deleting the file, before the table leaves the
    /// pending list (see [`Self::with_durable_removal`]).
    durable_removal: bool,
}

impl LiveTable {
    /// The table's file.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub(crate) fn new(table: Table, path: PathBuf, fs: Arc<dyn Fs>) -> Self {
        Self {
            table,
            stale_key: false,
            path,
            fs,
            obsolete: AtomicBool::new(false),
            pending: OnceLock::new(),
            drop_marker: OnceLock::new(),
            durable_removal: false,
        }
    }

    /// The same, making its deletion durable before it leaves the pending list: for a
    /// tree with level routes, whose tables live in several directories. In one
    /// directory, a deletion is made durable by the next sync of that directory, which
    /// comes before anything that could let a rebuilt manifest take the table back (a
    /// drop marker, the deletion of the tables that name it); across directories no
    /// such order holds.
    pub(crate) fn with_durable_removal(mut self, durable: bool) -> Self {
        self.durable_removal = durable;
        self
    }

    /// The same, marked as written under an older key epoch when `stale`.
    pub(crate) fn with_stale_key(mut self, stale: bool) -> Self {
        self.stale_key = stale;
        self
    }

    /// Keeps `marker` until the table's file is deleted.
    pub(crate) fn set_drop_marker(&self, marker: &Arc<DropMarker>) {
        let _ = self.drop_marker.set(Arc::clone(marker));
    }

    /// Deletes the file once the last reader is done (the edit removing the table is
    /// durable), listing it in `pending` until then.
    pub(crate) fn mark_obsolete(&self, pending: &Arc<PendingDeletions>) {
        if self.pending.set(Arc::clone(pending)).is_ok() {
            pending.insert(self.table.file_id());
        }
        self.obsolete.store(true, Ordering::Release);
    }
}

impl Drop for LiveTable {
    fn drop(&mut self) {
        if !self.obsolete.load(Ordering::Acquire) {
            return;
        }
        match self.fs.remove_file(&self.path) {
            Ok(()) => {
                tracing::debug!(path = %self.path.display(), "obsolete table deleted");
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            // The next open removes it as an orphan; until then it stays listed.
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "obsolete table not deleted");
                return;
            }
        }
        if self.durable_removal
            && let Some(dir) = self.path.parent()
            && let Err(error) = self.fs.sync_dir(dir)
        {
            tracing::warn!(path = %dir.display(), %error, "table deletion not made durable");
            return;
        }
        if let Some(pending) = self.pending.get() {
            pending.remove(self.table.file_id());
        }
    }
}

/// A drop marker on disk (see `crate::layout`): deleted when the last table it names
/// lets go of it, or at once when the drop is not installed.
#[derive(Debug)]
pub(crate) struct DropMarker {
    path: PathBuf,
    fs: Arc<dyn Fs>,
}

impl DropMarker {
    /// The marker at `path`, written and durable.
    pub(crate) fn new(path: PathBuf, fs: Arc<dyn Fs>) -> Self {
        Self { path, fs }
    }
}

impl Drop for DropMarker {
    fn drop(&mut self) {
        // The deletions of the tables it names go first, durably: a marker gone with a
        // table still listed in the directory would let that table come back.
        if let Some(dir) = self.path.parent()
            && let Err(error) = self.fs.sync_dir(dir)
        {
            tracing::warn!(path = %dir.display(), %error, "drop marker kept: directory not synced");
            return;
        }
        if let Err(error) = self.fs.remove_file(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            // The next open removes it.
            tracing::warn!(path = %self.path.display(), %error, "drop marker not deleted");
        }
    }
}
