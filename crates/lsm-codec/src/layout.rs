//! Every offset, length and tag of the block format, in one place.
//!
//! `docs/format/block.md` is the prose form of this file. Changing anything here is a
//! format change: bump [`FORMAT_VERSION`], update the doc and add fixtures.

/// Highest version of the block format this crate reads (`1..=FORMAT_VERSION`). A block
/// is written with the lowest version that can read it: 2 for LZ4, 1 otherwise, so that
/// what older readers could read stays readable to them.
pub const FORMAT_VERSION: u8 = 2;
/// The version that introduced LZ4 compression.
pub const FORMAT_VERSION_LZ4: u8 = 2;

// --- Envelope header --------------------------------------------------------------------

/// Offset of the block-type byte.
pub const HEADER_TYPE_OFFSET: usize = 0;
/// Offset of the compression tag.
pub const HEADER_COMPRESSION_OFFSET: usize = 1;
/// Offset of the flags byte.
pub const HEADER_FLAGS_OFFSET: usize = 2;
/// Offset of the format-version byte.
pub const HEADER_VERSION_OFFSET: usize = 3;
/// Offset of the stored (on-disk payload) length, `u32`.
pub const HEADER_STORED_LEN_OFFSET: usize = 4;
/// Offset of the uncompressed payload length, `u32`.
pub const HEADER_UNCOMPRESSED_LEN_OFFSET: usize = 8;
/// Offset of the dictionary id, `u32` (0 unless the compression is zstd with a dictionary).
pub const HEADER_DICT_ID_OFFSET: usize = 12;
/// Offset of the key check value, `u32` (0 unless encrypted).
pub const HEADER_KEY_CHECK_OFFSET: usize = 16;
/// Offset of the checksum, `u64`: XXH3-64 over the header before it and the stored payload,
/// seeded with the block's context.
pub const HEADER_CHECKSUM_OFFSET: usize = 20;
/// Length of the header.
pub const HEADER_LEN: usize = HEADER_CHECKSUM_OFFSET + 8;
/// The header bytes that AES-GCM authenticates as associated data (type through dict id).
pub const HEADER_AAD_LEN: usize = HEADER_KEY_CHECK_OFFSET;

/// Flags bit: the payload is encrypted.
pub const FLAG_ENCRYPTED: u8 = 0b0000_0001;
/// Every flag bit this version knows; others must be zero.
pub const FLAGS_KNOWN: u8 = FLAG_ENCRYPTED;

/// Compression tag: stored as is.
pub const COMPRESSION_NONE: u8 = 0;
/// Compression tag: one zstd frame.
pub const COMPRESSION_ZSTD: u8 = 1;
/// Compression tag: one zstd frame made with the dictionary named by the dict id.
pub const COMPRESSION_ZSTD_DICT: u8 = 2;
/// Compression tag: one LZ4 block (format version 2 and later).
pub const COMPRESSION_LZ4: u8 = 3;

/// Length of the AES-GCM authentication tag appended to an encrypted payload.
pub const GCM_TAG_LEN: usize = 16;
/// Length of the AES-GCM nonce.
pub const GCM_NONCE_LEN: usize = 12;
/// Length of the associated data: header prefix, file id (`u64`), block offset (`u64`).
pub const AAD_LEN: usize = HEADER_AAD_LEN + 8 + 8;

// --- Data and index blocks ---------------------------------------------------------------

/// Length of the fixed block trailer: restart count (`u32`) and flags (`u8`).
pub const BLOCK_TRAILER_LEN: usize = 4 + 1;
/// Length of one restart offset (`u32`).
pub const RESTART_OFFSET_LEN: usize = 4;
/// Block trailer flag: a hash index sits before the trailer.
pub const BLOCK_FLAG_HASH_INDEX: u8 = 0b0000_0001;
/// Every block-trailer flag bit this version knows.
pub const BLOCK_FLAGS_KNOWN: u8 = BLOCK_FLAG_HASH_INDEX;
/// Length of the hash index's bucket count (`u16`).
pub const HASH_BUCKET_COUNT_LEN: usize = 2;
/// Hash bucket value: no key of the block hashes here.
pub const HASH_BUCKET_EMPTY: u8 = 255;
/// Hash bucket value: keys of several restart intervals hash here.
pub const HASH_BUCKET_COLLISION: u8 = 254;
/// Most restart intervals a block may have and still carry a hash index.
pub const HASH_RESTART_COUNT_MAX: usize = 254;
/// Most hash buckets a block may carry.
pub const HASH_BUCKET_COUNT_MAX: usize = u16::MAX as usize;
/// Seed of the in-block hash of user keys.
pub const HASH_INDEX_SEED: u64 = 0x6c73_6d2d_6861_7368;

/// Smallest length of a data or index block with at least one entry: a restart offset and
/// the trailer (the entry itself takes more).
pub const BLOCK_LEN_MIN: usize = RESTART_OFFSET_LEN + BLOCK_TRAILER_LEN;
/// Restart interval used when the caller does not choose.
pub const RESTART_INTERVAL_DEFAULT: usize = 16;
/// Largest restart interval a builder accepts.
pub const RESTART_INTERVAL_MAX: usize = 1024;

const _: () = assert!(HEADER_LEN == 28);
const _: () = assert!(HEADER_AAD_LEN == 16);
const _: () = assert!(AAD_LEN == 32);
const _: () = assert!(HEADER_STORED_LEN_OFFSET + 4 == HEADER_UNCOMPRESSED_LEN_OFFSET);
const _: () = assert!(HEADER_UNCOMPRESSED_LEN_OFFSET + 4 == HEADER_DICT_ID_OFFSET);
const _: () = assert!(HEADER_DICT_ID_OFFSET + 4 == HEADER_KEY_CHECK_OFFSET);
const _: () = assert!(HEADER_KEY_CHECK_OFFSET + 4 == HEADER_CHECKSUM_OFFSET);
const _: () = assert!(HASH_RESTART_COUNT_MAX <= HASH_BUCKET_COLLISION as usize);
const _: () = assert!(HASH_BUCKET_COLLISION < HASH_BUCKET_EMPTY);
const _: () = assert!(GCM_NONCE_LEN == 8 + 4);
