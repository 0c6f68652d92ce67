//! The envelope every on-disk block wears.
//!
//! ```text
//! 0   u8   block type            (BlockType)
//! 1   u8   compression           (0 none, 1 zstd, 2 zstd with dictionary)
//! 2   u8   flags                 (bit 0: encrypted; other bits zero)
//! 3   u8   format version        (1)
//! 4   u32  stored length         (bytes after the header)
//! 8   u32  uncompressed length
//! 12  u32  dictionary id         (0 unless compression is 2)
//! 16  u32  key check             (0 unless encrypted)
//! 20  u64  checksum              XXH3-64 of bytes 0..20 and the stored bytes,
//!                                seeded with XXH3-64(file id || block offset)
//! 28  ...  stored bytes          payload, compressed, then encrypted (ciphertext || 16-byte tag)
//! ```
//!
//! Writing: compress (kept only if smaller), encrypt, checksum. Reading checks, in order:
//! the length against the header, the checksum (so nothing else is trusted before it
//! passes), the version, type and flags, then decrypts and decompresses into a buffer of
//! exactly the declared length. The checksum's seed binds a block to its file and
//! offset, so a valid block copied elsewhere fails as corrupt; with encryption the AAD
//! binds the same context again, cryptographically.
#![deny(clippy::indexing_slicing)]

use std::borrow::Cow;

use lsm_core::coding::{Decoder, put_u32};
use lsm_core::{Checksum, FileId, Slice};
use xxhash_rust::xxh3::xxh3_64;

use crate::compression::{self, Compression, ZstdDictionary};
use crate::error::CorruptionKind;
use crate::layout::{
    AAD_LEN, COMPRESSION_LZ4, COMPRESSION_NONE, COMPRESSION_ZSTD, COMPRESSION_ZSTD_DICT,
    FLAG_ENCRYPTED, FLAGS_KNOWN, FORMAT_VERSION, FORMAT_VERSION_LZ4, GCM_TAG_LEN, HEADER_AAD_LEN,
    HEADER_CHECKSUM_OFFSET, HEADER_LEN,
};
use crate::{Error, FileCipher, Result};

/// What a block holds. The discriminants are the on-disk tags; 0 is never valid, so a
/// zeroed sector cannot pass as a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum BlockType {
    /// Sorted internal entries.
    Data = 1,
    /// Block handles keyed by the last key of each block.
    Index = 2,
    /// A key or prefix filter.
    Filter = 3,
    /// Range tombstones.
    RangeTombstone = 4,
    /// A table's properties.
    Properties = 5,
    /// A zstd dictionary.
    Dictionary = 6,
    /// A manifest record.
    Manifest = 7,
    /// Blob file values.
    Blob = 8,
    /// Other metadata.
    Meta = 9,
}

impl BlockType {
    /// The type with on-disk tag `tag`.
    #[must_use]
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => Self::Data,
            2 => Self::Index,
            3 => Self::Filter,
            4 => Self::RangeTombstone,
            5 => Self::Properties,
            6 => Self::Dictionary,
            7 => Self::Manifest,
            8 => Self::Blob,
            9 => Self::Meta,
            _ => return None,
        })
    }
}

/// Where a block is: bound into its checksum and, when encrypted, its AAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockContext {
    /// The id of the file holding the block.
    pub file_id: FileId,
    /// The block's offset in that file.
    pub block_offset: u64,
}

impl BlockContext {
    /// The seed of this context's block checksums: XXH3-64 of file id and offset.
    #[must_use]
    pub fn checksum_seed(self) -> u64 {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&self.file_id.to_le_bytes());
        bytes[8..].copy_from_slice(&self.block_offset.to_le_bytes());
        xxh3_64(&bytes)
    }
}

/// How to write a block.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions<'a> {
    /// The compression to try; a block that does not shrink is stored uncompressed.
    pub compression: &'a Compression,
    /// The file's cipher, when the file is encrypted.
    pub cipher: Option<&'a FileCipher>,
}

