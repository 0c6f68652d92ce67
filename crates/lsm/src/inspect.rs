//! Out-of-band inspection of one file, without opening its tree: a table's properties,
//! index entries, entries and filter statistics, and a blob file's frames.
//!
//! Files are read through any [`crate::Fs`] (`&lsm::StdFs` for files on disk) and named
//! as a tree names them, by their id. Plaintext files only: an encrypted file's key is
//! derived from its tree's marker, so it is inspected through its tree. A table whose
//! keys are in a custom order needs that comparator ([`InspectOptions::comparator`]).
//!
//! ```
//! use lsm::{AbstractTree, Config, SequenceNumberCounter, StdFs};
//! use lsm::inspect::{InspectOptions, read_table_properties};
//!
//! let dir = tempfile::tempdir()?;
//! let tree = Config::new(dir.path(), SequenceNumberCounter::default(), SequenceNumberCounter::default())
//!     .open()?;
//! tree.insert("a", "1", 0);
//! tree.insert("b", "2", 1);
//! tree.flush_active_memtable(0)?;
//! let table = dir.path().join("tables").join("1");
//! let properties = read_table_properties(&StdFs, &table, &InspectOptions::default())?;
//! assert_eq!(properties.entry_count, 2);
//! # Ok::<(), lsm::Error>(())
//! ```

use std::path::{Path, PathBuf};

pub use lsm_burr::FilterStats;
pub use lsm_codec::IndexEntry;
use lsm_core::{Fs, InternalEntry, KeyOrder, SeqNo, UserKey};
pub use lsm_table::TableProperties;

use crate::{Error, Result, SharedComparator};

/// How files are inspected.
#[derive(Clone, Default)]
pub struct InspectOptions {
    comparator: Option<SharedComparator>,
}

impl std::fmt::Debug for InspectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectOptions")
            .field(
                "comparator",
                &self.comparator.as_ref().map(|comparator| comparator.name()),
            )
            .finish()
    }
}

impl InspectOptions {
    /// Reads tables whose keys are in `comparator`'s order.
    #[must_use]
    pub fn comparator(mut self, comparator: SharedComparator) -> Self {
        self.comparator = Some(comparator);
        self
    }

    fn order(&self) -> KeyOrder {
        self.comparator
            .clone()
            .map_or_else(KeyOrder::lexicographic, KeyOrder::new)
    }
}

/// One frame of a blob file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobFrame {
    /// Where the frame starts.
    pub offset: u64,
    /// Its bytes on disk.
    pub on_disk_len: u64,
    /// The key it was written under.
    pub key: UserKey,
    /// The version's seqno.
    pub seqno: SeqNo,
    /// The value's length.
    pub value_len: u32,
}

/// The id a tree gave the file at `path` (its name).
fn file_id(path: &Path) -> Result<u64> {
    crate::layout::tree_file_id(path)
}

/// Opens the table at `path`.
fn open_table(fs: &dyn Fs, path: &Path, options: &InspectOptions) -> Result<lsm_table::Table> {
    let read = lsm_table::ReadOptions {
        order: options.order(),
        ..lsm_table::ReadOptions::default()
    };
    Ok(lsm_table::Table::open(fs, path, file_id(path)?, &read)?)
}

/// The properties of the table at `path`.
///
/// # Errors
/// [`Error::NotATreeFile`] for a file not named by an id; [`Error::Table`] for a file
/// that does not open as a table (damaged, encrypted, of another key order).
pub fn read_table_properties(
    fs: &dyn Fs,
    path: &Path,
    options: &InspectOptions,
) -> Result<TableProperties> {
    Ok(open_table(fs, path, options)?.properties().clone())
}

/// The index entries of the table at `path`: the last key of each data block and the
/// block's place, in order (through the partitions of a partitioned index).
///
/// # Errors
/// As [`read_table_properties`]; [`Error::Table`] for a damaged index.
pub fn read_index_entries(
    fs: &dyn Fs,
    path: &Path,
    options: &InspectOptions,
) -> Result<Vec<IndexEntry>> {
    Ok(open_table(fs, path, options)?.index_entries()?)
}

/// Every entry of the table at `path`, every version and tombstone, in order.
///
/// # Errors
/// As [`read_table_properties`]; each item is an error where a block is damaged.
pub fn iter_data_block_entries(
    fs: &dyn Fs,
    path: &Path,
    options: &InspectOptions,
) -> Result<impl DoubleEndedIterator<Item = Result<InternalEntry>> + use<>> {
    let table = open_table(fs, path, options)?;
    Ok(table
        .iter(SeqNo::MAX)
        .map(|entry| entry.map_err(Error::from)))
}

/// The statistics of the table's filter at `path` (`None` without a filter).
///
/// # Errors
/// As [`read_table_properties`]; [`Error::Table`] for a damaged filter.
pub fn read_filter_stats(
    fs: &dyn Fs,
    path: &Path,
    options: &InspectOptions,
) -> Result<Option<FilterStats>> {
    Ok(open_table(fs, path, options)?.filter_stats()?)
}

/// Every frame of the blob file at `path`, in file order (decoded and checked).
///
/// # Errors
/// [`Error::NotATreeFile`] for a file not named by an id; [`Error::Blob`] for a file that
/// does not open as a blob file, or the first damaged frame.
pub fn read_blob_frames(fs: &dyn Fs, path: &Path) -> Result<Vec<BlobFrame>> {
    let reader = lsm_vlog::BlobFileReader::open(
        fs,
        path,
        file_id(path)?,
        &lsm_vlog::BlobReadOptions::default(),
    )?;
    reader
        .scan()
        .map(|item| {
            let (handle, blob) = item?;
            Ok(BlobFrame {
                offset: handle.offset,
                on_disk_len: handle.on_disk_len,
                key: blob.key,
                seqno: blob.seqno,
                value_len: handle.value_len,
            })
        })
        .collect()
}

/// Checks the whole file at `path`, a table (every block) or, when it does not open as
/// one, a blob file (every frame, against the footer); damage is in the report, with
/// the offset where it is known. The file's kind follows from its directory (`tables`
/// or `blobs`) when it has one of those names.
///
/// # Errors
/// [`Error::NotATreeFile`] for a file not named by an id; [`Error::Io`] when it cannot
/// be read.
pub fn verify_file(
    fs: &dyn Fs,
    path: &Path,
    options: &InspectOptions,
) -> Result<crate::verify::BlockVerifyReport> {
    crate::verify::check_file(fs, path, options.order())
}

/// The files of the tree at `dir`: its tables and blob files, by path (for a tool that
/// inspects them one by one).
///
/// # Errors
/// [`Error::Io`] when a directory cannot be listed.
pub fn tree_files(fs: &dyn Fs, dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let list = |sub: &str| -> Result<Vec<PathBuf>> {
        let path = dir.join(sub);
        if !fs.exists(&path)? {
            return Ok(Vec::new());
        }
        let mut files: Vec<PathBuf> = fs
            .read_dir(&path)?
            .into_iter()
            .filter(|entry| !entry.is_dir)
            .map(|entry| entry.path)
            .filter(|path| file_id(path).is_ok())
            .collect();
        files.sort_by_key(|path| file_id(path).unwrap_or(u64::MAX));
        Ok(files)
    };
    Ok((
        list(crate::layout::TABLES_DIR)?,
        list(crate::layout::BLOBS_DIR)?,
    ))
}
