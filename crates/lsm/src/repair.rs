//! [`Config::repair`]: a manifest rebuilt from the tables and blob files on disk.
//!
//! For a tree whose manifest is lost or damaged beyond what a recovery mode accepts.
//! Under the directory lock, every file of `tables/` (the tree's and each level
//! route's, whose directories the repair claims) and `blobs/` is opened and
//! checked block by block (frame by frame); a file that cannot be read whole, or whose
//! name is not a file id, is moved to `repair-quarantine/` (never deleted) and named in
//! the report. The manifest files found are moved there too. Which readable tables are
//! live, and where they go, follows from what each table records about the tables it
//! made obsolete ([`lsm_version::rebuild`], `docs/repair.md`): the inputs of an
//! installed merge and tables removed before a later table was written are left out,
//! so that they cannot bring back a key that was deleted or overwritten. A new manifest
//! generation records the result; when level 0 holds tables that share keys with
//! interleaved seqno ranges, the tree is opened and merged into its last level before
//! the call returns (keeping every version), so that point reads find the newest
//! version. Left-out tables and blob files are removed by the next open as orphans.
//!
//! ```
//! use lsm::{AbstractTree, Config, SequenceNumberCounter};
//!
//! let dir = tempfile::tempdir()?;
//! let config = Config::new(dir.path(), SequenceNumberCounter::default(), SequenceNumberCounter::default());
//! {
//!     let tree = config.clone().open()?;
//!     tree.insert("a", "1", 0);
//!     tree.flush_active_memtable(0)?;
//! }
//! // The manifest is lost.
//! std::fs::remove_file(dir.path().join("current"))?;
//! let report = config.repair()?;
//! assert_eq!(report.recovered, 1);
//! let tree = config.open()?;
//! assert_eq!(tree.get("a", lsm::SeqNo::MAX)?.as_deref(), Some(&b"1"[..]));
//! # Ok::<(), lsm::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm_core::{BlobFileId, Fs, SeqNo, TableId, ValueType};
use lsm_table::Table;
use lsm_version::rebuild::{FilesOnDisk, FoundTable, rebuild};
use lsm_version::{BlobFileInfo, BlobRef, Manifest, TableMeta};

use crate::AbstractTree;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::layout::{BLOBS_DIR, parse_table_file_name};

/// The directory damaged and replaced files are moved to.
pub const QUARANTINE_DIR: &str = "repair-quarantine";

/// The target size of the tables a repair's merge writes.
const MERGE_TABLE_TARGET_BYTES: u64 = 64 << 20;

/// What [`Config::repair`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Tables in the rebuilt manifest.
    pub recovered: usize,
    /// Files moved to the quarantine directory (unreadable, damaged or misnamed; the
    /// old manifest files are not counted).
    pub unreadable: usize,
    /// Each quarantined file (its path before the move) and why.
    pub unreadable_files: Vec<(PathBuf, String)>,
    /// How the tables were placed: `"placed"`, or `"placed and merged"` when level 0
    /// had to be merged.
    pub method: &'static str,
    /// Things a caller should know: files left out, blob files missing.
    pub warnings: Vec<&'static str>,
    /// Blob files in the rebuilt manifest.
    pub blob_files_recovered: usize,
    /// Tables left out as obsolete (replaced by an installed merge, or removed).
    pub obsolete_tables: Vec<TableId>,
    /// Tables left out as outputs of a merge that may not have been installed (its
    /// inputs were all found and are kept).
    pub uninstalled_tables: Vec<TableId>,
    /// Blob files tables point into that are missing or quarantined (those tables are
    /// quarantined too).
    pub missing_blob_files: Vec<BlobFileId>,
    /// The largest seqno found.
    pub last_seqno: SeqNo,
    /// The manifest files moved to the quarantine directory.
    pub replaced_manifest_files: Vec<PathBuf>,
    /// Ingested tables whose seqno the old manifest did not give (it was lost or
    /// damaged): each was given the seqno after the newest of the tables written before
    /// it. That is exact unless the ingestion's `finish` flushed writes or writes were
    /// flushed while it streamed: those then read as newer than the ingested keys.
    pub estimated_ingestion_seqnos: Vec<TableId>,
}