/// What reading a block may need.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions<'a> {
    /// The dictionary blocks compressed with one need.
    pub dictionary: Option<&'a ZstdDictionary>,
    /// The file's cipher. When set, every block must be encrypted.
    pub cipher: Option<&'a FileCipher>,
}

/// The parsed fields of a block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// Block type tag.
    pub block_type: u8,
    /// Compression tag.
    pub compression: u8,
    /// Flag bits.
    pub flags: u8,
    /// Format version.
    pub format_version: u8,
    /// Bytes stored after the header.
    pub stored_len: u32,
    /// Length of the payload once decoded.
    pub uncompressed_len: u32,
    /// Dictionary id, or 0.
    pub dict_id: u32,
    /// Key check value, or 0.
    pub key_check: u32,
    /// The stored checksum.
    pub checksum: u64,
}

impl BlockHeader {
    /// Parses the header at the start of `bytes`, without checking anything.
    ///
    /// # Errors
    /// [`CorruptionKind::Truncated`] when fewer than [`HEADER_LEN`] bytes are given.
    pub fn decode_from(bytes: &[u8]) -> Result<Self, CorruptionKind> {
        let truncated = CorruptionKind::Truncated {
            needed: HEADER_LEN as u64,
            available: bytes.len() as u64,
        };
        let mut decoder = Decoder::new(bytes);
        let mut parse = || -> Result<Self, lsm_core::DecodeError> {
            Ok(Self {
                block_type: decoder.u8()?,
                compression: decoder.u8()?,
                flags: decoder.u8()?,
                format_version: decoder.u8()?,
                stored_len: decoder.u32()?,
                uncompressed_len: decoder.u32()?,
                dict_id: decoder.u32()?,
                key_check: decoder.u32()?,
                checksum: decoder.u64()?,
            })
        };
        parse().map_err(|_| truncated)
    }

    /// The block's whole on-disk length.
    #[must_use]
    pub fn block_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.stored_len)
    }

    fn encode_prefix(&self) -> [u8; HEADER_CHECKSUM_OFFSET] {
        let mut out = Vec::with_capacity(HEADER_CHECKSUM_OFFSET);
        out.extend_from_slice(&[
            self.block_type,
            self.compression,
            self.flags,
            self.format_version,
        ]);
        put_u32(&mut out, self.stored_len);
        put_u32(&mut out, self.uncompressed_len);
        put_u32(&mut out, self.dict_id);
        put_u32(&mut out, self.key_check);
        out.try_into()
            .expect("the header prefix has a fixed length")
    }

    fn aad(&self, context: BlockContext) -> [u8; AAD_LEN] {
        let prefix = self.encode_prefix();
        let mut aad = [0; AAD_LEN];
        aad[..HEADER_AAD_LEN].copy_from_slice(&prefix[..HEADER_AAD_LEN]);
        aad[HEADER_AAD_LEN..HEADER_AAD_LEN + 8].copy_from_slice(&context.file_id.to_le_bytes());
        aad[HEADER_AAD_LEN + 8..].copy_from_slice(&context.block_offset.to_le_bytes());
        aad
    }
}

/// Encodes `payload` as a block of `block_type` and appends it to `out`.
///
/// # Errors
/// [`Error::BlockTooLarge`] for payloads of 4 GiB or more; [`Error::Compress`] when zstd fails.
/// `out` is as before the call on an error.
pub fn encode_into(
    payload: &[u8],
    block_type: BlockType,
    options: EncodeOptions<'_>,
    context: BlockContext,
    out: &mut Vec<u8>,
) -> Result<()> {
    encode_parts_into(&[payload], block_type, options, context, out)
}

