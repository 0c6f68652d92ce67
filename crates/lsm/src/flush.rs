//! Flush: sealed memtables to a level-0 run, installed in one version edit.
//!
//! Every sealed memtable is merged into one sorted stream, garbage-collected below the
//! caller's watermark (the compaction stream, never at the bottom: tombstones stay, merge
//! operands fold only onto a base in the memtables), and written by a [`TableSetWriter`]; the tables are
//! synced, their directory entries made durable, and opened; only then does one edit add
//! them as a new level-0 run and retire the memtables. So a crash at any point leaves
//! either the state before the flush (the new files are orphans, removed at the next
//! open) or the state after it, never a version referencing a partial file.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use lsm_compaction::Bottom;
use lsm_core::{BlobFileId, InternalEntry, KeyRange, MemtableId, SeqNo};
use lsm_memtable::Memtable;
use lsm_table::{NewTable, Table, WrittenTable};
use lsm_version::{BlobFileInfo, BlobRef, TableMeta, VersionEdit};
use lsm_vlog::WrittenBlobFile;

use crate::KvSeparationOptions;
use crate::abstract_tree::FlushGuard;
use crate::blobs::{BlobFiles, BlobSink, LiveBlobFile};
use crate::config::FLUSH_TABLE_TARGET_BYTES;
use crate::layout::{BLOBS_DIR, TABLES_DIR, table_path};
use crate::live_table::LiveTable;
use crate::tree::TreeInner;
use crate::{Error, Result};

