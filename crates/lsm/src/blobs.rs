//! The blob files of a tree: open readers, reading separated values, and the sink that
//! separates values while a flush or compaction writes tables.
//!
//! **Lifetime.** A blob file joins the version in the same edit as the first tables
//! that point into it, after it is finished, synced and its directory entry durable.
//! It leaves the version in the edit that kills its last live value (see
//! [`lsm_version::VersionEdit::credit_blob_garbage`]); its file is deleted when the
//! last super-version holding it drops, as with tables. A crash before that leaves an
//! orphan that the next open removes.
//!
//! **Separation.** [`BlobSink`] sits between the merge stream and the table writer: a
//! value at or above the threshold goes to a blob file and the table gets an
//! indirection (the encoded [`BlobHandle`]); an indirection into a file being collected
//! has its value read and written again (relocation). The sink records every
//! indirection it passes on, in key order, so that each output table's blob references
//! (the counts garbage collection works from) follow from its key range.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use lsm_core::mvcc::ResolveFn;
use lsm_core::{BlobFileId, Fs, InternalEntry, UserKey, UserValue, ValueType};
use lsm_table::WrittenTable;
use lsm_version::{BlobFileInfo, BlobRef, Version};
use lsm_vlog::{
    BlobFileReader, BlobHandle, BlobReadOptions, BlobSetWriter, NewBlobFile, WrittenBlobFile,
};

use crate::kv_separation::KvSeparationOptions;
use crate::layout::blob_path;
use crate::{Error, Result};

/// An open blob file that deletes its file once obsolete and unread.
pub(crate) struct LiveBlobFile {
    pub(crate) reader: BlobFileReader,
    pub(crate) info: BlobFileInfo,
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
            path,
            fs,
            obsolete: AtomicBool::new(false),
        }
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
    BlobHandle::decode_from(&entry.value).map_err(|_| Error::BrokenIndirection {
        file_id: 0,
        what: "the pointer does not decode",
    })
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

/// The blob files whose live values a compaction relocates: of the stale files (dead
/// share at or above the staleness threshold), the oldest `age_cutoff` share, rounded
/// up, and at least one while any is stale. A file with nothing dead is never
/// relocated: copying it frees nothing.
///
/// Taking only the oldest stale files paces collection: the younger ones gather more
/// garbage before their turn, so each relocated byte frees more. Making every old
/// file with some garbage a candidate instead turns the cut-off into a conveyor belt
/// (relocated values land in the newest files, so there is always an oldest share to
/// copy again): on random overwrites of 4 KiB values that wrote 2.8 bytes per byte
/// overwritten against 1.8 now, for 1.05 space amplification against 1.08.
pub(crate) fn relocation_set(
    version: &Version,
    options: &KvSeparationOptions,
) -> BTreeSet<BlobFileId> {
    // By id: oldest first.
    let stale: Vec<BlobFileId> = version
        .blob_files()
        .values()
        .filter(|info| {
            info.dead_frames > 0 && info.dead_ratio() >= f64::from(options.staleness_threshold)
        })
        .map(|info| info.id)
        .collect();
    let share = (stale.len() as f64 * f64::from(options.age_cutoff)).ceil();
    // `share` lies in 0..=stale.len(): both factors are non-negative, the cut-off at most 1.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a whole number in 0..=stale.len()"
    )]
    let take = (share as usize).max(1);
    stale.into_iter().take(take).collect()
}

/// What a [`BlobSink`] wrote.
#[derive(Default)]
pub(crate) struct SinkOutput {
    /// Blob files finished, in order.
    pub(crate) files: Vec<WrittenBlobFile>,
    /// Every indirection passed on, in key order: key, blob file, value length.
    pub(crate) refs: Vec<(UserKey, BlobFileId, u32)>,
}

/// Separates values into blob files; see the module docs.
pub(crate) struct BlobSink<'a> {
    writer: BlobSetWriter<'a>,
    threshold: u32,
    files: &'a BTreeMap<BlobFileId, Arc<LiveBlobFile>>,
    relocate: &'a BTreeSet<BlobFileId>,
    refs: Vec<(UserKey, BlobFileId, u32)>,
    named: Arc<Mutex<Vec<PathBuf>>>,
    /// Blob bytes written (new values and relocated ones).
    pub(crate) written_bytes: u64,
}

impl<'a> BlobSink<'a> {
    /// A sink writing into new blob files of the tree at `tree_dir`, named by
    /// `next_id`; indirections into `relocate` are rewritten, reading from `files`.
    pub(crate) fn new(
        fs: &'a dyn Fs,
        tree_dir: &'a Path,
        options: &KvSeparationOptions,
        files: &'a BTreeMap<BlobFileId, Arc<LiveBlobFile>>,
        relocate: &'a BTreeSet<BlobFileId>,
        next_id: impl Fn() -> BlobFileId + 'a,
    ) -> Self {
        let named = Arc::new(Mutex::new(Vec::new()));
        let names = Arc::clone(&named);
        let writer = BlobSetWriter::new(
            fs,
            options.write_options(),
            options.file_target_size,
            move || {
                let file_id = next_id();
                let path = blob_path(tree_dir, file_id);
                names
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(path.clone());
                NewBlobFile {
                    file_id,
                    path,
                    // Blob files of this tree are not encrypted: the salt is unused.
                    salt: [0; lsm_codec::FILE_SALT_LEN],
                }
            },
        );
        Self {
            writer,
            threshold: options.separation_threshold,
            files,
            relocate,
            refs: Vec::new(),
            named,
            written_bytes: 0,
        }
    }