/// Encodes the concatenation of `parts` as one block of `block_type` and appends it to
/// `out`. Uncompressed, the parts are copied once, straight into `out`.
///
/// # Errors
/// As [`encode_into`].
pub fn encode_parts_into(
    parts: &[&[u8]],
    block_type: BlockType,
    options: EncodeOptions<'_>,
    context: BlockContext,
    out: &mut Vec<u8>,
) -> Result<()> {
    let compressed = compress_parts(parts, options.compression)?;
    seal_into(parts, &compressed, block_type, options.cipher, context, out)
}

/// A payload compressed ahead of its block (see [`compress`]): what
/// [`encode_compressed_into`] stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    /// The compressed bytes, or `None` when compression did not pay (or was not asked
    /// for) and the payload is stored as it is.
    stored: Option<Vec<u8>>,
    compression_tag: u8,
    dict_id: u32,
}

/// Compresses `payload` for a block, the part of encoding that needs no block context:
/// a writer may compress blocks on several threads and seal them in order with
/// [`encode_compressed_into`], which gives the bytes [`encode_into`] would.
///
/// # Errors
/// [`Error::Compress`] when zstd fails.
pub fn compress(payload: &[u8], compression: &Compression) -> Result<Compressed> {
    compress_parts(&[payload], compression)
}

fn compress_parts(parts: &[&[u8]], compression: &Compression) -> Result<Compressed> {
    let uncompressed = Compressed {
        stored: None,
        compression_tag: COMPRESSION_NONE,
        dict_id: 0,
    };
    if compression.tag() == COMPRESSION_NONE {
        return Ok(uncompressed);
    }
    let payload_len: usize = parts.iter().map(|part| part.len()).sum();
    // zstd takes its input in one piece and writes into a buffer of its own.
    let joined = match parts {
        [one] => Cow::Borrowed(*one),
        _ => Cow::Owned(parts.concat()),
    };
    let mut stored = Vec::new();
    compression::compress(compression, &joined, &mut stored)?;
    if stored.len() >= payload_len {
        // Compression did not pay; store the payload as is.
        return Ok(uncompressed);
    }
    Ok(Compressed {
        stored: Some(stored),
        compression_tag: compression.tag(),
        dict_id: compression.dict_id(),
    })
}

/// Encodes `payload`, compressed ahead as `compressed` ([`compress`] of the same
/// payload), as a block of `block_type`, and appends it to `out`: the same bytes as
/// [`encode_into`] with the compression `compressed` was made with.
///
/// # Errors
/// [`Error::BlockTooLarge`] for payloads of 4 GiB or more. `out` is as before the call on
/// an error.
pub fn encode_compressed_into(
    payload: &[u8],
    compressed: &Compressed,
    block_type: BlockType,
    cipher: Option<&FileCipher>,
    context: BlockContext,
    out: &mut Vec<u8>,
) -> Result<()> {
    seal_into(&[payload], compressed, block_type, cipher, context, out)
}

