//! Flush: sealed memtables to a level-0 run, installed in one version edit.
//!
//! A [`FlushJob`] writes every sealed memtable into tables (and blob files), synced and
//! with their directory entries durable; the tree opens them, and only then does one
//! edit add them as a new level-0 run and retire the memtables. So a crash at any point leaves
//! either the state before the flush (the new files are orphans, removed at the next
//! open) or the state after it, never a version referencing a partial file.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use lsm_codec::FILE_SALT_LEN;
use lsm_compaction::{BlobTarget, FlushJob, Outputs, TableTarget};
use lsm_core::{BlobFileId, Fs, InternalEntry, MemtableId, SeqNo, TableId};
use lsm_memtable::Memtable;
use lsm_table::NewTable;
use lsm_version::{BlobFileInfo, TableMeta, VersionEdit};
use lsm_vlog::NewBlobFile;

use crate::KvSeparationOptions;
use crate::abstract_tree::FlushGuard;
use crate::blobs::{BlobFiles, LiveBlobFile};
use crate::config::FLUSH_TABLE_TARGET_BYTES;
use crate::layout::{BLOBS_DIR, blob_path};
use crate::live_table::LiveTable;
use crate::tree::TreeInner;
use crate::{Error, Result};

impl TreeInner {
    /// Seals the active memtable (when it holds anything); returns it.
    pub(crate) fn rotate(&self) -> Option<Arc<Memtable>> {
        let _gate = self.published.exclusive();
        self.seal_active()
    }

    /// [`Self::rotate`] for a caller that holds the write gate.
    pub(crate) fn seal_active(&self) -> Option<Arc<Memtable>> {
        let mut sealed_memtable = None;
        let fresh = Arc::new(self.new_memtable(self.ids.memtable()));
        self.install(|current| {
            let mut next = current.clone();
            if !current.active.is_empty() {
                sealed_memtable = Some(Arc::clone(&current.active));
                next.sealed.insert(0, Arc::clone(&current.active));
                next.active = fresh;
            }
            next
        });
        sealed_memtable
    }

    /// Flushes every sealed memtable; returns the bytes of tables written, or `None`
    /// when nothing was sealed. See the module docs.
    ///
    /// # Errors
    /// [`Error::Unrecoverable`] on a poisoned tree; I/O and table errors (the memtables
    /// stay sealed and readable, and the tables written are deleted); manifest errors
    /// (which poison the tree).
    pub(crate) fn flush_sealed(
        &self,
        _lock: &FlushGuard<'_>,
        watermark: SeqNo,
    ) -> Result<Option<u64>> {
        self.health.check()?;
        let current = self.super_version();
        if current.sealed.is_empty() {
            return Ok(None);
        }
        let memtables = current.sealed.clone();
        self.note_gc_watermark(watermark);
        let span = tracing::info_span!("flush", memtables = memtables.len(), watermark);
        let started = std::time::Instant::now();
        let _entered = span.enter();
        let flushed_ids: BTreeSet<MemtableId> = memtables.iter().map(|m| m.id()).collect();
        let job = FlushJob {
            memtables: &memtables,
            watermark,
            merge: self.merge_fn(),
        };
        let highest_seqno = job.highest_seqno();
        if let Some(hooks) = &self.config.flush_hooks {
            hooks.before_flush(highest_seqno)?;
        }
        let no_relocation = BTreeSet::new();
        let blobs = BlobContext {
            files: &current.blob_files,
            relocate: &no_relocation,
        };
        let written = self.with_targets(
            0,
            FLUSH_TABLE_TARGET_BYTES,
            &[],
            blobs,
            |fs, tables, blobs| job.run(fs, tables, blobs),
        )?;
        let opened = match self.open_outputs(0, &written) {
            Ok(opened) => opened,
            Err(error) => {
                written.remove(self.config.fs.as_ref());
                return Err(error);
            }
        };
        let bytes_written = opened.bytes();
        let mut installed_version = None;
        if !opened.tables.is_empty() {
            let edit = VersionEdit {
                added: vec![(
                    0,
                    opened.tables.iter().map(|(meta, _)| meta.clone()).collect(),
                )],
                added_blob_files: opened.blob_infos(),
                next_table_id: self.ids.next_table(),
                next_blob_file_id: self.ids.next_blob_file(),
                last_seqno: highest_seqno,
                gc_watermark: Some(watermark),
                ..VersionEdit::default()
            };
            match self.apply_edit(&edit) {
                Ok(version) => installed_version = Some(version),
                // The edit may or may not be durable: keep the files. The next open
                // either finds them referenced or removes them as orphans.
                Err(error) => return Err(error),
            }
        }
        self.install(|current| {
            let mut next = current.clone();
            next.sealed
                .retain(|memtable| !flushed_ids.contains(&memtable.id()));
            if let Some(version) = installed_version {
                opened.add_to(&mut next, version);
            }
            next.prune_history(watermark);
            next
        });
        if let Some(hooks) = &self.config.flush_hooks {
            hooks.after_flush();
        }
        if !written.tables.is_empty() {
            self.metrics.flushed(bytes_written);
        }
        tracing::info!(
            tables = written.tables.len(),
            blob_files = written.blob_files.len(),
            bytes_written,
            elapsed_ms = started.elapsed().as_millis(),
            "flushed"
        );
        Ok(Some(bytes_written))
    }

