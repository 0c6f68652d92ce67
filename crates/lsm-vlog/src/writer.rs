//! [`BlobFileWriter`]: appends values to a new blob file.
//!
//! Each value becomes one enveloped frame at the current offset; the returned handle is
//! what the tree stores. `finish` writes the footer (counts and a checksum of all
//! frames) and syncs the file; the caller makes its directory entry durable before any
//! version refers to the file.
//!
//! With dictionary training, the first values (up to the sample size) are compressed
//! with plain zstd and kept as samples; once enough are in, a dictionary is trained on
//! them and every later value is compressed with it. Handles are final when returned,
//! so the dictionary cannot go before the frames: `finish` stores it between the last
//! frame and the footer.

use std::path::{Path, PathBuf};

use lsm_codec::envelope::{self, BlockContext, BlockType};
use lsm_codec::{
    Compression, DictionaryTraining, EncodeOptions, EncryptionKey, FILE_SALT_LEN, FileCipher,
    ZstdDictionary, train_dictionary,
};
use lsm_core::checksum::ChecksumBuilder;
use lsm_core::coding::{put_u32, put_u64, put_varint_u64};
use lsm_core::{BlobFileId, Fs, FsFile, OpenOptions, SeqNo, limits};
use xxhash_rust::xxh3::xxh3_64;

use crate::layout::{BLOB_FORMAT_VERSION, FLAG_ENCRYPTED, FOOTER_MAGIC, HEADER_MAGIC};
use crate::{BlobHandle, Error, Result};

/// Bytes buffered before they are appended to the file.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// How blob files are written.
#[derive(Debug, Clone, Default)]
pub struct BlobWriteOptions {
    /// Compression of each frame (kept only when it shrinks the frame).
    pub compression: Compression,
    /// Encrypt every frame: the master key and this file's fresh random salt.
    pub encryption: Option<(EncryptionKey, [u8; FILE_SALT_LEN])>,
    /// Train a zstd dictionary on the file's first values and compress the rest with it
    /// (at the training's level; `compression` is then not used). A file whose values
    /// do not reach the sample size, or on which training fails, has no dictionary and
    /// plain zstd frames.
    pub dictionary_training: Option<DictionaryTraining>,
}

/// What a finished blob file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobFileMeta {
    /// The file's id.
    pub file_id: BlobFileId,
    /// Values written.
    pub frame_count: u64,
    /// Sum of the values' lengths.
    pub value_bytes: u64,
    /// The file's length.
    pub file_len: u64,
    /// XXH3-64 of the whole file.
    pub digest: u64,
}

/// Writes one blob file; see the module docs.
pub struct BlobFileWriter {
    file: Box<dyn FsFile>,
    path: PathBuf,
    file_id: BlobFileId,
    compression: Compression,
    cipher: Option<FileCipher>,
    offset: u64,
    buffer: Vec<u8>,
    frame_count: u64,
    frame_bytes: u64,
    value_bytes: u64,
    frames_checksum: ChecksumBuilder,
    /// The payload of a frame up to its value.
    frame_prefix: Vec<u8>,
    /// Set when an append failed: the file's contents are then unknown.
    failed: bool,
    /// XXH3-64 of every byte appended so far.
    file_digest: ChecksumBuilder,
    /// Training still to come, with the payloads sampled so far and their bytes.
    training: Option<(DictionaryTraining, Vec<Vec<u8>>, usize)>,
    /// The trained dictionary, stored by `finish`.
    dictionary: Option<ZstdDictionary>,
}

impl BlobFileWriter {
    /// Creates the file at `path` (it must not exist) and writes its header.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be created.
    pub fn create(
        fs: &dyn Fs,
        path: &Path,
        file_id: BlobFileId,
        options: BlobWriteOptions,
    ) -> Result<Self> {
        let file = fs
            .open(path, OpenOptions::create_new())
            .map_err(|source| Error::io("create", path, source))?;
        let cipher = options
            .encryption
            .as_ref()
            .map(|(key, salt)| FileCipher::new(key, salt));
        let mut header = HEADER_MAGIC.to_vec();
        let flags = if cipher.is_some() { FLAG_ENCRYPTED } else { 0 };
        header.extend_from_slice(&[BLOB_FORMAT_VERSION, flags, 0, 0]);
        put_u32(
            &mut header,
            cipher.as_ref().map_or(0, FileCipher::key_check),
        );
        header.extend_from_slice(
            &options
                .encryption
                .as_ref()
                .map_or([0; FILE_SALT_LEN], |(_, salt)| *salt),
        );
        put_u64(&mut header, file_id);
        let checksum = xxh3_64(&header);
        put_u64(&mut header, checksum);
        Ok(Self {
            file,
            path: path.to_path_buf(),
            file_id,
            compression: match options.dictionary_training {
                Some(training) => Compression::zstd(training.level),
                None => options.compression,
            },
            cipher,
            offset: header.len() as u64,
            buffer: header,
            frame_count: 0,
            frame_bytes: 0,
            value_bytes: 0,
            frames_checksum: ChecksumBuilder::with_seed(0),
            frame_prefix: Vec::new(),
            failed: false,
            file_digest: ChecksumBuilder::with_seed(0),
            training: options
                .dictionary_training
                .map(|training| (training, Vec::new(), 0)),
            dictionary: None,
        })
    }

