//! The blob files of a tree: open readers and reading separated values (the sink that
//! separates values while a job writes tables is `lsm_compaction::BlobSink`).
//!
//! **Lifetime.** A blob file joins the version in the same edit as the first tables
//! that point into it, after it is finished, synced and its directory entry durable.
//! It leaves the version in the edit that kills its last live value (see
//! [`lsm_version::VersionEdit::credit_blob_garbage`]); its file is deleted when the
//! last super-version holding it drops, as with tables. A crash before that leaves an
//! orphan that the next open removes.
//!
//! **Reading.** A table's indirection names a blob file of the super-version and the
//! frame of its value; [`read_value`] reads it and checks that the frame holds the same
//! user key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lsm_core::mvcc::ResolveFn;
use lsm_core::{BlobFileId, Fs, InternalEntry, UserValue};
use lsm_version::BlobFileInfo;
use lsm_vlog::{BlobFileReader, BlobHandle, BlobReadOptions};

use crate::error::{Error, Result};
use crate::layout::blob_path;

/// An open blob file that deletes its file once obsolete and unread.
pub(crate) struct LiveBlobFile {
    pub(crate) reader: BlobFileReader,
    pub(crate) info: BlobFileInfo,
    /// Written under an older key epoch (its values are relocated by a rewrite).
    pub(crate) stale_key: bool,
    path: PathBuf,
    fs: Arc<dyn Fs>,
    obsolete: AtomicBool,
}

impl LiveBlobFile {
    pub(crate) fn new(
        reader: BlobFileReader,
        info: BlobFileInfo,
        path: PathBuf,
        fs: Arc<dyn Fs>,
    ) -> Self {
        Self {
            reader,
            info,
            stale_key: false,
            path,
            fs,
            obsolete: AtomicBool::new(false),
        }
    }

    /// The blob file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The same, marked as written under an older key epoch when `stale`.
    pub(crate) fn with_stale_key(mut self, stale: bool) -> Self {
        self.stale_key = stale;
        self
    }

    /// Opens blob file `info.id` of the tree at `tree_dir`.
    pub(crate) fn open(
        fs: &Arc<dyn Fs>,
        tree_dir: &Path,
        info: BlobFileInfo,
        options: &BlobReadOptions,
    ) -> Result<Self> {
        let path = blob_path(tree_dir, info.id);
        let reader = BlobFileReader::open(fs.as_ref(), &path, info.id, options)?;
        Ok(Self::new(reader, info, path, Arc::clone(fs)))
    }

    /// Deletes the file once the last reader is done (the edit removing it is durable).
    pub(crate) fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }
}

impl Drop for LiveBlobFile {
    fn drop(&mut self) {
        if !self.obsolete.load(Ordering::Acquire) {
            return;
        }
        match self.fs.remove_file(&self.path) {
            Ok(()) => tracing::debug!(path = %self.path.display(), "obsolete blob file deleted"),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            // The next open removes it as an orphan.
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "obsolete blob file not deleted");
            }
        }
    }
}

/// The open blob files of a super-version, by id.
pub(crate) type BlobFiles = Arc<BTreeMap<BlobFileId, Arc<LiveBlobFile>>>;

/// The handle an indirection entry holds.
///
/// # Errors
/// [`Error::BrokenIndirection`] when its value is not one handle.
pub(crate) fn handle_of(entry: &InternalEntry) -> Result<BlobHandle> {
    Ok(lsm_compaction::handle_of(entry)?)
}

/// The value an indirection entry points to.
///
/// # Errors
/// [`Error::BrokenIndirection`] for a pointer that does not decode, names a blob file
/// not in `files`, or leads to another key's value; [`Error::Blob`] when the blob file
/// fails to read (corruption names the file and offset).
pub(crate) fn read_value(
    files: &BTreeMap<BlobFileId, Arc<LiveBlobFile>>,
    entry: &InternalEntry,
) -> Result<UserValue> {
    let handle = handle_of(entry)?;
    let file = files.get(&handle.file_id).ok_or(Error::BrokenIndirection {
        file_id: handle.file_id,
        what: "names a blob file the tree does not hold",
    })?;
    let blob = file.reader.get(&handle)?;
    // The seqno is not compared: the bottom level may have zeroed the table's copy.
    if blob.key != entry.key.user_key {
        return Err(Error::BrokenIndirection {
            file_id: handle.file_id,
            what: "leads to another key's value",
        });
    }
    Ok(blob.value)
}

/// `files` as a stream's resolver.
pub(crate) fn resolver(files: BlobFiles) -> ResolveFn<Error> {
    Arc::new(move |entry: &InternalEntry| read_value(&files, entry))
}

/// The length of the value an indirection points to, from the pointer alone.
///
/// # Errors
/// As [`handle_of`].
pub(crate) fn value_len(entry: &InternalEntry) -> Result<u32> {
    handle_of(entry).map(|handle| handle.value_len)
}
