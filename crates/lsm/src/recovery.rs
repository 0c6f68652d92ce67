//! Opening a tree ([`Config::open`]): directory lock, manifest replay, tables, orphans,
//! counters.
//!
//! 1. Create the directory (and make its entry durable) and take the lock file; create,
//!    lock and claim the directory of each level route (`crate::dirs`).
//! 2. Replay the manifest ([`Manifest::open`] cuts a torn tail) or start one.
//! 3. Open every table of the version, from its level's directory (or, with routes,
//!    whichever configured directory holds it); a referenced table that is missing or
//!    damaged fails the open with a typed error, because a silent gap would be a wrong
//!    answer.
//! 4. Open every blob file of the version, with the same rule.
//! 5. Delete orphans: table and blob files that no durable edit references (written by
//!    a flush or compaction that crashed before its edit, or obsolete files whose
//!    deletion was cut short), in every directory of the tree.
//! 6. Restore the id counters and raise the seqno counters past every persisted seqno.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use lsm_core::Fs;
use lsm_memtable::Memtable;
use lsm_table::{ReadOptions, Table};
use lsm_version::{Manifest, Recovered, Version};

use crate::background::Background;
use crate::blobs::LiveBlobFile;
use crate::dirs::{claim_routes, create_dir_durably, holds_files, lock_directory};
use crate::file_ids::FileIds;
use crate::health::Health;
use crate::layout::{BLOBS_DIR, TABLES_DIR, parse_table_file_name};
use crate::live_table::LiveTable;
use crate::rate_limiter::{RateLimiter, SystemClock};
use crate::super_version::SuperVersion;
use crate::tree::TreeInner;
use crate::{AnyTree, BlobTree, Config, Error, Result, Tree};

impl Config {
    /// Opens the tree, creating it when the directory holds none: takes the directory
    /// lock, replays the manifest, opens every table and blob file, removes orphans and
    /// restores the counters.
    ///
    /// # Errors
    /// [`Error::Locked`] when another opener holds the directory;
    /// [`Error::InvalidConfig`]; I/O, manifest, table and blob errors from recovery.
    pub fn open(self) -> Result<AnyTree> {
        if self.kv_separation_opts.is_some() {
            Tree::open(self).map(|index| AnyTree::Blob(BlobTree { index }))
        } else {
            Tree::open(self).map(AnyTree::Standard)
        }
    }
}

/// Tree ids handed out in this process.
static NEXT_TREE_ID: AtomicU64 = AtomicU64::new(1);

