//! [`BlobFileReader`]: reads values by handle, and scans a file for garbage collection.
//!
//! Opening checks the header (magic, version, flags, file id, key) and the footer
//! (checksum, and that the frame region fills the file exactly). A read checks the
//! handle against the file, decodes the frame through the envelope (so damaged or
//! misplaced bytes fail their checksum) and compares the value's length with the one
//! the handle recorded.
#![deny(clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm_codec::envelope::{self, BlockContext, BlockType};
use lsm_codec::layout::HEADER_LEN as FRAME_HEADER_LEN;
use lsm_codec::{BlockHeader, DecodeOptions, EncryptionKey, FileCipher, ZstdDictionary};
use lsm_core::checksum::ChecksumBuilder;
use lsm_core::coding::Decoder;
use lsm_core::{
    BlobFileId, BlockKind, DescriptorCache, Fs, OpenOptions, ReadCounters, ReadFile, SeqNo, Slice,
    UserKey, UserValue,
};
use xxhash_rust::xxh3::xxh3_64;

use crate::layout::{
    BLOB_FORMAT_VERSION, DICTIONARY_BLOCK_LEN_MAX, FIRST_VERSION_WITH_DICTIONARY, FLAG_ENCRYPTED,
    FLAGS_KNOWN, FOOTER_LEN, FOOTER_MAGIC, FRAME_LEN_MAX, HEADER_LEN, HEADER_MAGIC,
};
use crate::{BlobHandle, Error, Result};

/// What reading blob files needs.
#[derive(Debug, Clone, Default)]
pub struct BlobReadOptions {
    /// The master key, for encrypted files.
    pub encryption_key: Option<EncryptionKey>,
    /// The dictionary frames were compressed with, if any.
    pub dictionary: Option<ZstdDictionary>,
    /// When set, the file is not kept open: each read goes through this cache, shared
    /// with the tables so that all open files stay under one bound.
    pub descriptor_cache: Option<Arc<DescriptorCache>>,
    /// Where value reads are counted (shared with a tree's tables); `None`: not counted.
    pub counters: Option<Arc<ReadCounters>>,
}

/// One stored value with its key and seqno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The user key it was written under.
    pub key: UserKey,
    /// The version's seqno.
    pub seqno: SeqNo,
    /// The value.
    pub value: UserValue,
}

/// An open blob file.
pub struct BlobFileReader {
    file: ReadFile,
    path: PathBuf,
    file_id: BlobFileId,
    frames_end: u64,
    file_len: u64,
    frame_count: u64,
    frames_checksum: u64,
    cipher: Option<FileCipher>,
    dictionary: Option<ZstdDictionary>,
    counters: Option<Arc<ReadCounters>>,
}

