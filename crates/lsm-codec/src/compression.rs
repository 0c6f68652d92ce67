//! Block compression: none, LZ4, zstd, and zstd with a trained dictionary.
//!
//! Compression contexts are costly to create (hundreds of KiB), so each thread keeps one
//! compression and one decompression context and reuses it for every block. A
//! dictionary is digested once into zstd's prepared forms: the decoding form when the
//! [`ZstdDictionary`] is made, the encoding form (which depends on the level) when a
//! [`Compression`] is made from it.
//!
//! Decompression never allocates more than the length the block's header declares, and
//! a frame that decodes to any other length is rejected.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use lsm_core::Slice;
use xxhash_rust::xxh3::xxh3_64;
use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

use crate::error::CorruptionKind;
use crate::layout::{COMPRESSION_LZ4, COMPRESSION_NONE, COMPRESSION_ZSTD, COMPRESSION_ZSTD_DICT};
use crate::{Error, Result};

/// How a block's payload is compressed.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Stored as is.
    #[default]
    None,
    /// One LZ4 block: fast to write and read, smaller gains than zstd.
    Lz4,
    /// One zstd frame at this level.
    Zstd {
        /// zstd level; negative levels trade ratio for speed.
        level: i32,
    },
    /// One zstd frame made with a dictionary.
    ZstdDict(Arc<DictEncoder>),
}

/// A dictionary prepared for compression at one level.
pub struct DictEncoder {
    level: i32,
    dictionary: ZstdDictionary,
    prepared: CDict<'static>,
}

impl Compression {
    /// zstd at `level`.
    ///
    /// # Panics
    /// When `level` is outside zstd's range (about -131072..=22).
    #[must_use]
    pub fn zstd(level: i32) -> Self {
        assert_level(level);
        Self::Zstd { level }
    }

    /// zstd at `level` with `dictionary`.
    ///
    /// # Panics
    /// When `level` is outside zstd's range, or zstd cannot allocate the prepared dictionary.
    #[must_use]
    pub fn zstd_dict(level: i32, dictionary: &ZstdDictionary) -> Self {
        assert_level(level);
        let prepared = CDict::try_create(dictionary.raw(), level)
            .expect("zstd only fails to prepare a dictionary when out of memory");
        Self::ZstdDict(Arc::new(DictEncoder {
            level,
            dictionary: dictionary.clone(),
            prepared,
        }))
    }

    /// The header's compression tag.
    #[must_use]
    pub fn tag(&self) -> u8 {
        match self {
            Self::None => COMPRESSION_NONE,
            Self::Lz4 => COMPRESSION_LZ4,
            Self::Zstd { .. } => COMPRESSION_ZSTD,
            Self::ZstdDict(_) => COMPRESSION_ZSTD_DICT,
        }
    }

    /// The dictionary's id, or 0.
    #[must_use]
    pub fn dict_id(&self) -> u32 {
        match self {
            Self::ZstdDict(encoder) => encoder.dictionary.id(),
            Self::None | Self::Lz4 | Self::Zstd { .. } => 0,
        }
    }

    /// The dictionary, if any.
    #[must_use]
    pub fn dictionary(&self) -> Option<&ZstdDictionary> {
        match self {
            Self::ZstdDict(encoder) => Some(&encoder.dictionary),
            Self::None | Self::Lz4 | Self::Zstd { .. } => None,
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Lz4 => f.write_str("lz4"),
            Self::Zstd { level } => write!(f, "zstd({level})"),
            Self::ZstdDict(encoder) => write!(
                f,
                "zstd+dict({}, {:#010x})",
                encoder.level,
                encoder.dictionary.id()
            ),
        }
    }
}

impl fmt::Debug for DictEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DictEncoder")
            .field("level", &self.level)
            .field("dict_id", &self.dictionary.id())
            .finish_non_exhaustive()
    }
}

fn assert_level(level: i32) {
    let range = zstd_safe::min_c_level()..=zstd_safe::max_c_level();
    assert!(
        range.contains(&level),
        "zstd level {level} outside {range:?}"
    );
}

/// A zstd dictionary, identified by the low 32 bits of the XXH3-64 of its bytes.
/// Clones share the bytes and the prepared decoder.
#[derive(Clone)]
pub struct ZstdDictionary(Arc<DictionaryInner>);

