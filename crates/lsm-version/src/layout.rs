//! The manifest's file names, record framing and constants.
//!
//! ```text
//! current            magic "lsmcurr1" | generation u64 | xxh3-64 of the 16 bytes before
//! manifest-{gen}     record* ; record = len u32 | xxh3-64(payload) u64 | payload
//!                    the first record is a snapshot, then edits, each followed by
//!                    a commit record (tag 3 | the edit's offset u64) from version 2
//! manifest-{gen}     (encrypted) header, then record* whose payloads are sealed;
//!                    header = magic "lsmmenc1" | salt [16] | key check u32
//!                             | xxh3-64 of the 28 bytes before
//! ```

/// The pointer file naming the live manifest generation.
pub const CURRENT_FILE: &str = "current";
/// The pointer file being written, renamed over `current` once synced.
pub const CURRENT_TEMP_FILE: &str = "current.tmp";
/// Magic of the pointer file.
pub const CURRENT_MAGIC: [u8; 8] = *b"lsmcurr1";
/// Length of the pointer file.
pub const CURRENT_LEN: usize = 8 + 8 + 8;
/// Length of a record header: payload length (`u32`) and XXH3-64 of the payload.
pub const RECORD_HEADER_LEN: usize = 4 + 8;
/// Largest payload of one record.
pub const RECORD_LEN_MAX: u32 = 64 << 20;
/// Magic of an encrypted manifest file's header (a plaintext file starts with a record
/// length, which is never this large).
pub const ENCRYPTED_MAGIC: [u8; 8] = *b"lsmmenc1";
/// Length of an encrypted manifest file's header.
pub const ENCRYPTED_HEADER_LEN: usize = 8 + 16 + 4 + 8;
/// Salt kind of manifest files (tables and blob files use 0 and 1).
pub const MANIFEST_SALT_KIND: u8 = 2;
/// Record tag of a snapshot.
pub const RECORD_SNAPSHOT: u8 = 1;
/// Record tag of an edit.
pub const RECORD_EDIT: u8 = 2;
/// Record tag of a commit: the edit before it is whole (format version 2 on).
pub const RECORD_COMMIT: u8 = 3;
/// Length of a commit record's payload: its tag and the offset of the edit it commits.
pub const COMMIT_PAYLOAD_LEN: usize = 1 + 8;
/// Manifest format version (first byte after the tag of a snapshot).
pub const MANIFEST_FORMAT_VERSION: u8 = 6;
/// The first format version whose table records end with the global seqno of an
/// ingested table (a varint: 0 for none, else the seqno plus one).
pub const FIRST_VERSION_WITH_GLOBAL_SEQNOS: u8 = 6;
/// The first format version whose table and blob file records end with the whole
/// file's XXH3-64 (`u64`, 0 when not recorded).
pub const FIRST_VERSION_WITH_DIGESTS: u8 = 4;
/// The first format version whose snapshots and edits record the GC watermark (a varint
/// after everything else: 0 for unknown or unchanged, else the watermark plus one).
pub const FIRST_VERSION_WITH_GC_WATERMARK: u8 = 5;
/// The first format version whose snapshot names the key order (right after the
/// version byte); older snapshots are of the lexicographic order.
pub const FIRST_VERSION_WITH_ORDER: u8 = 3;
/// The longest key order name a snapshot holds.
pub const ORDER_NAME_LEN_MAX: usize = 256;
/// The first format version whose edits are each followed by a commit record.
pub const FIRST_VERSION_WITH_COMMITS: u8 = 2;
/// Most levels a version may have.
pub const LEVEL_COUNT_MAX: usize = 64;

/// The file name of manifest generation `generation`.
#[must_use]
pub fn manifest_file_name(generation: u64) -> String {
    format!("manifest-{generation}")
}

/// The generation of a manifest file name, if it is one.
#[must_use]
pub fn parse_manifest_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("manifest-")?.parse().ok()
}

const _: () = assert!(CURRENT_LEN == 24);
const _: () = assert!(RECORD_HEADER_LEN == 12);
const _: () = assert!(ENCRYPTED_HEADER_LEN == 36);