impl BlobFileReader {
    /// Opens blob file `file_id` at `path`.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Corruption`] for a damaged header or footer;
    /// [`Error::UnsupportedFormatVersion`]; [`Error::FileIdMismatch`]; [`Error::WrongKey`];
    /// [`Error::KeyRequired`].
    pub fn open(
        fs: &dyn Fs,
        path: &Path,
        file_id: BlobFileId,
        options: &BlobReadOptions,
    ) -> Result<Self> {
        let file = fs
            .open(path, OpenOptions::read())
            .map_err(|source| Error::io("open", path, source))?;
        let file_len = file
            .len()
            .map_err(|source| Error::io("stat", path, source))?;
        let corrupt = |offset, what| Error::Corruption {
            file_id,
            offset,
            what,
        };
        if file_len < (HEADER_LEN + FOOTER_LEN) as u64 {
            return Err(corrupt(0, "shorter than a header and a footer"));
        }
        let mut header = [0; HEADER_LEN];
        file.read_exact_at(&mut header, 0)
            .map_err(|source| Error::io("read", path, source))?;
        let mut decoder = Decoder::new(&header);
        let bad_header = |_| corrupt(0, "header");
        let magic: [u8; 8] = decoder.array().map_err(bad_header)?;
        let version = decoder.u8().map_err(bad_header)?;
        let flags = decoder.u8().map_err(bad_header)?;
        decoder.bytes(2).map_err(bad_header)?;
        let key_check = decoder.u32().map_err(bad_header)?;
        let salt: [u8; 16] = decoder.array().map_err(bad_header)?;
        let stored_file_id = decoder.u64().map_err(bad_header)?;
        let checksum = decoder.u64().map_err(bad_header)?;
        if magic != HEADER_MAGIC
            || xxh3_64(header.get(..HEADER_LEN - 8).unwrap_or_default()) != checksum
        {
            return Err(corrupt(0, "header checksum mismatch"));
        }
        if version > BLOB_FORMAT_VERSION {
            return Err(Error::UnsupportedFormatVersion {
                found: version,
                max: BLOB_FORMAT_VERSION,
            });
        }
        if version == 0 || flags & !FLAGS_KNOWN != 0 {
            return Err(corrupt(0, "bad version or flags"));
        }
        if stored_file_id != file_id {
            return Err(Error::FileIdMismatch {
                expected: file_id,
                found: stored_file_id,
            });
        }
        let cipher = match (flags & FLAG_ENCRYPTED != 0, &options.encryption_key) {
            (true, Some(key)) => {
                let cipher = FileCipher::new(key, &salt);
                if cipher.key_check() != key_check {
                    return Err(Error::WrongKey { file_id });
                }
                Some(cipher)
            }
            (true, None) => return Err(Error::KeyRequired { file_id }),
            (false, Some(_)) => {
                return Err(corrupt(0, "plaintext blob file where a key was given"));
            }
            (false, None) => None,
        };
        let footer_offset = file_len - FOOTER_LEN as u64;
        let mut footer = [0; FOOTER_LEN];
        file.read_exact_at(&mut footer, footer_offset)
            .map_err(|source| Error::io("read", path, source))?;
        let mut decoder = Decoder::new(&footer);
        let bad_footer = |_| corrupt(footer_offset, "footer");
        let frame_count = decoder.u64().map_err(bad_footer)?;
        let frame_bytes = decoder.u64().map_err(bad_footer)?;
        let _value_bytes = decoder.u64().map_err(bad_footer)?;
        let frames_checksum = decoder.u64().map_err(bad_footer)?;
        let magic: [u8; 8] = decoder.array().map_err(bad_footer)?;
        let checksum = decoder.u64().map_err(bad_footer)?;
        if magic != FOOTER_MAGIC
            || xxh3_64(footer.get(..FOOTER_LEN - 8).unwrap_or_default()) != checksum
        {
            return Err(corrupt(footer_offset, "footer checksum mismatch"));
        }
        // What lies between the frames and the footer is the file's dictionary (from
        // version 2 on), or nothing.
        let frames_end = (HEADER_LEN as u64)
            .checked_add(frame_bytes)
            .filter(|&end| end <= footer_offset)
            .ok_or_else(|| corrupt(footer_offset, "frames run past the footer"))?;
        let dictionary_len = footer_offset - frames_end;
        let dictionary = if dictionary_len == 0 {
            options.dictionary.clone()
        } else if version < FIRST_VERSION_WITH_DICTIONARY
            || dictionary_len > DICTIONARY_BLOCK_LEN_MAX
        {
            return Err(corrupt(footer_offset, "frames do not fill the file"));
        } else {
            let len = usize::try_from(dictionary_len)
                .map_err(|_| corrupt(frames_end, "dictionary too large"))?;
            let bytes = Slice::filled_by(len, |bytes| {
                file.read_exact_at(bytes, frames_end)
                    .map_err(|source| Error::io("read", path, source))
            })?;
            let context = BlockContext {
                file_id,
                block_offset: frames_end,
            };
            let decode = DecodeOptions {
                dictionary: None,
                cipher: cipher.as_ref(),
            };
            let raw = envelope::decode(&bytes, BlockType::Dictionary, decode, context).map_err(
                |source| Error::Frame {
                    file_id,
                    offset: frames_end,
                    source,
                },
            )?;
            Some(ZstdDictionary::new(&raw))
        };
        let file = match &options.descriptor_cache {
            Some(cache) => ReadFile::cached(cache, path),
            None => ReadFile::owned(file),
        };
        Ok(Self {
            file,
            path: path.to_path_buf(),
            file_id,
            frames_end,
            file_len,
            frame_count,
            frames_checksum,
            cipher,
            dictionary,
            counters: options.counters.clone(),
        })
    }

    /// The file's id.
    #[must_use]
    pub fn file_id(&self) -> BlobFileId {
        self.file_id
    }

    /// The id of the dictionary the file stores (or, for a file without one, the
    /// caller's), if any.
    #[must_use]
    pub fn dictionary_id(&self) -> Option<u32> {
        self.dictionary.as_ref().map(ZstdDictionary::id)
    }