impl TreeInner {
    /// Seals the active memtable (when it holds anything); returns it.
    pub(crate) fn rotate(&self) -> Option<Arc<Memtable>> {
        let mut sealed_memtable = None;
        let fresh = Arc::new(Memtable::new(self.next_memtable_id()));
        self.install_without_writes(|current| {
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
        self.check_poisoned()?;
        let current = self.super_version();
        if current.sealed.is_empty() {
            return Ok(None);
        }
        let memtables = current.sealed.clone();
        let span = tracing::info_span!("flush", memtables = memtables.len(), watermark);
        let _entered = span.enter();
        let flushed_ids: BTreeSet<MemtableId> = memtables.iter().map(|m| m.id()).collect();
        let highest_seqno = memtables
            .iter()
            .map(|m| m.highest_seqno())
            .max()
            .unwrap_or(0);
        let sources: Vec<_> = memtables
            .iter()
            .map(|memtable| {
                memtable
                    .range::<&[u8], _>(.., SeqNo::MAX)
                    .map(Ok::<_, Error>)
            })
            .collect();
        let tombstones: Vec<_> = memtables
            .iter()
            .flat_map(|memtable| memtable.range_tombstones())
            .collect();
        let mut stream = lsm_compaction::merge_sources(sources, watermark, Bottom::No)
            .with_range_tombstones(tombstones.clone());
        if let Some(operator) = &self.config.merge_operator {
            stream = stream.with_merge(crate::merge_operator::merge_fn(operator));
        }
        // Not the bottom: every tombstone goes on to the tables.
        let tombstones = lsm_compaction::surviving_tombstones(tombstones, watermark, Bottom::No);
        let no_relocation = BTreeSet::new();
        let blobs = BlobContext {
            files: &current.blob_files,
            relocate: &no_relocation,
        };
        let written = self.write_tables(0, FLUSH_TABLE_TARGET_BYTES, stream, tombstones, blobs)?;
        let opened = match self.open_written(0, &written) {
            Ok(opened) => opened,
            Err(error) => {
                self.remove_written(&written);
                return Err(error);
            }
        };
        let bytes_written = opened
            .tables
            .iter()
            .map(|(meta, _)| meta.size_bytes)
            .chain(opened.blob_files.iter().map(|file| file.info.file_len))
            .sum();
        let mut installed_version = None;
        if !opened.tables.is_empty() {
            let edit = VersionEdit {
                added: vec![(
                    0,
                    opened.tables.iter().map(|(meta, _)| meta.clone()).collect(),
                )],
                added_blob_files: opened.blob_infos(),
                next_table_id: self.table_id_counter.load(Ordering::Acquire),
                next_blob_file_id: self.blob_file_id_counter.load(Ordering::Acquire),
                last_seqno: highest_seqno,
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
                next.set_version(version, opened.blob_files);
                let mut tables = (*current.tables).clone();
                tables.extend(
                    opened
                        .tables
                        .into_iter()
                        .map(|(meta, table)| (meta.id, table)),
                );
                next.set_tables(tables);
            }
            next.prune_history(watermark);
            next
        });
        tracing::info!(
            tables = written.tables.len(),
            blob_files = written.blob_files.len(),
            bytes_written,
            "flushed"
        );
        Ok(Some(bytes_written))
    }

    /// Writes `stream` and `tombstones` (sorted by start) into tables for `level` of about
    /// `target_bytes`, and separated values into blob files, all synced and with durable
    /// directory entries. `blobs` holds the open blob files and those whose values are
    /// relocated. On failure, every file it created is deleted.
    pub(crate) fn write_tables<E>(
        &self,
        level: usize,
        target_bytes: u64,
        stream: impl Iterator<Item = Result<InternalEntry, E>>,
        tombstones: Vec<lsm_core::RangeTombstone>,
        blobs: BlobContext<'_>,
    ) -> Result<Written>
    where
        Error: From<E>,
    {
        let stream = stream.map(|entry| entry.map_err(Error::from));
        // The sink runs whenever the tree holds blob files, even with separation off, so
        // that each table's blob references stay counted.
        if self.config.kv_separation_opts.is_none() && blobs.files.is_empty() {
            let tables = self.write_plain_tables(level, target_bytes, stream, tombstones)?;
            let blob_refs = vec![Vec::new(); tables.len()];
            return Ok(Written {
                tables,
                blob_refs,
                blob_files: Vec::new(),
            });
        }
        let fs = self.config.fs.as_ref();
        let tree_dir = &self.config.path;
        let tracking_only = KvSeparationOptions {
            separation_threshold: u32::MAX,
            ..KvSeparationOptions::default()
        };
        let options = self
            .config
            .kv_separation_opts
            .as_ref()
            .unwrap_or(&tracking_only);
        let mut sink = BlobSink::new(fs, tree_dir, options, blobs.files, blobs.relocate, || {
            self.blob_file_id_counter.fetch_add(1, Ordering::AcqRel)
        });
        let named = sink.named();
        let written = self.write_plain_tables(
            level,
            target_bytes,
            stream.map(|entry| entry.and_then(|entry| sink.separate(entry))),
            tombstones,
        );
        let tables = match written {
            Ok(tables) => tables,
            Err(error) => {
                crate::blobs::remove_paths(fs, &named);
                return Err(error);
            }
        };
        let blobs_dir = tree_dir.join(BLOBS_DIR);
        let output = sink.finish().and_then(|output| {
            if !output.files.is_empty() {
                fs.sync_dir(&blobs_dir)
                    .map_err(|source| Error::io("sync dir", &blobs_dir, source))?;
            }
            Ok(output)
        });
        match output {
            Ok(output) => Ok(Written {
                blob_refs: crate::blobs::refs_per_table(&tables, &output.refs),
                tables,
                blob_files: output.files,
            }),
            Err(error) => {
                crate::blobs::remove_paths(fs, &named);
                self.remove_tables(&tables);
                Err(error)
            }
        }
    }

    /// Writes tables only (values stay as they come).
    fn write_plain_tables(
        &self,
        level: usize,
        target_bytes: u64,
        stream: impl Iterator<Item = Result<InternalEntry>>,
        tombstones: Vec<lsm_core::RangeTombstone>,
    ) -> Result<Vec<WrittenTable>> {
        let mut options = self.config.table_options(level)?;
        options.created_at_ms = now_ms();
        let tree_dir = &self.config.path;
        lsm_compaction::write_tables(
            self.config.fs.as_ref(),
            &tree_dir.join(TABLES_DIR),
            options,
            target_bytes,
            stream,
            tombstones,
            || {
                let file_id = self.next_table_id();
                NewTable {
                    file_id,
                    path: table_path(tree_dir, file_id),
                    // Tables of this tree are not encrypted: the salt is unused.
                    salt: [0; lsm_codec::FILE_SALT_LEN],
                }
            },
        )
    }

    /// Opens freshly written tables of `level` and blob files.
    pub(crate) fn open_written(&self, level: usize, written: &Written) -> Result<Opened> {
        let fs = &self.config.fs;
        let options = self.config.read_options(level, &self.read_options);
        let tables = written
            .tables
            .iter()
            .zip(&written.blob_refs)
            .map(|(table, blob_refs)| {
                let opened = Table::open(fs.as_ref(), &table.path, table.file_id, &options)?;
                let size_bytes = fs
                    .metadata(&table.path)
                    .map_err(|source| Error::io("stat", &table.path, source))?
                    .len_bytes;
                let properties = &table.properties;
                let meta = TableMeta {
                    id: table.file_id,
                    key_range: KeyRange::new(
                        properties.key_min.clone(),
                        properties.key_max.clone(),
                    ),
                    seqno_min: properties.seqno_min,
                    seqno_max: properties.seqno_max,
                    size_bytes,
                    entry_count: properties.entry_count,
                    tombstone_count: properties.tombstone_count + properties.weak_tombstone_count,
                    blob_refs: blob_refs.clone(),
                };
                let live = LiveTable::new(opened, table.path.clone(), Arc::clone(fs));
                Ok((meta, Arc::new(live)))
            })
            .collect::<Result<Vec<_>>>()?;
        let blob_files = written
            .blob_files
            .iter()
            .map(|file| {
                let meta = &file.meta;
                let info = BlobFileInfo::new(
                    meta.file_id,
                    meta.frame_count,
                    meta.value_bytes,
                    meta.file_len,
                );
                LiveBlobFile::open(fs, &self.config.path, info, &self.blob_read_options)
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Opened { tables, blob_files })
    }

    /// Deletes tables and blob files that no edit references (best effort; orphans
    /// otherwise).
    pub(crate) fn remove_written(&self, written: &Written) {
        self.remove_tables(&written.tables);
        for file in &written.blob_files {
            let _ = self.config.fs.remove_file(&file.path);
        }
    }

    fn remove_tables(&self, tables: &[WrittenTable]) {
        for table in tables {
            let _ = self.config.fs.remove_file(&table.path);
        }
    }
}

/// The blob files a write reads from and relocates out of.
#[derive(Clone, Copy)]
pub(crate) struct BlobContext<'a> {
    /// The open blob files.
    pub(crate) files: &'a BlobFiles,
    /// The blob files whose live values are copied to new files.
    pub(crate) relocate: &'a BTreeSet<BlobFileId>,
}

/// What a flush or merge wrote: tables (with the blob references of each) and blob
/// files.
#[derive(Default)]
pub(crate) struct Written {
    pub(crate) tables: Vec<WrittenTable>,
    /// Per table, in order.
    pub(crate) blob_refs: Vec<Vec<BlobRef>>,
    pub(crate) blob_files: Vec<WrittenBlobFile>,
}

impl Written {
    /// Appends another part's output.
    pub(crate) fn extend(&mut self, other: Self) {
        self.tables.extend(other.tables);
        self.blob_refs.extend(other.blob_refs);
        self.blob_files.extend(other.blob_files);
    }
}

/// Written tables and blob files, open.
pub(crate) struct Opened {
    pub(crate) tables: Vec<(TableMeta, Arc<LiveTable>)>,
    pub(crate) blob_files: Vec<Arc<LiveBlobFile>>,
}

impl Opened {
    /// The edit fields that add the blob files.
    pub(crate) fn blob_infos(&self) -> Vec<BlobFileInfo> {
        self.blob_files.iter().map(|file| file.info).collect()
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