impl Config {
    /// Rebuilds the tree's manifest from the tables and blob files on disk; see
    /// [`crate::repair`]. The tree must not be open (the directory lock is taken).
    ///
    /// # Errors
    /// [`Error::Locked`]; [`Error::Io`] (a missing directory among them);
    /// [`Error::WrongKey`], [`Error::EncryptionRequired`] and the other errors of the
    /// encryption marker; [`Error::ComparatorMismatch`] when the tables record another
    /// key order than the configuration's; [`Error::Table`] with
    /// `UnsupportedFormatVersion` for a table of a newer format. Nothing is changed
    /// when any of these is returned before the new manifest is written.
    pub fn repair(&self) -> Result<RepairReport> {
        let fs = self.tree_fs();
        let dir = self.path.clone();
        self.validate()?;
        if !fs
            .exists(&dir)
            .map_err(|source| Error::io("stat", &dir, source))?
        {
            return Err(Error::io(
                "open tree directory",
                &dir,
                io::Error::from(io::ErrorKind::NotFound),
            ));
        }
        let lock = crate::dirs::lock_directory(fs.as_ref(), &dir, self.directory_lock)?;
        let span = tracing::info_span!("repair", path = %dir.display());
        let _entered = span.enter();
        let started = std::time::Instant::now();
        // A tree that never wrote a file may not have its encryption marker yet.
        let fresh = !fs
            .exists(&dir.join(crate::layout::ENCRYPTION_MARKER))
            .map_err(|source| Error::io("stat", &dir, source))?
            && !crate::dirs::holds_files(fs.as_ref(), &dir)?;
        let encryption =
            crate::encryption::open_marker(fs.as_ref(), &dir, self.encryption.as_deref(), fresh)?;
        // The tables found in the routes' directories are the tree's from now on.
        let route_locks = crate::dirs::claim_routes(fs.as_ref(), self, true)?;
        let mut quarantine = Quarantine::new(&fs, self);

        let (mut tables, dropped) = self.find_tables(&fs, encryption.as_ref(), &mut quarantine)?;
        let estimated_ingestion_seqnos =
            self.stamp_ingested(fs.as_ref(), &dir, encryption.as_ref(), &mut tables.found);
        let blob_files = self.find_blob_files(&fs, &dir, encryption.as_ref(), &mut quarantine)?;
        let rebuilt = rebuild(
            usize::from(self.level_count),
            self.key_order(),
            FilesOnDisk {
                tables: tables.found,
                table_ids: tables.present,
                dropped,
                blob_files: blob_files.found,
                blob_file_ids: blob_files.present,
            },
        );

        for &id in &rebuilt.broken {
            let Some(path) = tables.paths.get(&id) else {
                continue;
            };
            quarantine.add(
                path,
                &format!("table-{id}"),
                "points into a blob file that is missing or damaged",
            )?;
        }

        let generation = next_generation(fs.as_ref(), &dir, encryption.is_some())?;
        let mut replaced_manifest_files = Vec::new();
        for entry in list(fs.as_ref(), &dir)? {
            let Some(name) = entry.file_name() else {
                continue;
            };
            let is_manifest = name == lsm_version::layout::CURRENT_FILE
                || name == lsm_version::layout::CURRENT_TEMP_FILE
                || name.starts_with("manifest-");
            if is_manifest && !entry.is_dir {
                quarantine.move_file(&entry.path, name)?;
                replaced_manifest_files.push(entry.path.clone());
            }
        }
        quarantine.sync()?;
        let manifest = Manifest::create_generation(
            Arc::clone(&fs),
            &dir,
            rebuilt.version.clone(),
            self.manifest_rotate_bytes,
            encryption
                .as_ref()
                .map(crate::encryption::TreeEncryption::for_manifest),
            generation,
        )?;
        drop(manifest);

        let mut report = RepairReport {
            recovered: rebuilt.version.table_count(),
            unreadable: quarantine.moved.len(),
            unreadable_files: quarantine.moved,
            method: "placed",
            warnings: Vec::new(),
            blob_files_recovered: rebuilt.version.blob_file_count(),
            obsolete_tables: rebuilt.obsolete,
            uninstalled_tables: rebuilt.uninstalled,
            missing_blob_files: rebuilt.missing_blob_files,
            last_seqno: rebuilt.version.last_seqno(),
            replaced_manifest_files,
            estimated_ingestion_seqnos,
        };
        if !report.estimated_ingestion_seqnos.is_empty() {
            report.warnings.push(
                "ingested tables the old manifest did not describe were given seqnos by file order",
            );
        }
        if report.unreadable > 0 {
            report.warnings.push(
                "damaged files were moved to repair-quarantine/: what only they held is lost",
            );
        }
        if !report.obsolete_tables.is_empty() || !report.uninstalled_tables.is_empty() {
            report
                .warnings
                .push("obsolete tables were left out; the next open deletes them");
        }
        if !rebuilt.unreferenced_blob_files.is_empty() {
            report
                .warnings
                .push("blob files no table points into were left out; the next open deletes them");
        }
        if !report.missing_blob_files.is_empty() {
            report
                .warnings
                .push("tables pointing into missing or damaged blob files were quarantined");
        }
        if rebuilt.needs_merge {
            // The tree takes no lock of its own: this call holds it.
            let tree = self.clone().with_directory_lock(false).open()?;
            tree.major_compact(MERGE_TABLE_TARGET_BYTES, 0)?;
            drop(tree);
            report.method = "placed and merged";
        }
        drop(route_locks);
        drop(lock);
        tracing::warn!(
            recovered = report.recovered,
            unreadable = report.unreadable,
            obsolete = report.obsolete_tables.len(),
            method = report.method,
            elapsed_ms = started.elapsed().as_millis(),
            "manifest rebuilt"
        );
        Ok(report)
    }