    /// Values in the file.
    #[must_use]
    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }

    /// The value at `handle`, with its key and seqno.
    ///
    /// # Errors
    /// [`Error::WrongFile`] for another file's handle; [`Error::Corruption`] for a handle
    /// outside the frames or a length that does not match; [`Error::Frame`] for a damaged
    /// frame; [`Error::Io`].
    pub fn get(&self, handle: &BlobHandle) -> Result<Blob> {
        if handle.file_id != self.file_id {
            return Err(Error::WrongFile {
                file_id: self.file_id,
                handle_file_id: handle.file_id,
            });
        }
        let blob = self.read_frame(handle.offset, handle.on_disk_len)?;
        if blob.value.len() as u64 != u64::from(handle.value_len) {
            return Err(Error::Corruption {
                file_id: self.file_id,
                offset: handle.offset,
                what: "value length differs from the handle",
            });
        }
        Ok(blob)
    }

    fn read_frame(&self, offset: u64, len: u64) -> Result<Blob> {
        let corrupt = |what| Error::Corruption {
            file_id: self.file_id,
            offset,
            what,
        };
        let end = offset
            .checked_add(len)
            .ok_or_else(|| corrupt("frame range overflows"))?;
        if offset < HEADER_LEN as u64 || end > self.frames_end || len > FRAME_LEN_MAX {
            return Err(corrupt("frame outside the file's frames"));
        }
        let len = usize::try_from(len).map_err(|_| corrupt("frame too large"))?;
        let bytes = Slice::filled_by(len, |bytes| self.read_at(bytes, offset))?;
        if let Some(counters) = &self.counters {
            counters.loaded_io(BlockKind::Blob, bytes.len() as u64);
        }
        self.decode_frame(offset, &bytes)
    }

    /// Decodes the frame `bytes` read at `offset`.
    fn decode_frame(&self, offset: u64, bytes: &Slice) -> Result<Blob> {
        let context = BlockContext {
            file_id: self.file_id,
            block_offset: offset,
        };
        let options = DecodeOptions {
            dictionary: self.dictionary.as_ref(),
            cipher: self.cipher.as_ref(),
        };
        let payload =
            envelope::decode(bytes, BlockType::Blob, options, context).map_err(|source| {
                Error::Frame {
                    file_id: self.file_id,
                    offset,
                    source,
                }
            })?;
        let mut decoder = Decoder::new(&payload);
        let bad = |_| Error::Corruption {
            file_id: self.file_id,
            offset,
            what: "malformed frame payload",
        };
        let key_len = decoder.varint_len().map_err(bad)?;
        let key_start = decoder.offset();
        decoder.bytes(key_len).map_err(bad)?;
        let seqno = decoder.varint_u64().map_err(bad)?;
        let value_start = decoder.offset();
        Ok(Blob {
            key: payload.slice(key_start..key_start + key_len),
            seqno,
            value: payload.slice(value_start..),
        })
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|source| Error::io("read", &self.path, source))
    }

    /// Every value in file order, with its handle (for garbage collection). The frames
    /// are read in windows of [`SCAN_WINDOW_BYTES`], not one read per frame; a value
    /// that was stored uncompressed and in plaintext shares its window's buffer.
    #[must_use]
    pub fn scan(&self) -> BlobScanner<'_> {
        BlobScanner {
            reader: self,
            window: FrameWindow::default(),
            offset: HEADER_LEN as u64,
            failed: false,
        }
    }

    /// Reads the whole file once: every frame is decoded (checksum, decryption,
    /// decompression, payload) and the frames are checked against the footer's count and
    /// checksum; returns the XXH3-64 of the whole file, to compare with a digest recorded
    /// when it was written.
    ///
    /// # Errors
    /// [`Error::Frame`] or [`Error::Corruption`] for the first damaged frame, or frames
    /// that differ from the footer; [`Error::Io`].
    pub fn verify(&self) -> Result<u64> {
        self.verify_counting().map(|(digest, _)| digest)
    }

    /// [`Self::verify`], also returning the sum of the values' lengths (what a version
    /// records about the file, for a manifest rebuilt from the files on disk).
    ///
    /// # Errors
    /// As [`Self::verify`].
    pub fn verify_counting(&self) -> Result<(u64, u64)> {
        let mut value_bytes = 0;
        let mut file_digest = ChecksumBuilder::with_seed(0);
        let mut header = [0; HEADER_LEN];
        self.read_at(&mut header, 0)?;
        file_digest.update(&header);
        let mut checksum = ChecksumBuilder::with_seed(0);
        let mut window = FrameWindow::default();
        let mut frames = 0;
        let mut offset = HEADER_LEN as u64;
        while offset < self.frames_end {
            let frame = window.frame_at(self, offset)?;
            value_bytes += self.decode_frame(offset, &frame)?.value.len() as u64;
            checksum.update(&frame);
            file_digest.update(&frame);
            frames += 1;
            offset += frame.len() as u64;
        }
        if checksum.finish().into_raw() != self.frames_checksum || frames != self.frame_count {
            return Err(Error::Corruption {
                file_id: self.file_id,
                offset: self.frames_end,
                what: "frames differ from the footer",
            });
        }
        // The dictionary, if any, and the footer.
        let tail =
            usize::try_from(self.file_len - self.frames_end).map_err(|_| Error::Corruption {
                file_id: self.file_id,
                offset: self.frames_end,
                what: "tail too large",
            })?;
        let tail = Slice::filled_by(tail, |bytes| self.read_at(bytes, self.frames_end))?;
        file_digest.update(&tail);
        Ok((file_digest.finish().into_raw(), value_bytes))
    }

    /// The file's length.
    #[must_use]
    pub fn file_len(&self) -> u64 {
        self.file_len
    }
}

