//! The worker: writes a sorted stream of entries into new tables.
//!
//! [`write_tables`] is shared by flushes and merges: it feeds the stream to a
//! [`TableSetWriter`] (tables cut at the target size, never inside a key's versions),
//! syncs every table, and makes their directory entries durable, so that the caller can
//! name them in a version edit. On any failure it deletes every file it created; the
//! caller's edit was never written, so nothing refers to them.
//!
//! [`merge_sources`] builds a merge's stream: the inputs' entries merged in internal-key
//! order and passed through the [`CompactionStream`].

use std::path::Path;

use lsm_core::merge::MergeIter;
use lsm_core::{Fs, InternalEntry, KeyOrder, RangeTombstone, SeqNo};
use lsm_table::{NewTable, TableOptions, TableSetWriter, WrittenTable};

use crate::stream::{Bottom, CompactionStream};
use crate::{Error, Result};

/// Writes `stream` and `tombstones` (sorted by start) into tables named by
/// `next_table` in `dir`; see the module docs.
///
/// # Errors
/// The stream's first error, or the writer's; every file created is deleted first.
pub fn write_tables<E>(
    fs: &dyn Fs,
    dir: &Path,
    options: TableOptions,
    target_bytes: u64,
    stream: impl Iterator<Item = Result<InternalEntry, E>>,
    tombstones: Vec<RangeTombstone>,
    mut next_table: impl FnMut() -> NewTable,
) -> Result<Vec<WrittenTable>, E>
where
    E: From<Error>,
{
    let mut named = Vec::new();
    let outcome = {
        let mut writer = TableSetWriter::new(fs, options, target_bytes, || {
            let table = next_table();
            named.push(table.path.clone());
            table
        });
        let table_error = |error| E::from(Error::Table(error));
        let mut tombstones = tombstones.into_iter().peekable();
        let mut failure = None;
        for entry in stream {
            let added = entry.and_then(|entry| {
                // Tombstones go in before the first entry at or after their start.
                while let Some(tombstone) = tombstones.next_if(|t| t.start <= entry.key.user_key) {
                    writer
                        .add_range_tombstone(&tombstone)
                        .map_err(table_error)?;
                }
                writer.add(&entry).map_err(table_error)
            });
            if let Err(error) = added {
                failure = Some(error);
                break;
            }
        }
        if failure.is_none() {
            for tombstone in tombstones {
                if let Err(error) = writer.add_range_tombstone(&tombstone) {
                    failure = Some(table_error(error));
                    break;
                }
            }
        }
        match failure {
            Some(error) => Err(error),
            None => writer
                .finish()
                .map_err(|error| E::from(Error::Table(error))),
        }
    };
    let synced = outcome.and_then(|written| {
        if !written.is_empty() {
            sync_dir(fs, dir)?;
        }
        Ok(written)
    });
    if synced.is_err() {
        for path in &named {
            // Best effort: the next open removes whatever is left as an orphan.
            let _ = fs.remove_file(path);
        }
    }
    synced
}

/// Makes the entries of `dir` durable.
///
/// # Errors
/// [`Error::Io`] naming the directory.
pub(crate) fn sync_dir<E: From<Error>>(fs: &dyn Fs, dir: &Path) -> Result<(), E> {
    fs.sync_dir(dir).map_err(|source| {
        E::from(Error::Io {
            op: "sync dir",
            path: dir.to_path_buf(),
            source,
        })
    })
}

/// The stream of a merge of `sources` (listed newest first, each sorted in `order`) at
/// `watermark`.
pub fn merge_sources<'f, I, E>(
    order: &KeyOrder,
    sources: Vec<I>,
    watermark: SeqNo,
    bottom: Bottom,
) -> CompactionStream<'f, MergeIter<I>, E>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    CompactionStream::new(MergeIter::new(order.clone(), sources), watermark, bottom)
}