/// Appends the block of `parts` (stored as `compressed` says): header, stored bytes
/// (encrypted with `cipher`), checksum. Its lengths are checked before anything is
/// appended: `out` is as before the call on an error.
fn seal_into(
    parts: &[&[u8]],
    compressed: &Compressed,
    block_type: BlockType,
    cipher: Option<&FileCipher>,
    context: BlockContext,
    out: &mut Vec<u8>,
) -> Result<()> {
    let payload_len: usize = parts.iter().map(|part| part.len()).sum();
    let too_large = || Error::BlockTooLarge {
        len_bytes: payload_len,
    };
    let uncompressed_len = u32::try_from(payload_len).map_err(|_| too_large())?;
    let tag_len = if cipher.is_some() { GCM_TAG_LEN } else { 0 };
    let stored_bytes = compressed.stored.as_ref().map_or(payload_len, Vec::len);
    let stored_len = u32::try_from(stored_bytes + tag_len).map_err(|_| too_large())?;
    let start = out.len();
    let body = start + HEADER_LEN;
    // The header is written last, over these zeros, once the stored bytes are known.
    out.reserve(HEADER_LEN + stored_bytes + tag_len);
    out.resize(body, 0);
    match &compressed.stored {
        Some(stored) => out.extend_from_slice(stored),
        None => {
            for part in parts {
                out.extend_from_slice(part);
            }
        }
    }
    let compression_tag = compressed.compression_tag;

    let mut header = BlockHeader {
        block_type: block_type as u8,
        compression: compression_tag,
        flags: if cipher.is_some() { FLAG_ENCRYPTED } else { 0 },
        // The lowest version that reads the block (see `FORMAT_VERSION`).
        format_version: if compression_tag == COMPRESSION_LZ4 {
            FORMAT_VERSION_LZ4
        } else {
            1
        },
        stored_len,
        uncompressed_len,
        dict_id: compressed.dict_id,
        key_check: cipher.map_or(0, FileCipher::key_check),
        checksum: 0,
    };
    if let Some(cipher) = cipher {
        cipher.seal_from(&header.aad(context), context.block_offset, out, body);
    }
    let prefix = header.encode_prefix();
    let stored = out.get(body..).unwrap_or_default();
    header.checksum = checksum(&prefix, stored, context).into_raw();
    if let Some(slot) = out.get_mut(start..body) {
        let (prefix_slot, checksum_slot) = slot.split_at_mut(HEADER_CHECKSUM_OFFSET);
        prefix_slot.copy_from_slice(&prefix);
        checksum_slot.copy_from_slice(&header.checksum.to_le_bytes());
    }
    Ok(())
}

/// Encodes `payload` as a block into a new buffer.
///
/// # Errors
/// As [`encode_into`].
pub fn encode(
    payload: &[u8],
    block_type: BlockType,
    options: EncodeOptions<'_>,
    context: BlockContext,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(payload, block_type, options, context, &mut out)?;
    Ok(out)
}

/// Checks a whole block's length and checksum; returns its header. Used by integrity
/// walks, which check every block without decoding it.
///
/// # Errors
/// [`Error::Corruption`] when the length or the checksum is wrong.
pub fn verify(bytes: &[u8], context: BlockContext) -> Result<BlockHeader> {
    let corrupt = |kind| Error::corruption(context, kind);
    let header = BlockHeader::decode_from(bytes).map_err(corrupt)?;
    let available = bytes.len() as u64;
    if available < header.block_len() {
        return Err(corrupt(CorruptionKind::Truncated {
            needed: header.block_len(),
            available,
        }));
    }
    if available > header.block_len() {
        return Err(corrupt(CorruptionKind::TrailingBytes {
            extra: available - header.block_len(),
        }));
    }
    let stored = bytes.get(HEADER_LEN..).unwrap_or_default();
    let computed = checksum(&header.encode_prefix(), stored, context).into_raw();
    if computed != header.checksum {
        return Err(corrupt(CorruptionKind::ChecksumMismatch {
            stored: header.checksum,
            computed,
        }));
    }
    Ok(header)
}

