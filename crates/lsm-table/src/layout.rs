//! The table file's fixed parts: the footer and the property tags.
//!
//! ```text
//! data blocks | index partitions | top-level index | filter | range tombstones
//! | dictionary | properties | footer (64 bytes)
//! ```
//!
//! Every section but the footer is a block in the `lsm-codec` envelope. The footer is
//! plaintext and names the properties block, which names everything else.
#![deny(clippy::indexing_slicing)]

/// The footer's first bytes.
pub const FOOTER_MAGIC: [u8; 8] = *b"lsmtable";
/// The newest table format version this build reads (and writes for keys in a custom
/// order).
pub const TABLE_FORMAT_VERSION: u8 = 2;
/// The format version of tables of lexicographically ordered keys (their layout did not
/// change with version 2).
pub const TABLE_FORMAT_VERSION_LEXICOGRAPHIC: u8 = 1;
/// Length of the footer.
pub const FOOTER_LEN: usize = 64;
/// Footer offset of the format version.
pub const FOOTER_VERSION_OFFSET: usize = 8;
/// Footer offset of the flags.
pub const FOOTER_FLAGS_OFFSET: usize = 9;
/// Footer offset of the key check value (`u32`; 0 unless encrypted).
pub const FOOTER_KEY_CHECK_OFFSET: usize = 12;
/// Footer offset of the per-file encryption salt (16 bytes; zero unless encrypted).
pub const FOOTER_SALT_OFFSET: usize = 16;
/// Footer offset of the properties block's offset (`u64`).
pub const FOOTER_PROPERTIES_OFFSET: usize = 32;
/// Footer offset of the properties block's length (`u64`).
pub const FOOTER_PROPERTIES_LEN_OFFSET: usize = 40;
/// Footer offset of the file id the table was written as (`u64`).
pub const FOOTER_FILE_ID_OFFSET: usize = 48;
/// Footer offset of the footer checksum: XXH3-64 of bytes `0..56`.
pub const FOOTER_CHECKSUM_OFFSET: usize = 56;
/// Footer flag: every block is encrypted.
pub const FOOTER_FLAG_ENCRYPTED: u8 = 0b0000_0001;
/// Every footer flag this version knows.
pub const FOOTER_FLAGS_KNOWN: u8 = FOOTER_FLAG_ENCRYPTED;

/// Most bytes a table's properties block may decode to.
pub const PROPERTIES_LEN_MAX: u64 = 1 << 20;
/// Most bytes one block may occupy on disk (values are below 4 GiB).
pub const BLOCK_LEN_MAX: u64 = (u32::MAX as u64) + 4096;

const _: () = assert!(FOOTER_CHECKSUM_OFFSET + 8 == FOOTER_LEN);
const _: () = assert!(FOOTER_SALT_OFFSET + lsm_codec::FILE_SALT_LEN == FOOTER_PROPERTIES_OFFSET);
const _: () = assert!(FOOTER_KEY_CHECK_OFFSET + 4 == FOOTER_SALT_OFFSET);
const _: () = assert!(FOOTER_PROPERTIES_LEN_OFFSET + 8 == FOOTER_FILE_ID_OFFSET);

