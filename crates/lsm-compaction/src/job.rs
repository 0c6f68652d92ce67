//! The output step every job shares: a sorted stream (a flush's memtables or a merge's
//! tables, already through the [`crate::CompactionStream`]) written into tables and,
//! when the tree separates values or holds blob files, blob files; every file synced
//! and its directory entry durable, then opened and described for the version edit.
//!
//! Nothing here touches a tree: the caller names the files (ids come from its
//! counters), installs the edit, and owns the open files. On any failure every file the
//! step created is deleted (best effort: the next open removes what is left as an
//! orphan), and no edit names them.

use std::path::Path;

use lsm_core::{Fs, InternalEntry, KeyOrder, KeyRange, RangeTombstone};
use lsm_table::{NewTable, ReadOptions, Table, TableOptions, WrittenTable};
use lsm_version::{BlobRef, TableMeta};
use lsm_vlog::WrittenBlobFile;

use crate::blob_sink::{BlobSink, BlobTarget, refs_per_table, remove_paths};
use crate::worker::sync_dir;
use crate::{Error, write_tables};

/// Where a job writes its tables.
pub struct TableTarget<'a> {
    /// The tables' directory (synced once they are written).
    pub dir: &'a Path,
    /// How tables are written.
    pub options: TableOptions,
    /// Tables are cut at about this size (never inside a key's versions).
    pub target_bytes: u64,
    /// Names each new table (called from any thread a job runs on).
    pub next_table: &'a (dyn Fn() -> NewTable + Sync),
}

/// What a job wrote: tables (with the blob references of each) and blob files, all
/// synced with durable directory entries.
#[derive(Default)]
pub struct Outputs {
    /// The tables, in key order.
    pub tables: Vec<WrittenTable>,
    /// Per table, in order: the blob files it points into.
    pub blob_refs: Vec<Vec<BlobRef>>,
    /// The blob files written.
    pub blob_files: Vec<WrittenBlobFile>,
}

impl Outputs {
    /// Appends another part's outputs (the next key-range slice of the same job).
    pub fn extend(&mut self, other: Self) {
        self.tables.extend(other.tables);
        self.blob_refs.extend(other.blob_refs);
        self.blob_files.extend(other.blob_files);
    }

    /// Deletes every file (best effort) of outputs no edit names.
    pub fn remove(&self, fs: &dyn Fs) {
        for table in &self.tables {
            let _ = fs.remove_file(&table.path);
        }
        for file in &self.blob_files {
            let _ = fs.remove_file(&file.path);
        }
    }
}

/// Writes `stream` and `tombstones` (sorted by start) as `tables` and, with `blobs`,
/// separates values into blob files in `blob_dir`; see the module docs.
///
/// # Errors
/// The stream's first error, or a writer's; every file created is deleted first.
pub fn write_outputs<E: From<Error>>(
    fs: &dyn Fs,
    tables: &TableTarget<'_>,
    blobs: Option<(&BlobTarget<'_, E>, &Path)>,
    stream: impl Iterator<Item = Result<InternalEntry, E>>,
    tombstones: Vec<RangeTombstone>,
) -> Result<Outputs, E> {
    let Some((target, blob_dir)) = blobs else {
        let written = write_table_set(fs, tables, stream, tombstones)?;
        return Ok(Outputs {
            blob_refs: vec![Vec::new(); written.len()],
            tables: written,
            blob_files: Vec::new(),
        });
    };
    let mut sink = BlobSink::new(fs, target);
    let named = sink.named();
    let separated = stream.map(|entry| entry.and_then(|entry| sink.separate(entry)));
    let written = match write_table_set(fs, tables, separated, tombstones) {
        Ok(written) => written,
        Err(error) => {
            remove_paths(fs, &named);
            return Err(error);
        }
    };
    let output = sink.finish().and_then(|output| {
        if !output.files.is_empty() {
            sync_dir(fs, blob_dir)?;
        }
        Ok(output)
    });
    match output {
        Ok(output) => Ok(Outputs {
            blob_refs: refs_per_table(&tables.options.order, &written, &output.refs),
            tables: written,
            blob_files: output.files,
        }),
        Err(error) => {
            remove_paths(fs, &named);
            for table in &written {
                let _ = fs.remove_file(&table.path);
            }
            Err(error)
        }
    }
}

/// Writes `stream` and `tombstones` as `tables` (generic over the stream, so that
/// every entry's way to the table writer is a direct call).
fn write_table_set<E: From<Error>>(
    fs: &dyn Fs,
    tables: &TableTarget<'_>,
    stream: impl Iterator<Item = Result<InternalEntry, E>>,
    tombstones: Vec<RangeTombstone>,
) -> Result<Vec<WrittenTable>, E> {
    write_tables(
        fs,
        tables.dir,
        tables.options.clone(),
        tables.target_bytes,
        stream,
        tombstones,
        tables.next_table,
    )
}

/// Opens the tables of `outputs` and describes each for the version edit.
///
/// # Errors
/// A table that fails to open or stat (the caller deletes the outputs).
pub fn open_tables(
    fs: &dyn Fs,
    outputs: &Outputs,
    options: &ReadOptions,
) -> Result<Vec<(TableMeta, Table)>, Error> {
    outputs
        .tables
        .iter()
        .zip(&outputs.blob_refs)
        .map(|(table, blob_refs)| {
            let opened = Table::open(fs, &table.path, table.file_id, options)?;
            let size_bytes = fs
                .metadata(&table.path)
                .map_err(|source| Error::Io {
                    op: "stat",
                    path: table.path.clone(),
                    source,
                })?
                .len_bytes;
            Ok((
                table_meta(&options.order, table, blob_refs.clone(), size_bytes),
                opened,
            ))
        })
        .collect()
}

/// How the version describes a written table of `size_bytes`.
fn table_meta(
    order: &KeyOrder,
    table: &WrittenTable,
    blob_refs: Vec<BlobRef>,
    size_bytes: u64,
) -> TableMeta {
    let properties = &table.properties;
    TableMeta {
        id: table.file_id,
        key_range: KeyRange::new(
            order,
            properties.key_min.clone(),
            properties.key_max.clone(),
        ),
        seqno_min: properties.seqno_min,
        seqno_max: properties.seqno_max,
        size_bytes,
        entry_count: properties.entry_count,
        tombstone_count: properties.tombstone_count + properties.weak_tombstone_count,
        blob_refs,
        digest: Some(table.digest),
        global_seqno: None,
    }
}
