//! Integrity checks of a live tree: every block of every table, every frame of every
//! blob file, and the manifest.
//!
//! [`crate::AbstractTree::verify_checksum`] (and `_with`, for threads and a pause
//! between files) scrubs the files of one snapshot of the tree: every block of every
//! table is read and its checksum checked, every blob frame is read, decoded and checked
//! against the file's footer, and each whole file is hashed and compared with the
//! digest the manifest recorded when the file was added (files added before manifest
//! format 4 have none). Writers are not blocked: the snapshot keeps its files
//! until the check ends. [`verify_integrity`] adds the manifest, replayed without
//! changing it. Damage is reported, file by file, with the offset and what is wrong;
//! only a failure to read at all is an error of the call.
//!
//! ```
//! use lsm::{AbstractTree, Config, SequenceNumberCounter};
//!
//! let dir = tempfile::tempdir()?;
//! let tree = Config::new(dir.path(), SequenceNumberCounter::default(), SequenceNumberCounter::default())
//!     .open()?;
//! tree.insert("a", "1", 0);
//! tree.flush_active_memtable(0)?;
//! let report = lsm::verify::verify_integrity(&tree);
//! assert!(report.is_ok(), "{:?}", report.errors);
//! assert_eq!(report.files_checked, 2); // one table and the manifest
//! # Ok::<(), lsm::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::AbstractTree;

/// How a scrub runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Files checked at once (at least 1).
    pub parallelism: usize,
    /// A pause after each file, so that a scrub of a busy tree leaves it I/O.
    pub throttle: Option<Duration>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            parallelism: 1,
            throttle: None,
        }
    }
}

impl VerifyOptions {
    /// Checks `threads` files at once (0 counts as 1).
    #[must_use]
    pub fn parallelism(mut self, threads: usize) -> Self {
        self.parallelism = threads.max(1);
        self
    }

    /// Pauses for `pause` after each file.
    #[must_use]
    pub fn throttle(mut self, pause: Duration) -> Self {
        self.throttle = Some(pause);
        self
    }
}

/// What a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A table.
    Table,
    /// A blob file.
    BlobFile,
    /// The manifest.
    Manifest,
}

/// How far a check is, told after each file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyProgress {
    /// Files checked so far.
    pub files_done: usize,
    /// Files to check.
    pub files_total: usize,
    /// Bytes of the files checked so far.
    pub bytes_done: u64,
    /// Bytes of the files to check.
    pub bytes_total: u64,
}

/// One damage found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockVerifyError {
    /// The file.
    pub path: PathBuf,
    /// What the file is.
    pub kind: FileKind,
    /// Where in the file, when known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub what: String,
}

/// The outcome of a scrub.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockVerifyReport {
    /// Files checked.
    pub files_checked: usize,
    /// Table blocks and blob frames checked.
    pub blocks_checked: u64,
    /// Bytes of the files checked.
    pub bytes_checked: u64,
    /// The damage found.
    pub errors: Vec<BlockVerifyError>,
}

impl BlockVerifyReport {
    /// Whether nothing is damaged.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    fn add(&mut self, other: Self) {
        self.files_checked += other.files_checked;
        self.blocks_checked += other.blocks_checked;
        self.bytes_checked += other.bytes_checked;
        self.errors.extend(other.errors);
    }
}

/// The outcome of [`verify_integrity`]: the scrub's findings and the manifest's.
pub type IntegrityReport = BlockVerifyReport;

/// One damage found by [`verify_integrity`].
pub type IntegrityError = BlockVerifyError;

/// Scrubs every table and blob file of `tree` (see the module docs) and replays its
/// manifest.
pub fn verify_integrity(tree: &impl AbstractTree) -> IntegrityReport {
    tree.verify_integrity_with(&VerifyOptions::default())
}

/// Scrubs every table and blob file of `tree` ([`AbstractTree::verify_checksum`]).
pub fn verify_block_checksums(tree: &impl AbstractTree) -> BlockVerifyReport {
    tree.verify_checksum_with(&VerifyOptions::default())
}

/// [`verify_block_checksums`] with `options`.
pub fn verify_block_checksums_with(
    tree: &impl AbstractTree,
    options: &VerifyOptions,
) -> BlockVerifyReport {
    tree.verify_checksum_with(options)
}

/// Checks one table or blob file on disk without its tree
/// ([`crate::inspect::verify_file`] on the standard file system); a file that cannot be
/// read at all is reported as damaged with the reason.
pub fn verify_sst_file(path: &Path) -> BlockVerifyReport {
    match check_file(&lsm_core::StdFs, path, lsm_core::KeyOrder::lexicographic()) {
        Ok(report) => report,
        Err(error) => BlockVerifyReport {
            files_checked: 1,
            errors: vec![BlockVerifyError {
                path: path.to_path_buf(),
                kind: FileKind::Table,
                offset: None,
                what: error.to_string(),
            }],
            ..BlockVerifyReport::default()
        },
    }
}

