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

// TODO(issue 22): repair (a manifest rebuilt from the files on disk) and the
// command-line tool.

use std::path::PathBuf;
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

/// One file of a snapshot to check, with the whole-file digest its manifest records.
pub(crate) enum FileToCheck {
    Table(Arc<crate::live_table::LiveTable>, Option<u64>),
    Blob(Arc<crate::blobs::LiveBlobFile>, Option<u64>),
}

/// Checks `files` (on `fs`) with `options`.
pub(crate) fn scrub(
    fs: &dyn lsm_core::Fs,
    files: &[FileToCheck],
    options: &VerifyOptions,
) -> BlockVerifyReport {
    let check = |file: &FileToCheck| {
        let mut report = match file {
            FileToCheck::Table(table, _) => check_table(table),
            FileToCheck::Blob(blob, _) => check_blob_file(blob),
        };
        let (path, kind, digest) = match file {
            FileToCheck::Table(table, digest) => (table.path(), FileKind::Table, digest),
            FileToCheck::Blob(blob, digest) => (blob.path(), FileKind::BlobFile, digest),
        };
        if let Some(expected) = digest {
            report
                .errors
                .extend(check_digest(fs, path, kind, *expected));
        }
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

/// Bytes read at once when a whole file is hashed.
const DIGEST_CHUNK_BYTES: u64 = 1 << 20;

/// The whole file at `path` against the XXH3-64 its manifest records.
fn check_digest(
    fs: &dyn lsm_core::Fs,
    path: &std::path::Path,
    kind: FileKind,
    expected: u64,
) -> Option<BlockVerifyError> {
    let damage = |what: String| BlockVerifyError {
        path: path.to_path_buf(),
        kind,
        offset: None,
        what,
    };
    let digest = (|| -> std::io::Result<u64> {
        let file = fs.open(path, lsm_core::OpenOptions::read())?;
        let len = file.len()?;
        let mut digest = lsm_core::checksum::ChecksumBuilder::with_seed(0);
        let mut buffer = Vec::new();
        let mut offset = 0;
        while offset < len {
            let chunk = (len - offset).min(DIGEST_CHUNK_BYTES);
            buffer.resize(usize::try_from(chunk).unwrap_or(usize::MAX), 0);
            file.read_exact_at(&mut buffer, offset)?;
            digest.update(&buffer);
            offset += chunk;
        }
        Ok(digest.finish().into_raw())
    })();
    match digest {
        Ok(digest) if digest == expected => None,
        Ok(digest) => Some(damage(format!(
            "whole-file digest {digest:#018x}, the manifest records {expected:#018x}"
        ))),
        Err(error) => Some(damage(format!("cannot read the whole file: {error}"))),
    }
}

fn check_table(live: &crate::live_table::LiveTable) -> BlockVerifyReport {
    let path = live.path().to_path_buf();
    let mut report = BlockVerifyReport {
        files_checked: 1,
        ..BlockVerifyReport::default()
    };
    match live.table.verify() {
        Ok(blocks) => {
            for block in blocks.blocks {
                report.blocks_checked += 1;
                report.bytes_checked += block.handle.len_bytes;
                if let Some(error) = block.error {
                    report.errors.push(BlockVerifyError {
                        path: path.clone(),
                        kind: FileKind::Table,
                        offset: Some(block.handle.offset),
                        what: format!("{} block: {error}", block.block_type),
                    });
                }
            }
        }
        Err(error) => report.errors.push(BlockVerifyError {
            path,
            kind: FileKind::Table,
            offset: None,
            what: error.to_string(),
        }),
    }
    report
}

fn check_blob_file(live: &crate::blobs::LiveBlobFile) -> BlockVerifyReport {
    let path = live.path().to_path_buf();
    let mut report = BlockVerifyReport {
        files_checked: 1,
        ..BlockVerifyReport::default()
    };
    let damage = |offset, what: String| BlockVerifyError {
        path: path.clone(),
        kind: FileKind::BlobFile,
        offset,
        what,
    };
    // Every frame decoded (checksum, decryption, decompression), then the frames as a
    // whole against the footer's count and checksum.
    for item in live.reader.scan() {
        match item {
            Ok((handle, _)) => {
                report.blocks_checked += 1;
                report.bytes_checked += handle.on_disk_len;
            }
            Err(error) => {
                report
                    .errors
                    .push(damage(blob_error_offset(&error), error.to_string()));
                return report;
            }
        }
    }
    if let Err(error) = live.reader.verify() {
        report
            .errors
            .push(damage(blob_error_offset(&error), error.to_string()));
    }
    report
}

/// Where a blob file error lies, when it says.
fn blob_error_offset(error: &lsm_vlog::Error) -> Option<u64> {
    match error {
        lsm_vlog::Error::Corruption { offset, .. } | lsm_vlog::Error::Frame { offset, .. } => {
            Some(*offset)
        }
        _ => None,
    }
}

/// The manifest's part of a verification: a replay that changes nothing.
pub(crate) fn check_manifest(
    fs: &dyn lsm_core::Fs,
    dir: &std::path::Path,
    encryption: Option<&lsm_version::ManifestEncryption>,
    order: &lsm_core::KeyOrder,
) -> BlockVerifyReport {
    let mut report = BlockVerifyReport {
        files_checked: 1,
        ..BlockVerifyReport::default()
    };
    match lsm_version::Manifest::check(fs, dir, encryption, order) {
        Ok(_) => {}
        Err(error) => {
            let (path, offset) = match &error {
                lsm_version::Error::Corruption { path, offset, .. } => {
                    (path.clone(), Some(*offset))
                }
                _ => (dir.join(lsm_version::layout::CURRENT_FILE), None),
            };
            report.errors.push(BlockVerifyError {
                path,
                kind: FileKind::Manifest,
                offset,
                what: error.to_string(),
            });
        }
    }
    report
}

/// Adds the manifest's findings to a scrub's.
pub(crate) fn with_manifest(
    mut scrub: BlockVerifyReport,
    manifest: BlockVerifyReport,
) -> IntegrityReport {
    scrub.add(manifest);
    scrub
}