    /// Runs `job` with this tree's output targets for `level`: tables of about
    /// `target_bytes` named by the table counter, each naming the tables it `replaces`
    /// and those whose deletion is pending, and, when the tree separates values or
    /// holds blob files, blob files named by the blob counter (relocating the values of
    /// `blobs.relocate`).
    pub(crate) fn with_targets<T>(
        &self,
        level: usize,
        target_bytes: u64,
        replaces: &[TableId],
        blobs: BlobContext<'_>,
        job: impl FnOnce(
            &dyn Fs,
            &TableTarget<'_>,
            Option<(&BlobTarget<'_, Error>, &Path)>,
        ) -> Result<T>,
    ) -> Result<T> {
        let mut options = self.config.table_options(level)?;
        self.runtime
            .load()
            .apply_to(&mut options, self.config.dictionary_training)?;
        options.created_at_ms = now_ms();
        options.replaces = replaces.into();
        options.obsolete = self.pending_deletions.ids().into();
        // Compressed blocks are compressed on the compaction threads, when there are
        // several, while the job's thread builds the next ones.
        options.compression_pool.clone_from(&self.compaction_pool);
        let encryption = self.encryption.as_ref();
        // Each file's salt is set from its `NewTable` (or `NewBlobFile`).
        let file_encryption = encryption.map(|tree| (tree.key.clone(), [0; FILE_SALT_LEN]));
        options.encryption.clone_from(&file_encryption);
        // Tables and blob files number from separate counters: their salts are kept
        // apart by kind.
        let salt_for = |kind, file_id| {
            encryption.map_or([0; FILE_SALT_LEN], |tree| {
                tree.salts.salt_for(kind, file_id)
            })
        };
        let tree_dir = &self.config.path;
        // The level's route decides the directory (see `crate::config::LevelRoute`).
        let tables_dir = self.config.tables_dir(level);
        let next_table = || {
            let file_id = self.ids.table();
            NewTable {
                file_id,
                path: tables_dir.join(file_id.to_string()),
                salt: salt_for(SALT_KIND_TABLE, file_id),
            }
        };
        let tables = TableTarget {
            dir: &tables_dir,
            options,
            target_bytes,
            next_table: &next_table,
        };
        let fs = self.config.fs.as_ref();
        // The sink runs whenever the tree holds blob files, even with separation off, so
        // that each table's blob references stay counted.
        if self.config.kv_separation_opts.is_none() && blobs.files.is_empty() {
            return job(fs, &tables, None);
        }
        let tracking_only = KvSeparationOptions {
            separation_threshold: u32::MAX,
            ..KvSeparationOptions::default()
        };
        let options = self
            .config
            .kv_separation_opts
            .as_ref()
            .unwrap_or(&tracking_only);
        let next_file = || {
            let file_id = self.ids.blob_file();
            NewBlobFile {
                file_id,
                path: blob_path(tree_dir, file_id),
                salt: salt_for(SALT_KIND_BLOB, file_id),
            }
        };
        let read_value = |entry: &InternalEntry| crate::blobs::read_value(blobs.files, entry);
        let mut blob_options = options.write_options();
        blob_options.encryption = file_encryption;
        let target = BlobTarget {
            options: blob_options,
            separation_threshold: options.separation_threshold,
            file_target_bytes: options.file_target_size,
            next_file: &next_file,
            relocate: blobs.relocate,
            read_value: &read_value,
        };
        let blobs_dir = tree_dir.join(BLOBS_DIR);
        job(fs, &tables, Some((&target, &blobs_dir)))
    }

    /// Opens freshly written tables of `level` and blob files.
    pub(crate) fn open_outputs(&self, level: usize, outputs: &Outputs) -> Result<Opened> {
        self.open_outputs_at(level, outputs, None)
    }

    /// [`Self::open_outputs`] of ingested tables, which read at `global_seqno`.
    pub(crate) fn open_outputs_at(
        &self,
        level: usize,
        outputs: &Outputs,
        global_seqno: Option<SeqNo>,
    ) -> Result<Opened> {
        let fs = &self.config.fs;
        let mut options = self.config.read_options(level, &self.read_options);
        options.global_seqno = global_seqno;
        let tables = lsm_compaction::open_tables(fs.as_ref(), outputs, &options)?
            .into_iter()
            .zip(&outputs.tables)
            .map(|((meta, table), written)| {
                let live = LiveTable::new(table, written.path.clone(), Arc::clone(fs))
                    .with_durable_removal(!self.config.level_routes().is_empty());
                (meta, Arc::new(live))
            })
            .collect();
        let blob_files = outputs
            .blob_files
            .iter()
            .map(|file| {
                let meta = &file.meta;
                let info = BlobFileInfo::new(
                    meta.file_id,
                    meta.frame_count,
                    meta.value_bytes,
                    meta.file_len,
                )
                .with_digest(meta.digest);
                LiveBlobFile::open(fs, &self.config.path, info, &self.blob_read_options)
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Opened { tables, blob_files })
    }
}

/// Salt kinds of the two file counters (see `lsm_codec::SaltSource`).
const SALT_KIND_TABLE: u8 = 0;
const SALT_KIND_BLOB: u8 = 1;

/// The blob files a write reads from and relocates out of.
#[derive(Clone, Copy)]
pub(crate) struct BlobContext<'a> {
    /// The open blob files.
    pub(crate) files: &'a BlobFiles,
    /// The blob files whose live values are copied to new files.
    pub(crate) relocate: &'a BTreeSet<BlobFileId>,
}

/// Written tables and blob files, open.
pub(crate) struct Opened {
    pub(crate) tables: Vec<(TableMeta, Arc<LiveTable>)>,
    pub(crate) blob_files: Vec<Arc<LiveBlobFile>>,
}

impl Opened {
    /// Sets `next` to `version`, which adds these files (and removes none).
    pub(crate) fn add_to(
        self,
        next: &mut crate::super_version::SuperVersion,
        version: Arc<lsm_version::Version>,
    ) {
        next.set_version(version, self.blob_files);
        next.swap_tables(
            &BTreeSet::new(),
            self.tables
                .into_iter()
                .map(|(meta, table)| (meta.id, table)),
        );
    }

    /// The edit fields that add the blob files.
    pub(crate) fn blob_infos(&self) -> Vec<BlobFileInfo> {
        self.blob_files.iter().map(|file| file.info).collect()
    }

    /// Bytes of the tables and blob files written.
    pub(crate) fn bytes(&self) -> u64 {
        self.tables
            .iter()
            .map(|(meta, _)| meta.size_bytes)
            .chain(self.blob_files.iter().map(|file| file.info.file_len))
            .sum()
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