/// One table or blob file checked whole ([`crate::inspect::verify_file`]).
///
/// # Errors
/// As [`crate::inspect::verify_file`].
pub(crate) fn check_file(
    fs: &dyn lsm_core::Fs,
    path: &Path,
    order: lsm_core::KeyOrder,
) -> crate::Result<BlockVerifyReport> {
    let id = crate::layout::tree_file_id(path)?;
    let len = fs.metadata(path)?.len_bytes;
    let dir = path.parent().and_then(Path::file_name);
    let in_dir = |name: &str| dir.is_some_and(|dir| dir == name);
    // A file that does not open at all: the whole file is the damage.
    let unopened = |kind, offset, what: String| BlockVerifyReport {
        files_checked: 1,
        bytes_checked: len,
        errors: vec![BlockVerifyError {
            path: path.to_path_buf(),
            kind,
            offset,
            what,
        }],
        ..BlockVerifyReport::default()
    };
    if !in_dir(crate::layout::BLOBS_DIR) {
        let read = lsm_table::ReadOptions {
            order,
            ..lsm_table::ReadOptions::default()
        };
        match lsm_table::Table::open(fs, path, id, &read) {
            Ok(table) => return Ok(check_table(path, &table, None)),
            Err(error) if in_dir(crate::layout::TABLES_DIR) => {
                return Ok(unopened(FileKind::Table, None, error.to_string()));
            }
            // Not named as either: perhaps a blob file.
            Err(_) => {}
        }
    }
    Ok(
        match lsm_vlog::BlobFileReader::open(fs, path, id, &lsm_vlog::BlobReadOptions::default()) {
            Ok(reader) => check_blob_file(path, &reader, None),
            Err(error) => unopened(
                FileKind::BlobFile,
                blob_error_offset(&error),
                error.to_string(),
            ),
        },
    )
}

/// One file of a snapshot to check, with the whole-file digest its manifest records.
enum FileToCheck {
    Table(Arc<crate::live_table::LiveTable>, Option<u64>, u64),
    Blob(Arc<crate::blobs::LiveBlobFile>, Option<u64>),
}

/// Scrubs the files of `tree`'s current snapshot with `options` (what
/// [`crate::AbstractTree::verify_checksum_with`] does).
pub(crate) fn scrub(
    tree: &crate::TreeInner,
    options: &VerifyOptions,
    progress: &(dyn Fn(&VerifyProgress) + Sync),
) -> BlockVerifyReport {
    // One snapshot: its files stay on disk until the check ends.
    let snapshot = tree.super_version();
    let version = &snapshot.version;
    let table_digests: std::collections::HashMap<_, _> = version
        .tables()
        .map(|meta| (meta.id, (meta.digest, meta.size_bytes)))
        .collect();
    let files: Vec<FileToCheck> = snapshot
        .tables
        .iter()
        .map(|(id, table)| {
            let (digest, size) = table_digests.get(id).copied().unwrap_or_default();
            FileToCheck::Table(Arc::clone(table), digest, size)
        })
        .chain(snapshot.blob_files.iter().map(|(id, blob)| {
            let digest = version.blob_files().get(id).and_then(|info| info.digest);
            FileToCheck::Blob(Arc::clone(blob), digest)
        }))
        .collect();
    let size = |file: &FileToCheck| match file {
        FileToCheck::Table(_, _, size) => *size,
        FileToCheck::Blob(blob, _) => blob.reader.file_len(),
    };
    let bytes_total = files.iter().map(size).sum();
    let done = std::sync::Mutex::new((0_usize, 0_u64));
    let files_total = files.len();
    let check = |file: &FileToCheck| {
        let report = match file {
            FileToCheck::Table(live, digest, _) => check_table(live.path(), &live.table, *digest),
            FileToCheck::Blob(live, digest) => check_blob_file(live.path(), &live.reader, *digest),
        };
        let now = {
            let mut done = done
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            done.0 += 1;
            done.1 += size(file);
            *done
        };
        progress(&VerifyProgress {
            files_done: now.0,
            files_total,
            bytes_done: now.1,
            bytes_total,
        });
        if let Some(pause) = options.throttle {
            std::thread::sleep(pause);
        }
        report
    };
    let reports: Vec<BlockVerifyReport> = if options.parallelism > 1 {
        use rayon::prelude::*;
        match rayon::ThreadPoolBuilder::new()
            .num_threads(options.parallelism)
            .build()
        {
            Ok(pool) => pool.install(|| files.par_iter().map(check).collect()),
            // No threads to be had: check on this one.
            Err(_) => files.iter().map(check).collect(),
        }
    } else {
        files.iter().map(check).collect()
    };
    let mut total = BlockVerifyReport::default();
    for report in reports {
        total.add(report);
    }
    total
}