    /// The entry as the table stores it.
    ///
    /// # Errors
    /// Blob write errors; as [`read_value`] for a relocated value.
    pub(crate) fn separate(&mut self, mut entry: InternalEntry) -> Result<InternalEntry> {
        match entry.key.value_type {
            ValueType::Value if entry.value.len() as u64 >= u64::from(self.threshold) => {
                self.write(&mut entry)?;
            }
            ValueType::Indirection => {
                let handle = handle_of(&entry)?;
                if self.relocate.contains(&handle.file_id) {
                    entry.value = read_value(self.files, &entry)?;
                    self.write(&mut entry)?;
                } else {
                    self.refs
                        .push((entry.key.user_key.clone(), handle.file_id, handle.value_len));
                }
            }
            _ => {}
        }
        Ok(entry)
    }

    fn write(&mut self, entry: &mut InternalEntry) -> Result<()> {
        let handle = self
            .writer
            .write(&entry.key.user_key, entry.key.seqno, &entry.value)?;
        self.written_bytes += handle.on_disk_len;
        self.refs
            .push((entry.key.user_key.clone(), handle.file_id, handle.value_len));
        entry.value = UserValue::from(handle.encode());
        entry.key.value_type = ValueType::Indirection;
        Ok(())
    }

    /// The paths of every blob file this sink created (for cleanup on failure).
    pub(crate) fn named(&self) -> Arc<Mutex<Vec<PathBuf>>> {
        Arc::clone(&self.named)
    }

    /// Finishes the last blob file (synced).
    ///
    /// # Errors
    /// Blob write errors (the caller deletes every file named).
    pub(crate) fn finish(self) -> Result<SinkOutput> {
        Ok(SinkOutput {
            files: self.writer.finish()?,
            refs: self.refs,
        })
    }
}

/// Deletes the files at `paths` (best effort: orphans otherwise).
pub(crate) fn remove_paths(fs: &dyn Fs, paths: &Mutex<Vec<PathBuf>>) {
    for path in paths.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        let _ = fs.remove_file(path);
    }
}

/// Each table's blob references, from the indirections in key order (a key's versions
/// never span two tables, so each lies in the first table whose range reaches it).
pub(crate) fn refs_per_table(
    tables: &[WrittenTable],
    refs: &[(UserKey, BlobFileId, u32)],
) -> Vec<Vec<BlobRef>> {
    let mut per_table = vec![BTreeMap::<BlobFileId, (u64, u64)>::new(); tables.len()];
    let mut table_idx = 0;
    for (key, file_id, value_len) in refs {
        while table_idx + 1 < tables.len()
            && tables
                .get(table_idx)
                .is_some_and(|table| table.properties.key_max < *key)
        {
            table_idx += 1;
        }
        if let Some(counts) = per_table.get_mut(table_idx) {
            let entry = counts.entry(*file_id).or_default();
            entry.0 += 1;
            entry.1 += u64::from(*value_len);
        }
    }
    per_table
        .into_iter()
        .map(|counts| {
            counts
                .into_iter()
                .map(|(file_id, (frames, value_bytes))| BlobRef {
                    file_id,
                    frames,
                    value_bytes,
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: BlobFileId, dead_frames: u64, dead_value_bytes: u64) -> BlobFileInfo {
        BlobFileInfo {
            dead_frames,
            dead_value_bytes,
            ..BlobFileInfo::new(id, 10, 1000, 1100)
        }
    }

    #[test]
    fn relocation_takes_the_oldest_share_of_the_stale_files() {
        let mut version = Version::new(3);
        let edit = lsm_version::VersionEdit {
            added_blob_files: vec![
                info(1, 1, 150),
                info(2, 0, 0),
                info(3, 5, 500),
                info(4, 1, 10),
                info(5, 4, 400),
                info(6, 9, 900),
            ],
            next_blob_file_id: 7,
            ..lsm_version::VersionEdit::default()
        };
        version = version.apply(&edit);
        // Stale at a tenth dead: 1, 3, 5 and 6 (2 holds no garbage, 4 too little).
        let options = |age_cutoff| {
            KvSeparationOptions::default()
                .staleness_threshold(0.1)
                .age_cutoff(age_cutoff)
        };
        assert_eq!(
            relocation_set(&version, &options(1.0)),
            BTreeSet::from([1, 3, 5, 6])
        );
        assert_eq!(
            relocation_set(&version, &options(0.5)),
            BTreeSet::from([1, 3])
        );
        // A share rounds up, and takes one stale file at least.
        assert_eq!(
            relocation_set(&version, &options(0.3)),
            BTreeSet::from([1, 3])
        );
        assert_eq!(relocation_set(&version, &options(0.0)), BTreeSet::from([1]));
        let strict = KvSeparationOptions::default()
            .staleness_threshold(0.95)
            .age_cutoff(1.0);
        assert!(relocation_set(&version, &strict).is_empty());
        // A file with no garbage is never stale, even at a threshold of zero.
        let any = KvSeparationOptions::default()
            .staleness_threshold(0.0)
            .age_cutoff(1.0);
        assert!(!relocation_set(&version, &any).contains(&2));
    }
}
