//! [`BlobSetWriter`]: writes values into as many blob files as their size needs.
//!
//! It rolls to a new blob file once the current one reaches the target size. Each file
//! is finished (footer written, file synced) before the next is created, so when
//! `finish` returns every handle it gave out points into a durable, complete file; the
//! caller then makes the directory entries durable and records the files in the same
//! version edit as the tables that refer to them.

use std::path::PathBuf;

use lsm_core::{BlobFileId, Fs, SeqNo};

use crate::{BlobFileMeta, BlobFileWriter, BlobHandle, BlobWriteOptions, Error, Result};

/// The identity of the next blob file to write.
#[derive(Debug, Clone)]
pub struct NewBlobFile {
    /// Its id.
    pub file_id: BlobFileId,
    /// Where to create it.
    pub path: PathBuf,
    /// A fresh random salt for its encryption (ignored unless the options encrypt).
    pub salt: [u8; lsm_codec::FILE_SALT_LEN],
}

/// One blob file a [`BlobSetWriter`] finished.
#[derive(Debug, Clone)]
pub struct WrittenBlobFile {
    /// Its path.
    pub path: PathBuf,
    /// Its id, counts and length.
    pub meta: BlobFileMeta,
}

/// Writes values into blob files of about `target_bytes`; see the module docs.
pub struct BlobSetWriter<'a> {
    fs: &'a dyn Fs,
    options: BlobWriteOptions,
    target_bytes: u64,
    next_file: Box<dyn FnMut() -> NewBlobFile + 'a>,
    current: Option<(PathBuf, BlobFileWriter)>,
    written: Vec<WrittenBlobFile>,
    /// The id of the file named last (the one an I/O error concerns).
    last_file_id: BlobFileId,
    /// The file whose creation, append or finish failed: the set is then unusable.
    failed: Option<BlobFileId>,
}

impl<'a> BlobSetWriter<'a> {
    /// A writer that names each new blob file with `next_file`.
    pub fn new(
        fs: &'a dyn Fs,
        options: BlobWriteOptions,
        target_bytes: u64,
        next_file: impl FnMut() -> NewBlobFile + 'a,
    ) -> Self {
        Self {
            fs,
            options,
            target_bytes,
            next_file: Box::new(next_file),
            current: None,
            written: Vec::new(),
            last_file_id: 0,
            failed: None,
        }
    }

    /// Appends a value; returns its handle.
    ///
    /// # Errors
    /// [`Error::InvalidEntry`] and [`Error::Encode`] for a value that cannot be stored
    /// (the writer stays usable); as [`BlobFileWriter::create`], [`BlobFileWriter::write`]
    /// and [`BlobFileWriter::finish`] when I/O fails, after which every call returns
    /// [`Error::WriterFailed`] and every file it named must be deleted.
    pub fn write(&mut self, key: &[u8], seqno: SeqNo, value: &[u8]) -> Result<BlobHandle> {
        if let Some(file_id) = self.failed {
            return Err(Error::WriterFailed { file_id });
        }
        let result = self.write_inner(key, seqno, value);
        if let Err(error) = &result
            && !matches!(error, Error::InvalidEntry(_) | Error::Encode { .. })
        {
            self.failed = Some(self.last_file_id);
        }
        result
    }

    fn write_inner(&mut self, key: &[u8], seqno: SeqNo, value: &[u8]) -> Result<BlobHandle> {
        let full = self
            .current
            .as_ref()
            .is_some_and(|(_, writer)| writer.written_bytes() >= self.target_bytes);
        if full {
            self.finish_current()?;
        }
        let writer = match &mut self.current {
            Some((_, writer)) => writer,
            None => {
                let file = (self.next_file)();
                self.last_file_id = file.file_id;
                let mut options = self.options.clone();
                if let Some((_, salt)) = &mut options.encryption {
                    *salt = file.salt;
                }
                let writer = BlobFileWriter::create(self.fs, &file.path, file.file_id, options)?;
                &mut self.current.insert((file.path, writer)).1
            }
        };
        writer.write(key, seqno, value)
    }

    fn finish_current(&mut self) -> Result<()> {
        if let Some((path, writer)) = self.current.take() {
            let meta = writer.finish()?;
            self.written.push(WrittenBlobFile { path, meta });
        }
        Ok(())
    }

    /// Finishes the last file; returns every file written, in order.
    ///
    /// # Errors
    /// [`Error::WriterFailed`] after an earlier I/O failure; as [`BlobFileWriter::finish`].
    pub fn finish(mut self) -> Result<Vec<WrittenBlobFile>> {
        if let Some(file_id) = self.failed {
            return Err(Error::WriterFailed { file_id });
        }
        self.finish_current()?;
        Ok(self.written)
    }
}