struct DictionaryInner {
    raw: Vec<u8>,
    id: u32,
    decoder: DDict<'static>,
}

impl ZstdDictionary {
    /// A dictionary from its bytes: a trained dictionary or any raw content.
    ///
    /// # Panics
    /// When zstd cannot allocate the prepared decoder (out of memory).
    #[must_use]
    pub fn new(raw: &[u8]) -> Self {
        let decoder = DDict::try_create(raw)
            .expect("zstd only fails to prepare a dictionary when out of memory");
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the id is the hash's low 32 bits"
        )]
        let id = xxh3_64(raw) as u32;
        Self(Arc::new(DictionaryInner {
            raw: raw.to_vec(),
            id,
            decoder,
        }))
    }

    /// The id stored in blocks compressed with this dictionary.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.0.id
    }

    /// The dictionary's bytes.
    #[must_use]
    pub fn raw(&self) -> &[u8] {
        &self.0.raw
    }
}

impl fmt::Debug for ZstdDictionary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZstdDictionary")
            .field("id", &format_args!("{:#010x}", self.id()))
            .field("len_bytes", &self.raw().len())
            .finish()
    }
}

impl PartialEq for ZstdDictionary {
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw()
    }
}

impl Eq for ZstdDictionary {}

/// How a file trains a zstd dictionary from its own first payloads (a table from its
/// data blocks, a blob file from its values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DictionaryTraining {
    /// zstd level of what the dictionary compresses.
    pub level: i32,
    /// Largest dictionary to train.
    pub dictionary_bytes: usize,
    /// Uncompressed bytes to sample before training.
    pub sample_bytes: usize,
}

impl Default for DictionaryTraining {
    fn default() -> Self {
        Self {
            level: 3,
            dictionary_bytes: 16 * 1024,
            sample_bytes: 1 << 20,
        }
    }
}

/// Trains a dictionary of at most `max_len_bytes` from sample payloads (for instance the
/// uncompressed data blocks of a table being written).
///
/// # Errors
/// [`Error::DictionaryTraining`] when zstd cannot train on the samples (too few, or too small).
pub fn train_dictionary<S: AsRef<[u8]>>(
    samples: &[S],
    max_len_bytes: usize,
) -> Result<ZstdDictionary> {
    let raw =
        zstd::dict::from_samples(samples, max_len_bytes).map_err(Error::DictionaryTraining)?;
    Ok(ZstdDictionary::new(&raw))
}