    /// Gives each ingested table of `found` the seqno it reads at: the one the old
    /// manifest records when it can still be read whole, else the seqno after the
    /// newest of every table written before it (by file id). Returns the ids of the
    /// tables whose seqno was not recorded.
    fn stamp_ingested(
        &self,
        fs: &dyn Fs,
        dir: &Path,
        encryption: Option<&crate::encryption::TreeEncryption>,
        found: &mut [FoundTable],
    ) -> Vec<TableId> {
        if found.iter().all(|table| table.meta.global_seqno.is_none()) {
            return Vec::new();
        }
        let manifest_encryption = encryption.map(crate::encryption::TreeEncryption::for_manifest);
        let recorded: BTreeMap<TableId, SeqNo> =
            Manifest::check(fs, dir, manifest_encryption.as_ref(), self.key_order())
                .ok()
                .flatten()
                .map(|version| {
                    version
                        .levels()
                        .iter()
                        .flat_map(|level| level.runs())
                        .flat_map(|run| run.tables())
                        .filter_map(|meta| meta.global_seqno.map(|seqno| (meta.id, seqno)))
                        .collect()
                })
                .unwrap_or_default();
        // Tables are numbered in the order they were written: an ingested table the
        // manifest does not describe reads just above every table written before it.
        found.sort_by_key(|table| table.meta.id);
        let mut newest_before: Option<SeqNo> = None;
        let mut estimated = Vec::new();
        for table in found.iter_mut() {
            if table.meta.global_seqno.is_some() {
                let seqno = match recorded.get(&table.meta.id) {
                    Some(&seqno) => seqno,
                    None => {
                        estimated.push(table.meta.id);
                        newest_before.map_or(0, |seqno| seqno + 1)
                    }
                };
                table.meta.seqno_min = seqno;
                table.meta.seqno_max = seqno;
                table.meta.global_seqno = Some(seqno);
            }
            newest_before = Some(newest_before.map_or(table.meta.seqno_max, |newest| {
                newest.max(table.meta.seqno_max)
            }));
        }
        estimated
    }

    /// Opens and checks every file of the tree's table directories (its own `tables/`
    /// and its routes'); returns them with the tables the drop markers name.
    fn find_tables(
        &self,
        fs: &Arc<dyn Fs>,
        encryption: Option<&crate::encryption::TreeEncryption>,
        quarantine: &mut Quarantine<'_>,
    ) -> Result<(Found<FoundTable>, BTreeSet<TableId>)> {
        let read_options = lsm_table::ReadOptions {
            prefix_extractor: self.prefix_extractor.clone(),
            order: self.key_order().clone(),
            ..lsm_table::ReadOptions::default()
        };
        let mut dropped = BTreeSet::new();
        let found = find_files(
            fs.as_ref(),
            &self.table_dirs(),
            "table",
            quarantine,
            |path, name, quarantine| {
                if !crate::layout::is_drop_marker_name(name) {
                    return Ok(false);
                }
                // A marker still being written names no drop that was installed.
                if name.ends_with(".tmp") {
                    return Ok(true);
                }
                let bytes = lsm_core::fs::read_all(fs.as_ref(), path)
                    .map_err(|source| Error::io("read", path, source))?;
                match crate::layout::decode_drop_marker(&bytes) {
                    Some(ids) => dropped.extend(ids),
                    None => quarantine.add(
                        path,
                        &format!("table-{name}"),
                        "damaged drop marker: the tables it named may come back",
                    )?,
                }
                Ok(true)
            },
            |id, path| {
                let (table, _) = open_under_key(encryption, |key| {
                    let options = lsm_table::ReadOptions {
                        encryption_key: key,
                        ..read_options.clone()
                    };
                    Ok(Table::open(fs.as_ref(), path, id, &options)?)
                })?;
                describe_table(id, &table, self.key_order())
            },
        )?;
        Ok((found, dropped))
    }