/// Property tags (varint tag, varint length, value). Readers skip unknown tags, so new
/// properties need no version bump; a changed meaning does.
pub mod tag {
    /// Handle of the top-level index block (two varints).
    pub const INDEX_HANDLE: u64 = 1;
    /// Whether the index is partitioned (u8).
    pub const INDEX_PARTITIONED: u64 = 2;
    /// Handle of the filter block.
    pub const FILTER_HANDLE: u64 = 3;
    /// Handle of the range-tombstone block.
    pub const RANGE_TOMBSTONE_HANDLE: u64 = 4;
    /// Handle of the dictionary block.
    pub const DICTIONARY_HANDLE: u64 = 5;
    /// Smallest user key.
    pub const KEY_MIN: u64 = 10;
    /// Largest user key.
    pub const KEY_MAX: u64 = 11;
    /// Smallest seqno (varint).
    pub const SEQNO_MIN: u64 = 12;
    /// Largest seqno (varint).
    pub const SEQNO_MAX: u64 = 13;
    /// Entries (varint).
    pub const ENTRY_COUNT: u64 = 14;
    /// Tombstones (varint).
    pub const TOMBSTONE_COUNT: u64 = 15;
    /// Weak tombstones (varint).
    pub const WEAK_TOMBSTONE_COUNT: u64 = 16;
    /// Merge operands (varint).
    pub const MERGE_OPERAND_COUNT: u64 = 17;
    /// Blob indirections (varint).
    pub const INDIRECTION_COUNT: u64 = 18;
    /// Distinct user keys (varint).
    pub const USER_KEY_COUNT: u64 = 19;
    /// Data blocks (varint).
    pub const DATA_BLOCK_COUNT: u64 = 20;
    /// Index blocks, partitions and top level (varint).
    pub const INDEX_BLOCK_COUNT: u64 = 21;
    /// Uncompressed bytes of data blocks (varint).
    pub const DATA_BYTES_RAW: u64 = 22;
    /// On-disk bytes of data blocks (varint).
    pub const DATA_BYTES_STORED: u64 = 23;
    /// On-disk bytes of index blocks (varint).
    pub const INDEX_BYTES_STORED: u64 = 24;
    /// On-disk bytes of the filter block (varint).
    pub const FILTER_BYTES_STORED: u64 = 25;
    /// Sum of user key lengths (varint).
    pub const KEY_BYTES: u64 = 26;
    /// Sum of value lengths (varint).
    pub const VALUE_BYTES: u64 = 27;
    /// Compression of data blocks (display text).
    pub const DATA_COMPRESSION: u64 = 28;
    /// Compression of index blocks (display text).
    pub const INDEX_COMPRESSION: u64 = 29;
    /// Creation time, milliseconds since the Unix epoch, as given by the writer's caller.
    pub const CREATED_AT_MS: u64 = 30;
    /// Designed filter bits per key, times 1000 (varint).
    pub const FILTER_BITS_MILLI: u64 = 31;
    /// Whether the filter also holds key prefixes (u8).
    pub const FILTER_HAS_PREFIXES: u64 = 32;
    /// Name of the prefix extractor.
    pub const PREFIX_EXTRACTOR: u64 = 33;
    /// Target data block size (varint).
    pub const BLOCK_SIZE: u64 = 34;
    /// Restart interval of data blocks (varint).
    pub const RESTART_INTERVAL: u64 = 35;
    /// Zstd dictionary id (varint; absent without a dictionary).
    pub const DICTIONARY_ID: u64 = 36;
    /// Range tombstones (varint).
    pub const RANGE_TOMBSTONE_COUNT: u64 = 37;
    /// Whether the filter is partitioned under a filter index (u8).
    pub const FILTER_PARTITIONED: u64 = 38;
    /// Name of the key order, when it is not the lexicographic one (text).
    pub const COMPARATOR: u64 = 39;
    /// Ids of the tables the merge that wrote this one replaces (varints, ascending;
    /// absent: none).
    pub const REPLACES: u64 = 40;
    /// Ids of tables removed from the tree before this one was written whose files
    /// were not deleted yet (varints, ascending; absent: none).
    pub const OBSOLETE: u64 = 41;
    /// Block handle of the per-block seqno bounds (absent: none written).
    pub const SEQNO_BOUNDS_HANDLE: u64 = 42;
    /// Written by a bulk ingestion (u8 1; absent: not): every entry is stored at seqno 0
    /// and reads at the one seqno the caller records for the table when it registers it.
    pub const INGESTED: u64 = 43;
    /// Block handle of the block locator (absent: none written; see `locator.rs`).
    pub const LOCATOR_HANDLE: u64 = 44;
}
