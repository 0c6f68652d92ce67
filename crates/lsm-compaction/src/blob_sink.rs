//! [`BlobSink`]: separates values into blob files while a job writes its tables.
//!
//! The sink sits between a job's stream and the table writer: a value at or above the
//! separation threshold goes to a blob file and the table gets an indirection (the
//! encoded [`BlobHandle`]); an indirection into a blob file being collected has its value
//! read (through the caller's reader) and written again (relocation). The sink records
//! every indirection it passes on, in key order, so that each output table's blob
//! references (the counts garbage collection works from) follow from its key range
//! ([`refs_per_table`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use lsm_core::{BlobFileId, Fs, InternalEntry, KeyOrder, UserKey, UserValue, ValueType};
use lsm_table::WrittenTable;
use lsm_version::BlobRef;
use lsm_vlog::{BlobHandle, BlobSetWriter, BlobWriteOptions, NewBlobFile, WrittenBlobFile};

use crate::Error;

/// Where a job's separated values go, and which blob files' values it moves.
pub struct BlobTarget<'a, E> {
    /// How blob files are written.
    pub options: BlobWriteOptions,
    /// Values of at least this many bytes are separated (`u32::MAX`: none; the sink
    /// then only counts the indirections that pass, which it must whenever the tree
    /// holds blob files).
    pub separation_threshold: u32,
    /// Blob files are cut at about this size.
    pub file_target_bytes: u64,
    /// Names each new blob file (called from any thread a job runs on).
    pub next_file: &'a (dyn Fn() -> NewBlobFile + Sync),
    /// The blob files whose live values are copied to new files.
    pub relocate: &'a BTreeSet<BlobFileId>,
    /// Reads the value an indirection points to (for relocation).
    pub read_value: &'a (dyn Fn(&InternalEntry) -> Result<UserValue, E> + Sync),
}

/// What a [`BlobSink`] wrote.
#[derive(Default)]
pub struct SinkOutput {
    /// Blob files finished, in order.
    pub files: Vec<WrittenBlobFile>,
    /// Every indirection passed on, in key order: key, blob file, value length.
    pub refs: Vec<(UserKey, BlobFileId, u32)>,
}

/// Separates values into blob files; see the module docs.
pub struct BlobSink<'a, E> {
    writer: BlobSetWriter<'a>,
    target: &'a BlobTarget<'a, E>,
    refs: Vec<(UserKey, BlobFileId, u32)>,
    named: Arc<Mutex<Vec<PathBuf>>>,
}

impl<'a, E: From<Error>> BlobSink<'a, E> {
    /// A sink writing into new blob files as `target` says.
    pub fn new(fs: &'a dyn Fs, target: &'a BlobTarget<'a, E>) -> Self {
        let named = Arc::new(Mutex::new(Vec::new()));
        let names = Arc::clone(&named);
        let writer = BlobSetWriter::new(
            fs,
            target.options.clone(),
            target.file_target_bytes,
            move || {
                let file = (target.next_file)();
                names
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(file.path.clone());
                file
            },
        );
        Self {
            writer,
            target,
            refs: Vec::new(),
            named,
        }
    }

    /// The entry as the table stores it.
    ///
    /// # Errors
    /// Blob write errors; [`Error::BrokenIndirection`] for an indirection that does not
    /// decode; the reader's errors for a relocated value.
    pub fn separate(&mut self, mut entry: InternalEntry) -> Result<InternalEntry, E> {
        match entry.key.value_type {
            ValueType::Value
                if entry.value.len() as u64 >= u64::from(self.target.separation_threshold) =>
            {
                self.write(&mut entry)?;
            }
            ValueType::Indirection => {
                let handle = handle_of(&entry)?;
                if self.target.relocate.contains(&handle.file_id) {
                    entry.value = (self.target.read_value)(&entry)?;
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

    fn write(&mut self, entry: &mut InternalEntry) -> Result<(), E> {
        let handle = self
            .writer
            .write(&entry.key.user_key, entry.key.seqno, &entry.value)
            .map_err(|error| E::from(Error::Blob(error)))?;
        self.refs
            .push((entry.key.user_key.clone(), handle.file_id, handle.value_len));
        entry.value = UserValue::from(handle.encode());
        entry.key.value_type = ValueType::Indirection;
        Ok(())
    }

    /// The paths of every blob file this sink created (for cleanup on failure).
    pub fn named(&self) -> Arc<Mutex<Vec<PathBuf>>> {
        Arc::clone(&self.named)
    }

    /// Finishes the last blob file (synced).
    ///
    /// # Errors
    /// Blob write errors (the caller deletes every file named).
    pub fn finish(self) -> Result<SinkOutput, E> {
        Ok(SinkOutput {
            files: self
                .writer
                .finish()
                .map_err(|error| E::from(Error::Blob(error)))?,
            refs: self.refs,
        })
    }
}

/// The handle an indirection entry holds.
///
/// # Errors
/// [`Error::BrokenIndirection`] when its value is not one handle.
pub fn handle_of(entry: &InternalEntry) -> Result<BlobHandle, Error> {
    BlobHandle::decode_from(&entry.value).map_err(|_| Error::BrokenIndirection {
        what: "the pointer does not decode",
    })
}

/// Deletes the files at `paths` (best effort: orphans otherwise).
pub fn remove_paths(fs: &dyn Fs, paths: &Mutex<Vec<PathBuf>>) {
    for path in paths.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        let _ = fs.remove_file(path);
    }
}

/// Each table's blob references, from the indirections in key order (a key's versions
/// never span two tables, so each lies in the first table whose range reaches it).
#[must_use]
pub fn refs_per_table(
    order: &KeyOrder,
    tables: &[WrittenTable],
    refs: &[(UserKey, BlobFileId, u32)],
) -> Vec<Vec<BlobRef>> {
    let mut per_table = vec![BTreeMap::<BlobFileId, (u64, u64)>::new(); tables.len()];
    let mut table_idx = 0;
    for (key, file_id, value_len) in refs {
        while table_idx + 1 < tables.len()
            && tables
                .get(table_idx)
                .is_some_and(|table| order.lt(&table.properties.key_max, key))
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
