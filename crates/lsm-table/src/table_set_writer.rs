//! [`TableSetWriter`]: writes a sorted stream into as many tables as its size needs.
//!
//! It rolls to a new table once the current one reaches the target size, but never
//! between two versions of one user key, so that a key's history stays in one table and
//! a point lookup reads one table per run; and never inside (or at the end of) a range
//! tombstone it was given, so that each tombstone lives whole in one table and the
//! tables' key ranges, which cover their tombstones, stay disjoint.

use std::path::PathBuf;

use lsm_core::{FileId, Fs, InternalEntry, RangeTombstone, UserKey};

use crate::{Error, Result, TableOptions, TableProperties, TableWriter};

/// The identity of the next table to write.
#[derive(Debug, Clone)]
pub struct NewTable {
    /// Its id.
    pub file_id: FileId,
    /// Where to create it.
    pub path: PathBuf,
    /// A fresh random salt for its encryption (ignored unless the options encrypt).
    pub salt: [u8; lsm_codec::FILE_SALT_LEN],
}

/// One table a [`TableSetWriter`] finished.
#[derive(Debug, Clone)]
pub struct WrittenTable {
    /// Its id.
    pub file_id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// Its properties.
    pub properties: TableProperties,
    /// XXH3-64 of the whole file.
    pub digest: u64,
}

/// Writes a sorted stream into tables of about `target_bytes`; see the module docs.
pub struct TableSetWriter<'a> {
    fs: &'a dyn Fs,
    options: TableOptions,
    target_bytes: u64,
    next_table: Box<dyn FnMut() -> NewTable + 'a>,
    current: Option<(NewTable, TableWriter)>,
    last_user_key: Option<UserKey>,
    /// The largest end of the range tombstones in the current table: no cut at or
    /// before it.
    no_cut_through: Option<UserKey>,
    written: Vec<WrittenTable>,
    /// The id of the table named last (the one an I/O error concerns).
    last_file_id: FileId,
    /// The table whose creation, write or finish failed: the set is then unusable.
    failed: Option<FileId>,
}

impl<'a> TableSetWriter<'a> {
    /// A writer that names each new table with `next_table`.
    pub fn new(
        fs: &'a dyn Fs,
        options: TableOptions,
        target_bytes: u64,
        next_table: impl FnMut() -> NewTable + 'a,
    ) -> Self {
        Self {
            fs,
            options,
            target_bytes,
            next_table: Box::new(next_table),
            current: None,
            last_user_key: None,
            no_cut_through: None,
            written: Vec::new(),
            last_file_id: 0,
            failed: None,
        }
    }

    /// Adds an entry (entries strictly increase in internal-key order).
    ///
    /// # Errors
    /// [`Error::InvalidEntry`] for an entry outside the limits (the writer stays usable);
    /// as [`TableWriter::add`], [`TableWriter::finish`] and [`TableWriter::create`]
    /// otherwise, after which every call returns [`Error::WriterFailed`] and every table
    /// it named must be deleted.
    pub fn add(&mut self, entry: &InternalEntry) -> Result<()> {
        self.guarded(|writer| writer.add_inner(entry))
    }

    /// Adds a range tombstone. Tombstones and entries come in key order: a tombstone
    /// before every entry whose user key is at or after its start.
    ///
    /// # Errors
    /// As [`Self::add`].
    pub fn add_range_tombstone(&mut self, tombstone: &RangeTombstone) -> Result<()> {
        self.guarded(|writer| writer.add_range_tombstone_inner(tombstone))
    }

    /// Runs `step` unless the set already failed; any error but an invalid entry fails
    /// the set.
    fn guarded(&mut self, step: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if let Some(file_id) = self.failed {
            return Err(Error::WriterFailed { file_id });
        }
        let result = step(self);
        if let Err(error) = &result
            && !matches!(error, Error::InvalidEntry(_))
        {
            self.failed = Some(self.last_file_id);
        }
        result
    }

    fn add_range_tombstone_inner(&mut self, tombstone: &RangeTombstone) -> Result<()> {
        self.roll_if_full(&tombstone.start)?;
        self.open_current()?;
        if let Some((_, writer)) = &mut self.current {
            writer.add_range_tombstone(tombstone)?;
        }
        if self
            .no_cut_through
            .as_ref()
            .is_none_or(|end| self.options.order.lt(end, &tombstone.end))
        {
            self.no_cut_through = Some(tombstone.end.clone());
        }
        Ok(())
    }

    /// Finishes the current table when it is full and a new table may start at `key`.
    fn roll_if_full(&mut self, key: &UserKey) -> Result<()> {
        let full = self
            .current
            .as_ref()
            .is_some_and(|(_, writer)| writer.written_bytes() >= self.target_bytes);
        let same_user_key = self.last_user_key.as_ref() == Some(key);
        let inside_tombstone = self
            .no_cut_through
            .as_ref()
            .is_some_and(|end| self.options.order.le(key, end));
        if full && !same_user_key && !inside_tombstone {
            self.finish_current()?;
            self.no_cut_through = None;
        }
        Ok(())
    }

    fn open_current(&mut self) -> Result<()> {
        if self.current.is_none() {
            let table = (self.next_table)();
            self.last_file_id = table.file_id;
            let mut options = self.options.clone();
            if let Some((_, salt)) = &mut options.encryption {
                *salt = table.salt;
            }
            let writer = TableWriter::create(self.fs, &table.path, table.file_id, options)?;
            self.current = Some((table, writer));
        }
        Ok(())
    }

    fn add_inner(&mut self, entry: &InternalEntry) -> Result<()> {
        let new_user_key = self.last_user_key.as_ref() != Some(&entry.key.user_key);
        self.roll_if_full(&entry.key.user_key)?;
        self.open_current()?;
        if let Some((_, writer)) = &mut self.current {
            writer.add(entry)?;
        }
        if new_user_key {
            self.last_user_key = Some(entry.key.user_key.clone());
        }
        Ok(())
    }

    fn finish_current(&mut self) -> Result<()> {
        if let Some((table, writer)) = self.current.take() {
            let (properties, digest) = writer.finish_with_digest()?;
            self.written.push(WrittenTable {
                file_id: table.file_id,
                path: table.path,
                properties,
                digest,
            });
        }
        Ok(())
    }

    /// Finishes the last table; returns every table written, in key order.
    ///
    /// # Errors
    /// [`Error::WriterFailed`] after an earlier failure; as [`TableWriter::finish`].
    pub fn finish(mut self) -> Result<Vec<WrittenTable>> {
        if let Some(file_id) = self.failed {
            return Err(Error::WriterFailed { file_id });
        }
        self.finish_current()?;
        Ok(self.written)
    }
}