/// [`scrub`], and `tree`'s manifest replayed without changing it (what
/// [`crate::AbstractTree::verify_integrity_with`] does).
pub(crate) fn integrity(
    tree: &crate::TreeInner,
    options: &VerifyOptions,
    progress: &(dyn Fn(&VerifyProgress) + Sync),
) -> IntegrityReport {
    let mut report = scrub(tree, options, progress);
    let encryption = tree
        .encryption
        .as_ref()
        .map(crate::encryption::TreeEncryption::for_manifest);
    report.add(check_manifest(
        tree.config.fs.as_ref(),
        &tree.config.path,
        encryption.as_ref(),
        tree.config.key_order(),
    ));
    report
}

/// The damage of a file whose bytes hash to `actual` where the manifest recorded
/// `expected`, if they differ.
fn digest_damage(
    path: &Path,
    kind: FileKind,
    actual: u64,
    expected: Option<u64>,
) -> Option<BlockVerifyError> {
    let expected = expected.filter(|&expected| expected != actual)?;
    Some(BlockVerifyError {
        path: path.to_path_buf(),
        kind,
        offset: None,
        what: format!("whole-file digest {actual:#018x}, the manifest records {expected:#018x}"),
    })
}

/// Every block of a table, and the whole file against `digest`, in one pass.
fn check_table(path: &Path, table: &lsm_table::Table, digest: Option<u64>) -> BlockVerifyReport {
    let mut report = BlockVerifyReport {
        files_checked: 1,
        ..BlockVerifyReport::default()
    };
    match table.verify() {
        Ok(blocks) => {
            report.bytes_checked = blocks.file_len;
            report.errors.extend(digest_damage(
                path,
                FileKind::Table,
                blocks.file_digest,
                digest,
            ));
            for block in blocks.blocks {
                report.blocks_checked += 1;
                if let Some(error) = block.error {
                    report.errors.push(BlockVerifyError {
                        path: path.to_path_buf(),
                        kind: FileKind::Table,
                        offset: Some(block.handle.offset),
                        what: format!("{} block: {error}", block.block_type),
                    });
                }
            }
        }
        Err(error) => report.errors.push(BlockVerifyError {
            path: path.to_path_buf(),
            kind: FileKind::Table,
            offset: None,
            what: error.to_string(),
        }),
    }
    report
}

/// Every frame of a blob file (decoded, and against the footer), and the whole file
/// against `digest`, in one pass.
fn check_blob_file(
    path: &Path,
    reader: &lsm_vlog::BlobFileReader,
    digest: Option<u64>,
) -> BlockVerifyReport {
    let mut report = BlockVerifyReport {
        files_checked: 1,
        bytes_checked: reader.file_len(),
        ..BlockVerifyReport::default()
    };
    match reader.verify() {
        Ok(actual) => {
            report.blocks_checked = reader.frame_count();
            report
                .errors
                .extend(digest_damage(path, FileKind::BlobFile, actual, digest));
        }
        Err(error) => report.errors.push(BlockVerifyError {
            path: path.to_path_buf(),
            kind: FileKind::BlobFile,
            offset: blob_error_offset(&error),
            what: error.to_string(),
        }),
    }
    report
}

/// Where in a blob file an error lies, when it says.
fn blob_error_offset(error: &lsm_vlog::Error) -> Option<u64> {
    match error {
        lsm_vlog::Error::Corruption { offset, .. } | lsm_vlog::Error::Frame { offset, .. } => {
            Some(*offset)
        }
        _ => None,
    }
}

/// The manifest's part of a verification: a replay that changes nothing.
fn check_manifest(
    fs: &dyn lsm_core::Fs,
    dir: &Path,
    encryption: Option<&lsm_version::ManifestEncryption>,
    order: &lsm_core::KeyOrder,
) -> BlockVerifyReport {
    let mut report = BlockVerifyReport {
        files_checked: 1,
        ..BlockVerifyReport::default()
    };
    if let Err(error) = lsm_version::Manifest::check(fs, dir, encryption, order) {
        let (path, offset) = match &error {
            lsm_version::Error::Corruption { path, offset, .. } => (path.clone(), Some(*offset)),
            _ => (dir.join(lsm_version::layout::CURRENT_FILE), None),
        };
        report.errors.push(BlockVerifyError {
            path,
            kind: FileKind::Manifest,
            offset,
            what: error.to_string(),
        });
    }
    report
}
