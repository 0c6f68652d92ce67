//! [`LiveTable`]: an open table that deletes its file once nothing can read it.
//!
//! A table leaves the current version when a version edit removes it (compaction,
//! `clear`, `drop_range`), but readers may still hold super-versions that list it:
//! snapshot iterators, and the version history that keeps reads below a destructive
//! change's mark answering as before. So the edit only marks the table obsolete, and
//! the file is removed when the last `Arc` of it drops. A crash before that leaves an
//! orphan, which the next open removes.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lsm_core::Fs;
use lsm_table::Table;

/// An open table of a tree; see the module docs.
pub(crate) struct LiveTable {
    pub(crate) table: Table,
    /// Written under an older key epoch (a compaction rewrites it under the current key).
    pub(crate) stale_key: bool,
    path: PathBuf,
    fs: Arc<dyn Fs>,
    obsolete: AtomicBool,
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
        }
    }

    /// The same, marked as written under an older key epoch when `stale`.
    pub(crate) fn with_stale_key(mut self, stale: bool) -> Self {
        self.stale_key = stale;
        self
    }

    /// Deletes the file once the last reader is done (the edit removing the table is
    /// durable).
    pub(crate) fn mark_obsolete(&self) {
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
            // The next open removes it as an orphan.
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "obsolete table not deleted");
            }
        }
    }
}
