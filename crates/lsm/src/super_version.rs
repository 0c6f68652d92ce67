//! [`SuperVersion`]: everything a read needs, pinned by one `Arc`.
//!
//! A super-version is the active memtable, the sealed memtables (newest first), the
//! version (levels of runs of tables) and the open tables, plus the version history. It
//! is immutable: writes go into the active memtable it holds, and every other change
//! (rotation, flush, `clear`, `drop_range`) installs a new super-version. A reader clones
//! the `Arc` and keeps reading it, whatever is installed after.
//!
//! **Version history.** `clear` and `drop_range` remove data without a seqno of their
//! own, yet a read at a seqno older than them must keep its answer. So before such a
//! change the tree records the super-version it replaces, with a mark (the next seqno
//! to be handed out): a read at `r` uses the oldest recorded super-version whose mark is
//! above `r`, else the current one. A flush with GC watermark `w` forgets the records
//! with marks at or below `w`, since no read below `w` is promised any more. The history
//! lives in memory; after a reopen, reads see the reopened state at every seqno.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use lsm_core::{BlobFileId, SeqNo, TableId};
use lsm_memtable::Memtable;
use lsm_version::Version;

use crate::blobs::{BlobFiles, LiveBlobFile};
use crate::live_table::LiveTable;

/// A reader's view of the tree; see the module docs.
#[derive(Clone)]
pub(crate) struct SuperVersion {
    pub(crate) active: Arc<Memtable>,
    /// Sealed memtables, newest first.
    pub(crate) sealed: Vec<Arc<Memtable>>,
    pub(crate) version: Arc<Version>,
    pub(crate) tables: Arc<BTreeMap<TableId, Arc<LiveTable>>>,
    /// The open blob files of the version.
    pub(crate) blob_files: BlobFiles,
    /// Whether any table holds range tombstones (point reads skip looking otherwise).
    pub(crate) tables_have_range_tombstones: bool,
    /// Replaced super-versions by ascending mark; their own history is empty.
    pub(crate) history: Arc<Vec<(SeqNo, Arc<SuperVersion>)>>,
    /// Per level and run, whether every table of the run is plain (see
    /// [`Self::run_is_plain`]); worked out by the first scan that asks, and reset when
    /// the version or the tables change.
    pub(crate) plain_runs: std::sync::OnceLock<Vec<Vec<bool>>>,
}

impl SuperVersion {
    /// The tables written under an older key epoch.
    pub(crate) fn stale_key_tables(&self) -> HashSet<TableId> {
        self.tables
            .iter()
            .filter(|(_, table)| table.stale_key)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The blob files written under an older key epoch.
    pub(crate) fn stale_key_blob_files(&self) -> HashSet<BlobFileId> {
        self.blob_files
            .iter()
            .filter(|(_, file)| file.stale_key)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The super-version a read at `read_seqno` uses.
    pub(crate) fn at(self: &Arc<Self>, read_seqno: SeqNo) -> Arc<Self> {
        self.history
            .iter()
            .find(|(mark, _)| read_seqno < *mark)
            .map_or_else(|| Arc::clone(self), |(_, old)| Arc::clone(old))
    }

    /// Whether every table of run `run` of level `level` holds one plain value per user
    /// key: no second version, no tombstone of any kind, no merge operand, no separated
    /// value (a scan of that run alone needs no newest-version stream).
    pub(crate) fn run_is_plain(&self, level: usize, run: usize) -> bool {
        let plain = self.plain_runs.get_or_init(|| {
            self.version
                .levels()
                .iter()
                .map(|level| {
                    level
                        .runs()
                        .iter()
                        .map(|run| {
                            run.tables()
                                .iter()
                                .all(|meta| is_plain(self.table(meta.id).table.properties()))
                        })
                        .collect()
                })
                .collect()
        });
        plain
            .get(level)
            .and_then(|runs| runs.get(run))
            .copied()
            .unwrap_or(false)
    }

    /// Replaces the open tables.
    pub(crate) fn set_tables(&mut self, tables: BTreeMap<TableId, Arc<LiveTable>>) {
        self.plain_runs = std::sync::OnceLock::new();
        self.tables_have_range_tombstones = tables
            .values()
            .any(|live| !live.table.range_tombstones().is_empty());
        self.tables = Arc::new(tables);
    }

    /// Sets the open tables to the current ones less `removed`, plus `added`.
    pub(crate) fn swap_tables(
        &mut self,
        removed: &BTreeSet<TableId>,
        added: impl IntoIterator<Item = (TableId, Arc<LiveTable>)>,
    ) {
        let mut tables: BTreeMap<_, _> = self
            .tables
            .iter()
            .filter(|(id, _)| !removed.contains(id))
            .map(|(id, table)| (*id, Arc::clone(table)))
            .collect();
        tables.extend(added);
        self.set_tables(tables);
    }

    /// Installs `version`: the blob files it lists are those already open plus `added`;
    /// the ones it no longer lists are deleted once no super-version holds them.
    pub(crate) fn set_version(&mut self, version: Arc<Version>, added: Vec<Arc<LiveBlobFile>>) {
        self.plain_runs = std::sync::OnceLock::new();
        let listed = version.blob_files();
        let unchanged = added.is_empty()
            && listed.len() == self.blob_files.len()
            && listed.keys().eq(self.blob_files.keys());
        if !unchanged {
            let mut files: BTreeMap<_, _> = self
                .blob_files
                .iter()
                .filter(|(id, _)| listed.contains_key(id))
                .map(|(id, file)| (*id, Arc::clone(file)))
                .collect();
            for (id, file) in self.blob_files.iter() {
                if !listed.contains_key(id) {
                    file.mark_obsolete();
                }
            }
            files.extend(added.into_iter().map(|file| (file.info.id, file)));
            self.blob_files = Arc::new(files);
        }
        self.version = version;
    }

    /// The memtables, newest first.
    pub(crate) fn memtables(&self) -> impl Iterator<Item = &Arc<Memtable>> {
        std::iter::once(&self.active).chain(&self.sealed)
    }

    /// The open table `id` of the version.
    ///
    /// # Panics
    /// When the version lists a table that is not open (the two are installed together).
    pub(crate) fn table(&self, id: TableId) -> &Arc<LiveTable> {
        self.tables
            .get(&id)
            .expect("every table of the version is open")
    }

    /// This super-version with `self` recorded in the history under `mark`; the caller
    /// then changes what it needs.
    pub(crate) fn with_history_entry(&self, mark: SeqNo) -> Self {
        let mut recorded = self.clone();
        recorded.history = Arc::default();
        let mut history: Vec<_> = (*self.history).clone();
        history.push((mark, Arc::new(recorded)));
        let mut next = self.clone();
        next.history = Arc::new(history);
        next
    }

    /// Forgets history entries no read at or above `watermark` uses.
    pub(crate) fn prune_history(&mut self, watermark: SeqNo) {
        if self.history.iter().any(|(mark, _)| *mark <= watermark) {
            self.history = Arc::new(
                self.history
                    .iter()
                    .filter(|(mark, _)| *mark > watermark)
                    .cloned()
                    .collect(),
            );
        }
    }
}

/// Whether a table holds one plain value per user key; see
/// [`SuperVersion::run_is_plain`].
fn is_plain(properties: &lsm_table::TableProperties) -> bool {
    properties.user_key_count == properties.entry_count
        && properties.tombstone_count == 0
        && properties.weak_tombstone_count == 0
        && properties.merge_operand_count == 0
        && properties.indirection_count == 0
        && properties.range_tombstone_count == 0
}
