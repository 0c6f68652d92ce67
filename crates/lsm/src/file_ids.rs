//! [`FileIds`]: the counters that name a tree's memtables, tables and blob files.
//!
//! Ids are handed out once and never reused; the table and blob-file counters start at
//! the version's next ids and are written into every edit, so that a recovery never
//! hands out an id a file on disk (even an orphan) already has.

use std::sync::atomic::{AtomicU64, Ordering};

use lsm_core::{BlobFileId, MemtableId, TableId};

/// See the module docs.
pub(crate) struct FileIds {
    memtable: AtomicU64,
    table: AtomicU64,
    blob_file: AtomicU64,
}

impl FileIds {
    /// Counters starting at the given ids (memtable ids restart each open).
    pub(crate) fn new(
        next_memtable: MemtableId,
        next_table: TableId,
        next_blob: BlobFileId,
    ) -> Self {
        Self {
            memtable: AtomicU64::new(next_memtable),
            table: AtomicU64::new(next_table),
            blob_file: AtomicU64::new(next_blob),
        }
    }

    /// A fresh memtable id.
    pub(crate) fn memtable(&self) -> MemtableId {
        self.memtable.fetch_add(1, Ordering::AcqRel)
    }

    /// A fresh table id.
    pub(crate) fn table(&self) -> TableId {
        self.table.fetch_add(1, Ordering::AcqRel)
    }

    /// A fresh blob file id.
    pub(crate) fn blob_file(&self) -> BlobFileId {
        self.blob_file.fetch_add(1, Ordering::AcqRel)
    }

    /// The next table id to hand out (for an edit).
    pub(crate) fn next_table(&self) -> TableId {
        self.table.load(Ordering::Acquire)
    }

    /// The next blob file id to hand out (for an edit).
    pub(crate) fn next_blob_file(&self) -> BlobFileId {
        self.blob_file.load(Ordering::Acquire)
    }
}