/// Decodes a block of `expected` type; returns its payload.
///
/// An unencrypted, uncompressed payload is returned as a sub-slice of `bytes` (no copy).
///
/// # Errors
/// [`Error::Corruption`] for damaged or misplaced bytes; [`Error::UnsupportedFormatVersion`];
/// [`Error::DictionaryMissing`] / [`Error::DictionaryMismatch`]; [`Error::KeyRequired`] /
/// [`Error::WrongKey`] for encrypted blocks.
pub fn decode(
    bytes: &Slice,
    expected: BlockType,
    options: DecodeOptions<'_>,
    context: BlockContext,
) -> Result<Slice> {
    let header = verify(bytes, context)?;
    check_fields(&header, expected, context)?;
    let corrupt = |kind| Error::corruption(context, kind);
    let stored = bytes.slice(HEADER_LEN..);

    let plain = match (header.flags & FLAG_ENCRYPTED != 0, options.cipher) {
        (false, Some(_)) => return Err(corrupt(CorruptionKind::NotEncrypted)),
        (false, None) => stored,
        (true, None) => {
            return Err(Error::KeyRequired {
                file_id: context.file_id,
                block_offset: context.block_offset,
            });
        }
        (true, Some(cipher)) => {
            if header.key_check != cipher.key_check() {
                return Err(Error::WrongKey {
                    file_id: context.file_id,
                    block_offset: context.block_offset,
                });
            }
            let mut buffer = stored.to_vec();
            let plain_len = cipher
                .open(&header.aad(context), context.block_offset, &mut buffer)
                .ok_or_else(|| corrupt(CorruptionKind::AuthenticationFailed))?;
            buffer.truncate(plain_len);
            Slice::from(buffer)
        }
    };

    let declared = header.uncompressed_len as usize;
    match header.compression {
        COMPRESSION_NONE if plain.len() == declared => Ok(plain),
        COMPRESSION_NONE => Err(corrupt(CorruptionKind::LengthMismatch {
            declared: declared as u64,
            actual: plain.len() as u64,
        })),
        COMPRESSION_ZSTD => compression::decompress(&plain, None, declared).map_err(corrupt),
        COMPRESSION_LZ4 => compression::decompress_lz4(&plain, declared).map_err(corrupt),
        _ => {
            let dictionary = match options.dictionary {
                None => {
                    return Err(Error::DictionaryMissing {
                        dict_id: header.dict_id,
                    });
                }
                Some(dictionary) if dictionary.id() != header.dict_id => {
                    return Err(Error::DictionaryMismatch {
                        expected: header.dict_id,
                        found: dictionary.id(),
                    });
                }
                Some(dictionary) => dictionary,
            };
            compression::decompress(&plain, Some(dictionary), declared).map_err(corrupt)
        }
    }
}

/// Checks the header fields that the checksum cannot vouch for: a version this build
/// reads, the expected type, known flags and compression, and zero unused fields.
fn check_fields(header: &BlockHeader, expected: BlockType, context: BlockContext) -> Result<()> {
    let invalid = |field, value: u32| {
        Error::corruption(
            context,
            CorruptionKind::InvalidHeaderField {
                field,
                value: u64::from(value),
            },
        )
    };
    if header.format_version > FORMAT_VERSION {
        return Err(Error::UnsupportedFormatVersion {
            found: header.format_version,
            max: FORMAT_VERSION,
        });
    }
    if header.format_version == 0 {
        return Err(invalid("format version", 0));
    }
    if BlockType::from_tag(header.block_type).is_none() {
        return Err(invalid("block type", header.block_type.into()));
    }
    if header.block_type != expected as u8 {
        return Err(Error::corruption(
            context,
            CorruptionKind::UnexpectedBlockType {
                expected: expected as u8,
                found: header.block_type,
            },
        ));
    }
    if header.flags & !FLAGS_KNOWN != 0 {
        return Err(invalid("flags", header.flags.into()));
    }
    if header.flags & FLAG_ENCRYPTED == 0 && header.key_check != 0 {
        return Err(invalid("key check", header.key_check));
    }
    match header.compression {
        COMPRESSION_NONE | COMPRESSION_ZSTD | COMPRESSION_LZ4 if header.dict_id != 0 => {
            Err(invalid("dict id", header.dict_id))
        }
        COMPRESSION_LZ4 if header.format_version < FORMAT_VERSION_LZ4 => Err(invalid(
            "compression for the format version",
            COMPRESSION_LZ4.into(),
        )),
        COMPRESSION_NONE | COMPRESSION_ZSTD | COMPRESSION_ZSTD_DICT | COMPRESSION_LZ4 => Ok(()),
        other => Err(invalid("compression", other.into())),
    }
}

fn checksum(
    prefix: &[u8; HEADER_CHECKSUM_OFFSET],
    stored: &[u8],
    context: BlockContext,
) -> Checksum {
    let mut builder = lsm_core::checksum::ChecksumBuilder::with_seed(context.checksum_seed());
    builder.update(prefix);
    builder.update(stored);
    builder.finish()
}