thread_local! {
    static COMPRESSOR: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DECOMPRESSOR: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// Compresses `input` into `out` (cleared first). `Compression::None` copies.
pub(crate) fn compress(compression: &Compression, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    match compression {
        Compression::None => {
            out.extend_from_slice(input);
            return Ok(());
        }
        Compression::Lz4 => {
            out.resize(lz4_flex::block::get_maximum_output_size(input.len()), 0);
            let written =
                lz4_flex::block::compress_into(input, out).map_err(|_| Error::Compress {
                    reason: "lz4 output buffer too small",
                })?;
            out.truncate(written);
            return Ok(());
        }
        Compression::Zstd { .. } | Compression::ZstdDict(_) => {}
    }
    out.reserve(zstd_safe::compress_bound(input.len()));
    COMPRESSOR
        .with(|cell| {
            let mut context = cell.borrow_mut();
            match compression {
                Compression::Zstd { level } => context.compress(out, input, *level),
                Compression::ZstdDict(encoder) => {
                    context.compress_using_cdict(out, input, &encoder.prepared)
                }
                Compression::None | Compression::Lz4 => Ok(0),
            }
        })
        .map_err(|code| Error::Compress {
            reason: zstd_safe::get_error_name(code),
        })?;
    Ok(())
}

/// Decompresses a zstd frame that must decode to exactly `declared_len` bytes.
pub(crate) fn decompress(
    input: &[u8],
    dictionary: Option<&ZstdDictionary>,
    declared_len: usize,
) -> Result<Slice, CorruptionKind> {
    // zstd writes straight into the shared buffer a block is handed out in, and stops
    // with an error rather than write past `declared_len`.
    fill_exactly(declared_len, |out| {
        DECOMPRESSOR
            .with(|cell| {
                let mut context = cell.borrow_mut();
                match dictionary {
                    Some(dictionary) => {
                        context.decompress_using_ddict(out, input, &dictionary.0.decoder)
                    }
                    None => context.decompress(out, input),
                }
            })
            .map_err(|code| CorruptionKind::Decompress {
                reason: zstd_safe::get_error_name(code),
            })
    })
}

/// Decompresses an LZ4 block that must decode to exactly `declared_len` bytes.
pub(crate) fn decompress_lz4(input: &[u8], declared_len: usize) -> Result<Slice, CorruptionKind> {
    fill_exactly(declared_len, |out| {
        lz4_flex::block::decompress_into(input, out).map_err(|_| CorruptionKind::Decompress {
            reason: "malformed lz4 block, or longer than declared",
        })
    })
}

/// A buffer of `declared_len` bytes filled by `decode`, which returns the length it
/// decoded: any other length than declared is corrupt.
fn fill_exactly(
    declared_len: usize,
    decode: impl FnOnce(&mut [u8]) -> Result<usize, CorruptionKind>,
) -> Result<Slice, CorruptionKind> {
    Slice::filled_by(declared_len, |out| {
        let decoded_len = decode(out)?;
        if decoded_len == declared_len {
            Ok(())
        } else {
            Err(CorruptionKind::LengthMismatch {
                declared: declared_len as u64,
                actual: decoded_len as u64,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_round_trips_and_caps_output() {
        let input = b"abcabcabcabcabcabcabcabcabcabcabcabc".repeat(10);
        let mut compressed = Vec::new();
        compress(&Compression::zstd(3), &input, &mut compressed).unwrap();
        assert!(compressed.len() < input.len());
        assert_eq!(
            decompress(&compressed, None, input.len()).unwrap().as_ref(),
            input.as_slice()
        );
        // A frame longer than declared is rejected without growing the buffer.
        assert!(decompress(&compressed, None, input.len() - 1).is_err());
        assert!(matches!(
            decompress(&compressed, None, input.len() + 1),
            Err(CorruptionKind::LengthMismatch { .. })
        ));
    }

    #[test]
    fn lz4_round_trips_and_rejects_other_lengths_and_garbage() {
        let input = b"abcabcabcabcabcabcabcabcabcabcabcabc".repeat(10);
        let mut compressed = Vec::new();
        compress(&Compression::Lz4, &input, &mut compressed).unwrap();
        assert!(compressed.len() < input.len());
        assert_eq!(
            decompress_lz4(&compressed, input.len()).unwrap().as_ref(),
            input.as_slice()
        );
        assert!(decompress_lz4(&compressed, input.len() - 1).is_err());
        assert!(matches!(
            decompress_lz4(&compressed, input.len() + 1),
            Err(CorruptionKind::LengthMismatch { .. })
        ));
        // Every truncation and every flipped byte is an error or the exact input,
        // never a panic.
        for cut in 0..compressed.len() {
            let _ = decompress_lz4(&compressed[..cut], input.len());
        }
        for at in 0..compressed.len() {
            let mut damaged = compressed.clone();
            damaged[at] ^= 0x5a;
            if let Ok(decoded) = decompress_lz4(&damaged, input.len()) {
                assert_eq!(decoded.len(), input.len());
            }
        }
        assert_eq!(Compression::Lz4.tag(), COMPRESSION_LZ4);
        assert_eq!(format!("{}", Compression::Lz4), "lz4");
    }

    #[test]
    fn dictionary_ids_are_stable() {
        let dictionary = ZstdDictionary::new(b"some dictionary content");
        assert_eq!(dictionary, ZstdDictionary::new(b"some dictionary content"));
        assert_ne!(dictionary.id(), ZstdDictionary::new(b"other").id());
        let compression = Compression::zstd_dict(3, &dictionary);
        assert_eq!(compression.dict_id(), dictionary.id());
        assert_eq!(compression.tag(), COMPRESSION_ZSTD_DICT);
        assert_eq!(format!("{}", Compression::zstd(1)), "zstd(1)");
    }
}