    /// Opens and checks every file of `blobs/`.
    fn find_blob_files(
        &self,
        fs: &Arc<dyn Fs>,
        dir: &Path,
        encryption: Option<&crate::encryption::TreeEncryption>,
        quarantine: &mut Quarantine<'_>,
    ) -> Result<Found<BlobFileInfo>> {
        let read_options = lsm_vlog::BlobReadOptions {
            dictionary: self
                .kv_separation_opts
                .as_ref()
                .and_then(|options| options.dict.as_deref().cloned()),
            ..lsm_vlog::BlobReadOptions::default()
        };
        find_files(
            fs.as_ref(),
            &[dir.join(BLOBS_DIR)],
            "blob",
            quarantine,
            |_, _, _| Ok(false),
            |id, path| {
                let (reader, _) = open_under_key(encryption, |key| {
                    let options = lsm_vlog::BlobReadOptions {
                        encryption_key: key,
                        ..read_options.clone()
                    };
                    Ok(lsm_vlog::BlobFileReader::open(
                        fs.as_ref(),
                        path,
                        id,
                        &options,
                    )?)
                })?;
                describe_blob_file(id, &reader)
            },
        )
    }
}

/// Opens a file under the tree's current key or an older one.
fn open_under_key<T>(
    encryption: Option<&crate::encryption::TreeEncryption>,
    open: impl Fn(Option<lsm_codec::EncryptionKey>) -> Result<T>,
) -> std::result::Result<(T, bool), Problem> {
    let older = encryption.map_or(&[][..], |encryption| encryption.older.as_slice());
    crate::encryption::open_under_any_key(encryption.map(|encryption| &encryption.key), older, open)
        .map_err(Problem::from)
}