    /// Appends a value; returns its handle.
    ///
    /// # Errors
    /// [`Error::InvalidEntry`] for a key or value outside the limits and [`Error::Encode`]
    /// when the frame cannot be encoded (the writer stays usable); [`Error::Io`] when an
    /// append fails, after which every call returns [`Error::WriterFailed`].
    pub fn write(&mut self, key: &[u8], seqno: SeqNo, value: &[u8]) -> Result<BlobHandle> {
        self.check_not_failed()?;
        limits::check_user_key(key).map_err(Error::InvalidEntry)?;
        limits::check_value(value).map_err(Error::InvalidEntry)?;
        // The payload is (key length, key, seqno, value); the value is copied once,
        // into the frame.
        self.frame_prefix.clear();
        put_varint_u64(&mut self.frame_prefix, key.len() as u64);
        self.frame_prefix.extend_from_slice(key);
        put_varint_u64(&mut self.frame_prefix, seqno);
        let context = BlockContext {
            file_id: self.file_id,
            block_offset: self.offset,
        };
        let options = EncodeOptions {
            compression: &self.compression,
            cipher: self.cipher.as_ref(),
        };
        let before = self.buffer.len();
        if let Err(source) = envelope::encode_parts_into(
            &[&self.frame_prefix, value],
            BlockType::Blob,
            options,
            context,
            &mut self.buffer,
        ) {
            // Nothing of this frame stays: the writer is as before the call.
            self.buffer.truncate(before);
            return Err(Error::Encode {
                file_id: self.file_id,
                source,
            });
        }
        let frame = self.buffer.get(before..).unwrap_or_default();
        self.frames_checksum.update(frame);
        let on_disk_len = frame.len() as u64;
        let handle = BlobHandle {
            file_id: self.file_id,
            offset: self.offset,
            on_disk_len,
            value_len: u32::try_from(value.len()).expect("checked against the value limit"),
        };
        self.offset += on_disk_len;
        self.frame_count += 1;
        self.frame_bytes += on_disk_len;
        self.value_bytes += value.len() as u64;
        self.sample(value);
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.flush_buffer()?;
        }
        Ok(handle)
    }

    /// Keeps the payload just written as a training sample; trains once there are enough.
    fn sample(&mut self, value: &[u8]) {
        let Some((training, samples, sampled)) = &mut self.training else {
            return;
        };
        let mut payload = Vec::with_capacity(self.frame_prefix.len() + value.len());
        payload.extend_from_slice(&self.frame_prefix);
        payload.extend_from_slice(value);
        *sampled += payload.len();
        samples.push(payload);
        if *sampled < training.sample_bytes {
            return;
        }
        if let Ok(dictionary) = train_dictionary(samples, training.dictionary_bytes) {
            self.compression = Compression::zstd_dict(training.level, &dictionary);
            self.dictionary = Some(dictionary);
        }
        self.training = None;
    }

    /// The dictionary trained so far, if any.
    #[must_use]
    pub fn dictionary(&self) -> Option<&ZstdDictionary> {
        self.dictionary.as_ref()
    }

    /// Bytes written or buffered so far.
    #[must_use]
    pub fn written_bytes(&self) -> u64 {
        self.offset
    }

    fn flush_buffer(&mut self) -> Result<()> {
        if let Err(source) = self.file.append(&self.buffer) {
            self.failed = true;
            return Err(Error::io("append", &self.path, source));
        }
        self.file_digest.update(&self.buffer);
        self.buffer.clear();
        Ok(())
    }

    fn check_not_failed(&self) -> Result<()> {
        if self.failed {
            return Err(Error::WriterFailed {
                file_id: self.file_id,
            });
        }
        Ok(())
    }
    /// Writes the footer and syncs the file.
    ///
    /// # Errors
    /// [`Error::WriterFailed`] after an earlier failure; [`Error::Io`] when writing or
    /// syncing fails (the file must then be deleted).
    pub fn finish(mut self) -> Result<BlobFileMeta> {
        self.check_not_failed()?;
        if let Some(dictionary) = self.dictionary.take() {
            let context = BlockContext {
                file_id: self.file_id,
                block_offset: self.offset,
            };
            let options = EncodeOptions {
                compression: &Compression::None,
                cipher: self.cipher.as_ref(),
            };
            let before = self.buffer.len();
            envelope::encode_into(
                dictionary.raw(),
                BlockType::Dictionary,
                options,
                context,
                &mut self.buffer,
            )
            .map_err(|source| Error::Encode {
                file_id: self.file_id,
                source,
            })?;
            self.offset += (self.buffer.len() - before) as u64;
        }
        let mut footer = Vec::new();
        for value in [
            self.frame_count,
            self.frame_bytes,
            self.value_bytes,
            self.frames_checksum.finish().into_raw(),
        ] {
            put_u64(&mut footer, value);
        }
        footer.extend_from_slice(&FOOTER_MAGIC);
        let checksum = xxh3_64(&footer);
        put_u64(&mut footer, checksum);
        self.buffer.extend_from_slice(&footer);
        self.offset += footer.len() as u64;
        self.flush_buffer()?;
        self.file
            .sync_all()
            .map_err(|source| Error::io("sync", &self.path, source))?;
        Ok(BlobFileMeta {
            file_id: self.file_id,
            frame_count: self.frame_count,
            value_bytes: self.value_bytes,
            file_len: self.offset,
            digest: self.file_digest.finish().into_raw(),
        })
    }
}