impl Tree {
    /// Opens (or creates) the tree `config` describes; see the module docs.
    ///
    /// # Errors
    /// [`Error::Locked`]; [`Error::Io`]; [`Error::Manifest`] for a damaged manifest;
    /// [`Error::Table`] for a missing or damaged table.
    pub(crate) fn open(mut config: Config) -> Result<Self> {
        config.fs = config.tree_fs();
        let span = tracing::info_span!("open", path = %config.path.display());
        let opening = std::time::Instant::now();
        let _entered = span.enter();
        config.validate()?;
        let fs = Arc::clone(&config.fs);
        let dir = config.path.clone();
        create_dir_durably(fs.as_ref(), &dir)?;
        let directory_lock = lock_directory(fs.as_ref(), &dir, config.directory_lock)?;
        let tables_dir = dir.join(TABLES_DIR);
        create_dir_durably(fs.as_ref(), &tables_dir)?;
        if config.kv_separation_opts.is_some() {
            create_dir_durably(fs.as_ref(), &dir.join(BLOBS_DIR))?;
        }
        // The key is checked before anything encrypted is read (and recorded before a
        // new tree's manifest exists: a tree without a manifest pointer is new).
        let current = dir.join(lsm_version::layout::CURRENT_FILE);
        let fresh = !fs
            .exists(&current)
            .map_err(|source| Error::io("stat", &current, source))?;
        if fresh && holds_files(fs.as_ref(), &dir)? {
            return Err(Error::ManifestMissing(dir));
        }
        let route_locks = claim_routes(fs.as_ref(), &config, false)?;
        let encryption =
            crate::encryption::open_marker(fs.as_ref(), &dir, config.encryption.as_deref(), fresh)?;
        let manifest_encryption = encryption
            .as_ref()
            .map(crate::encryption::TreeEncryption::for_manifest);
        let manifest = match Manifest::open_in(
            Arc::clone(&fs),
            &dir,
            config.manifest_rotate_bytes,
            manifest_encryption.clone(),
            config.key_order(),
            config.manifest_recovery_mode,
        )
        .map_err(|error| match error {
            lsm_version::Error::ComparatorMismatch { stored, supplied } => {
                Error::ComparatorMismatch { stored, supplied }
            }
            other => Error::from(other),
        })? {
            Recovered::Manifest(manifest) => *manifest,
            Recovered::Fresh => Manifest::create_with(
                Arc::clone(&fs),
                &dir,
                Version::new_in(usize::from(config.level_count), config.key_order().clone()),
                config.manifest_rotate_bytes,
                manifest_encryption,
            )?,
        };
        if !manifest.dropped_records().is_empty() {
            tracing::warn!(
                offsets = ?manifest.dropped_records(),
                mode = ?config.manifest_recovery_mode,
                "damaged manifest records dropped; the tables only they named are orphans"
            );
        }
        let version = Arc::new(manifest.version().clone());
        let descriptor_cache = match &config.descriptor_table {
            Some(table) => table.for_fs(&fs),
            None => Arc::new(lsm_core::DescriptorCache::new(
                Arc::clone(&fs),
                crate::config::DEFAULT_OPEN_FILES,
            )),
        };
        let metrics = Arc::new(crate::Metrics::default());
        let read_options = ReadOptions {
            counters: Some(Arc::clone(metrics.read_counters())),
            block_cache: Some(Arc::clone(config.cache.blocks())),
            row_cache: config.cache.rows().cloned(),
            descriptor_cache: Some(descriptor_cache),
            prefix_extractor: config.prefix_extractor.clone(),
            encryption_key: encryption.as_ref().map(|encryption| encryption.key.clone()),
            order: config.key_order().clone(),
            ..ReadOptions::default()
        };
        let blob_read_options = lsm_vlog::BlobReadOptions {
            encryption_key: read_options.encryption_key.clone(),
            dictionary: config
                .kv_separation_opts
                .as_ref()
                .and_then(|options| options.dict.as_deref().cloned()),
            descriptor_cache: read_options.descriptor_cache.clone(),
            counters: read_options.counters.clone(),
        };
        let older_keys = encryption
            .as_ref()
            .map_or(&[][..], |encryption| encryption.older.as_slice());
        let tables = open_tables(&config, &fs, &version, &read_options, older_keys)?;
        let blob_files = version
            .blob_files()
            .values()
            .map(|info| {
                let (file, stale) = crate::encryption::open_under_any_key(
                    blob_read_options.encryption_key.as_ref(),
                    older_keys,
                    |key| {
                        let options = lsm_vlog::BlobReadOptions {
                            encryption_key: key,
                            ..blob_read_options.clone()
                        };
                        LiveBlobFile::open(&fs, &dir, *info, &options)
                    },
                )?;
                Ok((info.id, Arc::new(file.with_stale_key(stale))))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        remove_orphans(fs.as_ref(), &config, &tables, &version)?;
        if version.table_count() > 0 || version.last_seqno() > 0 {
            config.seqno.fetch_max(version.last_seqno() + 1);
            config.visible_seqno.fetch_max(version.last_seqno() + 1);
        }
        tracing::info!(
            tables = version.table_count(),
            blob_files = version.blob_files().len(),
            last_seqno = version.last_seqno(),
            elapsed_ms = opening.elapsed().as_millis(),
            "tree opened"
        );
        let mut runtime = config.runtime_config.clone();
        runtime.validate()?;
        if runtime.compaction_rate_limit.is_none() && config.compaction_rate_limit > 0 {
            runtime.compaction_rate_limit = Some(config.compaction_rate_limit);
        }
        let rate_limiter = RateLimiter::new(
            runtime.compaction_rate_limit.unwrap_or(0),
            Box::new(SystemClock),
        );
        let compaction_pool = compaction_pool(&config)?;
        let super_version = SuperVersion {
            active: Arc::new(if runtime.entry_checksums {
                Memtable::new_in(1, config.key_order()).with_entry_digest()
            } else {
                Memtable::new_in(1, config.key_order())
            }),
            sealed: Vec::new(),
            version: Arc::clone(&version),
            tables_have_range_tombstones: tables
                .values()
                .any(|live| !live.table.range_tombstones().is_empty()),
            tables: Arc::new(tables),
            blob_files: Arc::new(blob_files),
            history: Arc::default(),
            plain_runs: std::sync::OnceLock::new(),
        };
        let background = config
            .background
            .clone()
            .map(|options| Arc::new(Background::new(options)));
        let tree = Self(Arc::new(TreeInner {
            id: NEXT_TREE_ID.fetch_add(1, Ordering::Relaxed),
            config: Arc::new(config),
            read_options,
            published: crate::published::Published::new(super_version),
            flush_lock: Mutex::new(()),
            jobs: crate::jobs::Jobs::default(),
            manifest: Mutex::new(manifest),
            ids: FileIds::new(2, version.next_table_id(), version.next_blob_file_id()),
            blob_read_options,
            health: Health::default(),
            encryption,
            rate_limiter,
            metrics,
            runtime: ArcSwap::from_pointee(runtime),
            admission: crate::admission::Admission::default(),
            background: background.clone(),
            compaction_pool,
            pending_deletions: Arc::default(),
            // The manifest records the highest GC watermark; when it does not (an older
            // manifest, a rebuilt one), exact replay starts after the recovered seqnos.
            gc_floor: AtomicU64::new(match version.gc_watermark() {
                Some(watermark) => watermark,
                None if version.table_count() > 0 => version.last_seqno() + 1,
                None => 0,
            }),
            _directory_lock: directory_lock,
            _route_locks: route_locks,
        }));
        let runtime = tree.0.runtime.load();
        if runtime.storage_admission_check {
            tree.0.admission.record(&tree.0.measure_storage(), &runtime);
        }
        if let Some(background) = background {
            crate::threads::start(&background, &tree.0)?;
            // Work may be due already (files under an older key, a deep level 0).
            background.request_compaction();
        }
        Ok(tree)
    }
}

/// The pool sub-compactions run on: the configured one, or one of
/// `compaction_threads` threads (none for one thread).
fn compaction_pool(config: &Config) -> Result<Option<Arc<rayon::ThreadPool>>> {
    if let Some(pool) = &config.compaction_pool {
        return Ok(Some(Arc::clone(pool)));
    }
    if config.compaction_threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(config.compaction_threads)
        .thread_name(|idx| format!("lsm-compaction-{idx}"))
        .build()
        .map(|pool| Some(Arc::new(pool)))
        .map_err(|error| Error::Io(io::Error::other(error)))
}

/// Opens every table of `version`, each from its level's directory or, when it is not
/// there, from the first other table directory of the tree that holds it.
pub(crate) fn open_tables(
    config: &Config,
    fs: &Arc<dyn Fs>,
    version: &Version,
    read_options: &ReadOptions,
    older_keys: &[lsm_codec::EncryptionKey],
) -> Result<BTreeMap<lsm_core::TableId, Arc<LiveTable>>> {
    let located = TableFiles::list(fs.as_ref(), config)?;
    let mut tables = BTreeMap::new();
    for (level_idx, level) in version.levels().iter().enumerate() {
        for meta in level.runs().iter().flat_map(|run| run.tables()) {
            let path = located.path_of(config, level_idx, meta.id);
            let options = config.read_options(level_idx, read_options);
            let (table, stale) = crate::encryption::open_under_any_key(
                options.encryption_key.as_ref(),
                older_keys,
                |key| {
                    let options = ReadOptions {
                        encryption_key: key,
                        global_seqno: meta.global_seqno,
                        ..options.clone()
                    };
                    Ok(Table::open(fs.as_ref(), &path, meta.id, &options)?)
                },
            )?;
            tables.insert(
                meta.id,
                Arc::new(
                    LiveTable::new(table, path, Arc::clone(fs))
                        .with_stale_key(stale)
                        .with_durable_removal(!config.level_routes().is_empty()),
                ),
            );
        }
    }
    Ok(tables)
}

/// The table files in each of a routed tree's table directories, listed once.
struct TableFiles(Vec<(std::path::PathBuf, BTreeSet<lsm_core::TableId>)>);

impl TableFiles {
    /// Lists the table directories of `config` (none without routes: every table is in
    /// its level's directory, and opening reports one that is missing).
    fn list(fs: &dyn Fs, config: &Config) -> Result<Self> {
        if config.level_routes().is_empty() {
            return Ok(Self(Vec::new()));
        }
        let mut listed = Vec::new();
        for dir in config.table_dirs() {
            let ids = if fs
                .exists(&dir)
                .map_err(|source| Error::io("stat", &dir, source))?
            {
                fs.read_dir(&dir)
                    .map_err(|source| Error::io("list", &dir, source))?
                    .iter()
                    .filter_map(|entry| entry.file_name().and_then(parse_table_file_name))
                    .collect()
            } else {
                BTreeSet::new()
            };
            listed.push((dir, ids));
        }
        Ok(Self(listed))
    }

    /// Where table `id` of `level` is: its level's directory if it is there (or was not
    /// listed), else the first listed directory that holds it.
    fn path_of(&self, config: &Config, level: usize, id: lsm_core::TableId) -> std::path::PathBuf {
        let home = config.table_path(level, id);
        let holds = |dir: &Path| {
            self.0
                .iter()
                .any(|(listed, ids)| listed == dir && ids.contains(&id))
        };
        if self.0.is_empty() || home.parent().is_some_and(holds) {
            return home;
        }
        self.0
            .iter()
            .find(|(_, ids)| ids.contains(&id))
            .map_or(home, |(dir, _)| dir.join(id.to_string()))
    }
}

/// Deletes table and blob files the version does not reference, in every directory of
/// the tree (a table file other than the one opened, in another directory, is a copy
/// left by a move and goes too).
fn remove_orphans(
    fs: &dyn Fs,
    config: &Config,
    tables: &BTreeMap<lsm_core::TableId, Arc<LiveTable>>,
    version: &Version,
) -> Result<()> {
    let live = |path: &Path, id| tables.get(&id).is_some_and(|table| table.path() == path);
    for dir in config.table_dirs() {
        remove_unlisted(fs, &dir, live, "tables")?;
    }
    let blobs_dir = config.path.join(BLOBS_DIR);
    if fs
        .exists(&blobs_dir)
        .map_err(|source| Error::io("stat", &blobs_dir, source))?
    {
        let blob_files: BTreeSet<_> = version.blob_files().keys().copied().collect();
        let live = |_: &Path, id| blob_files.contains(&id);
        remove_unlisted(fs, &blobs_dir, live, "blob files")?;
    }
    Ok(())
}

/// Deletes the numerically named files of `dir` that are not `live`, and drop markers.
fn remove_unlisted(
    fs: &dyn Fs,
    dir: &Path,
    live: impl Fn(&Path, u64) -> bool,
    what: &str,
) -> Result<()> {
    let entries = fs
        .read_dir(dir)
        .map_err(|source| Error::io("list", dir, source))?;
    let mut removed_count = 0_usize;
    for entry in entries {
        let name = entry.file_name().unwrap_or_default();
        // A drop marker is stale once the tree is open: its drop was installed (and the
        // table is an orphan) or not (and the table is live).
        let stale = crate::layout::is_drop_marker_name(name)
            || parse_table_file_name(name).is_some_and(|id| !live(&entry.path, id));
        if !stale {
            continue;
        }
        fs.remove_file(&entry.path)
            .map_err(|source| Error::io("remove orphan", &entry.path, source))?;
        removed_count += 1;
    }
    if removed_count > 0 {
        fs.sync_dir(dir)
            .map_err(|source| Error::io("sync dir", dir, source))?;
        tracing::warn!(removed_count, what, "orphan files removed");
    }
    Ok(())
}