/// Lists `dirs` (those that exist) and describes each file named by an id with
/// `describe`, quarantining (as `<kind>-<name>`) the files it finds damaged and names the
/// tree never writes; `special` takes the names it knows (returns whether it did). A
/// second file of an id already found (a copy in another directory) is left for the
/// next open to remove as an orphan.
fn find_files<T>(
    fs: &dyn Fs,
    dirs: &[PathBuf],
    kind: &str,
    quarantine: &mut Quarantine<'_>,
    mut special: impl FnMut(&Path, &str, &mut Quarantine<'_>) -> Result<bool>,
    describe: impl Fn(u64, &Path) -> std::result::Result<T, Problem>,
) -> Result<Found<T>> {
    let mut found = Found::default();
    for dir in dirs {
        if !fs
            .exists(dir)
            .map_err(|source| Error::io("stat", dir, source))?
        {
            continue;
        }
        find_in(
            fs,
            dir,
            kind,
            quarantine,
            &mut special,
            &describe,
            &mut found,
        )?;
    }
    Ok(found)
}

/// [`find_files`] for one directory, adding to `found`.
fn find_in<T>(
    fs: &dyn Fs,
    dir: &Path,
    kind: &str,
    quarantine: &mut Quarantine<'_>,
    special: &mut impl FnMut(&Path, &str, &mut Quarantine<'_>) -> Result<bool>,
    describe: &impl Fn(u64, &Path) -> std::result::Result<T, Problem>,
    found: &mut Found<T>,
) -> Result<()> {
    for entry in list(fs, dir)? {
        if entry.is_dir {
            continue;
        }
        let name = entry.file_name().unwrap_or_default().to_owned();
        if special(&entry.path, &name, quarantine)? {
            continue;
        }
        let Some(id) = parse_table_file_name(&name) else {
            quarantine.add(
                &entry.path,
                &format!("{kind}-{name}"),
                &format!("not a {kind} file name"),
            )?;
            continue;
        };
        found.present.insert(id);
        if found.paths.contains_key(&id) {
            continue;
        }
        match describe(id, &entry.path) {
            Ok(file) => {
                found.found.push(file);
                found.paths.insert(id, entry.path.clone());
            }
            Err(Problem::Abort(error)) => return Err(error),
            Err(Problem::Damaged(why)) => {
                quarantine.add(&entry.path, &format!("{kind}-{name}"), &why)?;
            }
        }
    }
    Ok(())
}

/// The readable files of one kind (and where each is), and the ids of every file of
/// that kind on disk.
struct Found<T> {
    found: Vec<T>,
    paths: BTreeMap<u64, PathBuf>,
    present: BTreeSet<u64>,
}

impl<T> Default for Found<T> {
    fn default() -> Self {
        Self {
            found: Vec::new(),
            paths: BTreeMap::new(),
            present: BTreeSet::new(),
        }
    }
}

/// Why a file cannot join the rebuilt manifest.
enum Problem {
    /// The caller's error (a key, an order or a format this build does not know, an
    /// I/O failure): repair stops instead of quarantining every file.
    Abort(Error),
    /// The file is damaged: it is quarantined.
    Damaged(String),
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        if let Error::Table(lsm_table::Error::ComparatorMismatch {
            stored, supplied, ..
        }) = error
        {
            return Self::Abort(Error::ComparatorMismatch { stored, supplied });
        }
        if aborts_repair(&error) {
            Self::Abort(error)
        } else {
            Self::Damaged(error.to_string())
        }
    }
}

impl From<lsm_table::Error> for Problem {
    fn from(error: lsm_table::Error) -> Self {
        Self::from(Error::from(error))
    }
}

impl From<lsm_vlog::Error> for Problem {
    fn from(error: lsm_vlog::Error) -> Self {
        Self::from(Error::from(error))
    }
}

/// Whether an error opening a file is the caller's; see [`Problem::Abort`].
fn aborts_repair(error: &Error) -> bool {
    matches!(
        error,
        Error::Io(_)
            | Error::Table(
                lsm_table::Error::Io { .. }
                    | lsm_table::Error::KeyRequired { .. }
                    | lsm_table::Error::UnsupportedFormatVersion { .. }
            )
            | Error::Blob(
                lsm_vlog::Error::Io { .. }
                    | lsm_vlog::Error::KeyRequired { .. }
                    | lsm_vlog::Error::UnsupportedFormatVersion { .. }
            )
    )
}

/// Checks every block of `table` and describes it for the rebuilt version.
fn describe_table(
    id: TableId,
    table: &Table,
    order: &lsm_core::KeyOrder,
) -> std::result::Result<FoundTable, Problem> {
    let report = table.verify()?;
    if let Some(block) = report.blocks.iter().find(|block| block.error.is_some()) {
        return Err(Problem::Damaged(format!(
            "{} block at offset {}: {}",
            block.block_type,
            block.handle.offset,
            block.error.as_deref().unwrap_or_default()
        )));
    }
    let properties = table.properties();
    let mut blob_refs = BTreeMap::<BlobFileId, BlobRef>::new();
    if properties.indirection_count > 0 {
        for entry in table.scan::<&[u8], _>(.., SeqNo::MAX) {
            let entry = entry?;
            if entry.key.value_type != ValueType::Indirection {
                continue;
            }
            let handle = lsm_vlog::BlobHandle::decode_from(&entry.value).map_err(|error| {
                Problem::Damaged(format!("an indirection that does not decode: {error}"))
            })?;
            let counts = blob_refs.entry(handle.file_id).or_insert(BlobRef {
                file_id: handle.file_id,
                frames: 0,
                value_bytes: 0,
            });
            counts.frames += 1;
            counts.value_bytes += u64::from(handle.value_len);
        }
    }
    Ok(FoundTable {
        meta: TableMeta {
            id,
            key_range: lsm_core::KeyRange::new(
                order,
                properties.key_min.clone(),
                properties.key_max.clone(),
            ),
            seqno_min: properties.seqno_min,
            seqno_max: properties.seqno_max,
            size_bytes: report.file_len,
            entry_count: properties.entry_count,
            tombstone_count: properties.tombstone_count + properties.weak_tombstone_count,
            blob_refs: blob_refs.into_values().collect(),
            digest: Some(report.file_digest),
            // Stored at 0: `stamp_ingested` gives the seqno it reads at.
            global_seqno: properties.ingested.then_some(0),
        },
        replaces: properties.replaces.clone(),
        obsolete: properties.obsolete.clone(),
    })
}

/// Checks every frame of a blob file and describes it for the rebuilt version.
fn describe_blob_file(
    id: BlobFileId,
    reader: &lsm_vlog::BlobFileReader,
) -> std::result::Result<BlobFileInfo, Problem> {
    let (digest, value_bytes) = reader.verify_counting()?;
    Ok(
        BlobFileInfo::new(id, reader.frame_count(), value_bytes, reader.file_len())
            .with_digest(digest),
    )
}

/// The first manifest generation above every one found in the tree's directory or its
/// quarantine; an encrypted tree whose manifests are all gone starts at the clock, so
/// that a generation (and so a salt) of a lost file is not used again.
fn next_generation(fs: &dyn Fs, dir: &Path, encrypted: bool) -> Result<u64> {
    let mut highest = None::<u64>;
    for folder in [dir.to_path_buf(), dir.join(QUARANTINE_DIR)] {
        if !fs
            .exists(&folder)
            .map_err(|source| Error::io("stat", &folder, source))?
        {
            continue;
        }
        for entry in list(fs, &folder)? {
            let generation = entry
                .file_name()
                .and_then(|name| name.strip_prefix("manifest-"))
                .and_then(|rest| rest.split('.').next())
                .and_then(|digits| digits.parse::<u64>().ok());
            if let Some(generation) = generation {
                highest = Some(highest.map_or(generation, |highest| highest.max(generation)));
            }
        }
    }
    Ok(match highest {
        Some(highest) => highest + 1,
        None if encrypted => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |elapsed| {
                u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX / 2)
            }),
        None => 1,
    })
}

