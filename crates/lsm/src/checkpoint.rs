//! Checkpoints: a consistent copy of the tree in another directory, openable on its own.
//!
//! Under the flush lock the active memtable is sealed and everything sealed is flushed
//! (so the checkpoint holds every write made before the call), then each table of the
//! current version, and each blob file, is hard-linked into the target (copied where the
//! file system has no links or the target is on another device or another `Fs` backend,
//! as a level route's tables may be), and a fresh manifest describing that version is
//! written and synced. The checkpoint keeps every table in its own `tables/`: it opens
//! with or without the routes of the tree it came from. Tables are immutable, so a link
//! is a copy that costs no space until the tree deletes its own name for the file.

use std::io;
use std::path::Path;
use std::sync::Arc;

use lsm_core::{Fs, SeqNo};
use lsm_version::Manifest;

use crate::layout::{BLOBS_DIR, TABLES_DIR, blob_path, table_path};
use crate::tree::TreeInner;
use crate::{Error, Result};

/// What a checkpoint holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// Tables linked or copied.
    pub sst_files: usize,
    /// Blob files linked or copied.
    pub blob_files: usize,
    /// Bytes of those files.
    pub total_bytes: u64,
    /// The id of the version the checkpoint holds.
    pub version_id: u64,
    /// Every write with a seqno below this is in the checkpoint.
    pub seqno: SeqNo,
}

impl TreeInner {
    /// Writes a checkpoint to `target`, which must not exist; see the module docs.
    ///
    /// # Errors
    /// [`Error::CheckpointTargetExists`]; flush errors; I/O and manifest errors writing
    /// the target (a partial target is left for the caller to delete).
    pub(crate) fn create_checkpoint(&self, target: &Path) -> Result<CheckpointInfo> {
        let fs = Arc::clone(&self.config.fs);
        if fs
            .exists(target)
            .map_err(|source| Error::io("stat", target, source))?
        {
            return Err(Error::CheckpointTargetExists(target.to_path_buf()));
        }
        let lock = self.flush_lock();
        self.rotate();
        self.flush_sealed(&lock, 0)?;
        let current = self.super_version();
        let version = &current.version;
        let target_tables = target.join(TABLES_DIR);
        fs.create_dir_all(&target_tables)
            .map_err(|source| Error::io("create dir", &target_tables, source))?;
        let mut total_bytes = 0;
        for meta in version.tables() {
            // From wherever its level's route keeps it, into the checkpoint's own
            // `tables/` (a checkpoint opens without the routes).
            let to = table_path(target, meta.id);
            link_or_copy(fs.as_ref(), current.table(meta.id).path(), &to)?;
            total_bytes += meta.size_bytes;
        }
        fs.sync_dir(&target_tables)
            .map_err(|source| Error::io("sync dir", &target_tables, source))?;
        let blob_files = version.blob_files();
        if !blob_files.is_empty() || self.config.kv_separation_opts.is_some() {
            let target_blobs = target.join(BLOBS_DIR);
            fs.create_dir_all(&target_blobs)
                .map_err(|source| Error::io("create dir", &target_blobs, source))?;
            for info in blob_files.values() {
                let from = blob_path(&self.config.path, info.id);
                let to = blob_path(target, info.id);
                link_or_copy(fs.as_ref(), &from, &to)?;
                total_bytes += info.file_len;
            }
            fs.sync_dir(&target_blobs)
                .map_err(|source| Error::io("sync dir", &target_blobs, source))?;
        }
        if self.encryption.is_some() {
            // The checkpoint is a tree of the same key: it needs the same marker.
            let marker = crate::encryption::MARKER_FILE;
            link_or_copy(
                fs.as_ref(),
                &self.config.path.join(marker),
                &target.join(marker),
            )?;
            fs.sync_dir(target)
                .map_err(|source| Error::io("sync dir", target, source))?;
        }
        drop(Manifest::create_with(
            Arc::clone(&fs),
            target,
            (**version).clone(),
            self.config.manifest_rotate_bytes,
            self.encryption
                .as_ref()
                .map(crate::encryption::TreeEncryption::for_manifest),
        )?);
        if let Some(parent) = target.parent() {
            fs.sync_dir(parent)
                .map_err(|source| Error::io("sync dir", parent, source))?;
        }
        drop(lock);
        let info = CheckpointInfo {
            sst_files: version.table_count(),
            blob_files: version.blob_file_count(),
            total_bytes,
            version_id: version.id(),
            seqno: version.last_seqno() + 1,
        };
        tracing::info!(tables = info.sst_files, total_bytes, "checkpoint written");
        Ok(info)
    }
}

/// Links `from` as `to`, or copies and syncs it where links are not possible.
fn link_or_copy(fs: &dyn Fs, from: &Path, to: &Path) -> Result<()> {
    match fs.hard_link(from, to) {
        Ok(()) => return Ok(()),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::CrossesDevices
            ) => {}
        Err(source) => return Err(Error::io("link", to, source)),
    }
    crate::dirs::copy_file(fs, from, to)
}