/// Bytes a scan reads at once.
pub const SCAN_WINDOW_BYTES: usize = 1 << 20;

/// A window of consecutive frame bytes, refilled as a sequential walk leaves it.
#[derive(Default)]
struct FrameWindow {
    start: u64,
    bytes: Slice,
}

impl FrameWindow {
    /// The whole frame at `offset` (which lies in the frames region), by its envelope
    /// header's length.
    fn frame_at(&mut self, reader: &BlobFileReader, offset: u64) -> Result<Slice> {
        let corrupt = |what| Error::Corruption {
            file_id: reader.file_id,
            offset,
            what,
        };
        if offset + FRAME_HEADER_LEN as u64 > reader.frames_end {
            return Err(corrupt("truncated frame header"));
        }
        self.fill(reader, offset, FRAME_HEADER_LEN as u64)?;
        let at = usize::try_from(offset - self.start).map_err(|_| corrupt("frame offset"))?;
        let header = self
            .bytes
            .get(at..at + FRAME_HEADER_LEN)
            .ok_or_else(|| corrupt("frame header"))?;
        let len = BlockHeader::decode_from(header)
            .map_err(|_| corrupt("frame header"))?
            .block_len();
        if len > FRAME_LEN_MAX || offset + len > reader.frames_end {
            return Err(corrupt("frame runs past the frames"));
        }
        self.fill(reader, offset, len)?;
        let at = usize::try_from(offset - self.start).map_err(|_| corrupt("frame offset"))?;
        let len = usize::try_from(len).map_err(|_| corrupt("frame too large"))?;
        Ok(self.bytes.slice(at..at + len))
    }

    /// Makes `offset..offset + len` (inside the frames region) part of the window.
    fn fill(&mut self, reader: &BlobFileReader, offset: u64, len: u64) -> Result<()> {
        let window_end = self.start + self.bytes.len() as u64;
        if offset >= self.start && offset + len <= window_end {
            return Ok(());
        }
        let want = len
            .max(SCAN_WINDOW_BYTES as u64)
            .min(reader.frames_end - offset);
        let want = usize::try_from(want).map_err(|_| Error::Corruption {
            file_id: reader.file_id,
            offset,
            what: "frame too large",
        })?;
        self.bytes = Slice::filled_by(want, |bytes| reader.read_at(bytes, offset))?;
        self.start = offset;
        Ok(())
    }
}

/// Iterates over a blob file's values; see [`BlobFileReader::scan`].
pub struct BlobScanner<'a> {
    reader: &'a BlobFileReader,
    window: FrameWindow,
    offset: u64,
    failed: bool,
}

impl Iterator for BlobScanner<'_> {
    type Item = Result<(BlobHandle, Blob)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.reader.frames_end {
            return None;
        }
        let (reader, offset) = (self.reader, self.offset);
        let item = self.window.frame_at(reader, offset).and_then(|frame| {
            let blob = reader.decode_frame(offset, &frame)?;
            let value_len = u32::try_from(blob.value.len()).map_err(|_| Error::Corruption {
                file_id: reader.file_id,
                offset,
                what: "value too large",
            })?;
            let on_disk_len = frame.len() as u64;
            self.offset += on_disk_len;
            Ok((
                BlobHandle {
                    file_id: reader.file_id,
                    offset,
                    on_disk_len,
                    value_len,
                },
                blob,
            ))
        });
        self.failed = item.is_err();
        Some(item)
    }
}