fn list(fs: &dyn Fs, dir: &Path) -> Result<Vec<lsm_core::fs::DirEntry>> {
    fs.read_dir(dir)
        .map_err(|source| Error::io("list", dir, source))
}

/// Moves files into [`QUARANTINE_DIR`], never over another.
struct Quarantine<'a> {
    fs: &'a Arc<dyn Fs>,
    /// The tree's directory and its routes' (whose files are quarantined in a
    /// `repair-quarantine/` of their own: a route may be on another file system).
    roots: Vec<PathBuf>,
    moved: Vec<(PathBuf, String)>,
    /// The quarantine directories created.
    created: BTreeSet<PathBuf>,
    touched: BTreeSet<PathBuf>,
}

impl<'a> Quarantine<'a> {
    fn new(fs: &'a Arc<dyn Fs>, config: &Config) -> Self {
        let routes = config.level_routes().iter().map(|route| route.dir.clone());
        Self {
            fs,
            roots: std::iter::once(config.path.clone()).chain(routes).collect(),
            moved: Vec::new(),
            created: BTreeSet::new(),
            touched: BTreeSet::new(),
        }
    }

    /// The quarantine directory of a file at `path`: that of the deepest root holding
    /// it (the tree's for a file of none).
    fn dir_for(&self, path: &Path) -> PathBuf {
        self.roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.components().count())
            .unwrap_or(&self.roots[0])
            .join(QUARANTINE_DIR)
    }

    /// Moves a damaged file, recording why.
    fn add(&mut self, path: &Path, name: &str, why: &str) -> Result<()> {
        tracing::warn!(path = %path.display(), why, "file quarantined");
        self.move_file(path, name)?;
        self.moved.push((path.to_path_buf(), why.to_owned()));
        Ok(())
    }

    /// Moves `path` to the quarantine as `name` (with a numbered suffix when taken).
    fn move_file(&mut self, path: &Path, name: &str) -> Result<()> {
        let dir = self.dir_for(path);
        if !self.created.contains(&dir) {
            self.fs
                .create_dir_all(&dir)
                .map_err(|source| Error::io("create dir", &dir, source))?;
            self.created.insert(dir.clone());
        }
        let mut target = dir.join(name);
        let mut suffix = 1;
        while self
            .fs
            .exists(&target)
            .map_err(|source| Error::io("stat", &target, source))?
        {
            target = dir.join(format!("{name}.{suffix}"));
            suffix += 1;
        }
        self.fs
            .rename(path, &target)
            .map_err(|source| Error::io("quarantine", path, source))?;
        if let Some(parent) = path.parent() {
            self.touched.insert(parent.to_path_buf());
        }
        Ok(())
    }

    /// Makes the moves durable.
    fn sync(&self) -> Result<()> {
        for dir in self.touched.iter().chain(&self.created) {
            self.fs
                .sync_dir(dir)
                .map_err(|source| Error::io("sync dir", dir, source))?;
        }
        for parent in self.created.iter().filter_map(|dir| dir.parent()) {
            self.fs
                .sync_dir(parent)
                .map_err(|source| Error::io("sync dir", parent, source))?;
        }
        Ok(())
    }
}
