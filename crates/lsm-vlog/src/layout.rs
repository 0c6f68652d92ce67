//! The blob file's fixed parts.
//!
//! ```text
//! header (48 bytes) | frame* | dictionary? | footer (48 bytes)
//! header: magic "lsmblob1" | version u8 | flags u8 | reserved u16 | key check u32
//!         | salt [16] | file id u64 | xxh3-64 of bytes 0..40
//! frame:  a block envelope of type Blob; payload = key length varint | key
//!         | seqno varint | value
//! dictionary: (version 2 on, when the file trained one) a block envelope of type
//!         Dictionary holding a raw zstd dictionary; its length is what lies between
//!         the frames and the footer
//! footer: frame count u64 | frame bytes u64 | value bytes u64 | xxh3-64 of all frames
//!         | magic "lsmblobE" | xxh3-64 of bytes 0..40 of the footer
//! ```

/// The header's first bytes.
pub const HEADER_MAGIC: [u8; 8] = *b"lsmblob1";
/// The footer's magic.
pub const FOOTER_MAGIC: [u8; 8] = *b"lsmblobE";
/// The format version this build writes and the newest it reads.
pub const BLOB_FORMAT_VERSION: u8 = 2;
/// The first format version that may hold a dictionary between frames and footer.
pub const FIRST_VERSION_WITH_DICTIONARY: u8 = 2;
/// Most bytes a stored dictionary block may occupy.
pub const DICTIONARY_BLOCK_LEN_MAX: u64 = 1 << 20;
/// Length of the header.
pub const HEADER_LEN: usize = 48;
/// Length of the footer.
pub const FOOTER_LEN: usize = 48;
/// Header flag: every frame is encrypted.
pub const FLAG_ENCRYPTED: u8 = 0b0000_0001;
/// Every header flag this version knows.
pub const FLAGS_KNOWN: u8 = FLAG_ENCRYPTED;
/// Most bytes one frame may occupy (values are below 4 GiB).
pub const FRAME_LEN_MAX: u64 = (u32::MAX as u64) + (1 << 20);

const _: () = assert!(8 + 1 + 1 + 2 + 4 + 16 + 8 + 8 == HEADER_LEN);
const _: () = assert!(8 * 4 + 8 + 8 == FOOTER_LEN);
