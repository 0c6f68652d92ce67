//! The log segment's fixed parts.
//!
//! ```text
//! segment: header (32 bytes) | frame*
//! header:  magic "lsmwal01" | version u8 | reserved [7] (zero) | segment id u64
//!          | xxh3-64 of bytes 0..24
//! frame:   checksum u64 | payload length u32 | synced length u32 | payload
//!          synced length: how many bytes of the segment were synced when the frame
//!          was written; checksum: xxh3-64 of the payload, seeded with the xxh3-64 of
//!          the two lengths seeded with the segment id
//! payload: a batch: seqno u64 | entry count varint | entry*
//! entry:   keyspace varint | op u8 | key length varint | key
//!          | (insert, merge, range delete) value length varint | value
//!          op: 0 insert, 1 delete, 2 weak delete, 3 merge operand,
//!              4 range delete (key: start, value: end)
//! ```
//!
//! Integers are little-endian; varints are LEB128. A frame's checksum is seeded with
//! its segment's id, so that the records of a file reused under another id never read
//! as records of the new one. The synced length tells recovery whether damage in the
//! last segment lies in bytes a sync had covered (a later frame says so: damage) or in
//! bytes no sync had reached (a crash left them unwritten or out of order: a torn tail).

/// The file beside the segments of an encrypted log: its salt and key check.
pub const KEY_FILE: &str = "KEY";
/// The key file's first bytes.
pub const KEY_MAGIC: [u8; 8] = *b"lsmwalky";
/// Length of the key file: magic, salt (16), key check u32, xxh3-64 of what precedes.
pub const KEY_FILE_LEN: usize = 8 + 16 + 4 + 8;
/// The kind byte of the log's salt among the files an encrypted tree salts.
pub const SALT_KIND: u8 = 0x57;

/// The header's first bytes.
pub const HEADER_MAGIC: [u8; 8] = *b"lsmwal01";
/// The format version this build writes and the newest it reads.
pub const WAL_FORMAT_VERSION: u8 = 1;
/// Length of the segment header.
pub const HEADER_LEN: usize = 32;
/// Length of a frame's header (checksum, payload length, synced length).
pub const FRAME_HEADER_LEN: usize = 16;
/// Most bytes a segment may grow to (its lengths are 32-bit); a segment is closed well
/// before, at its target size.
pub const SEGMENT_LEN_MAX: u64 = u32::MAX as u64;
/// Most bytes a segment's target size may be (so that one more frame of
/// [`PAYLOAD_LEN_MAX`] stays below [`SEGMENT_LEN_MAX`]).
pub const SEGMENT_TARGET_MAX: u64 = 1 << 31;
/// Most bytes one frame's payload may hold.
pub const PAYLOAD_LEN_MAX: usize = 1 << 30;
/// The smallest payload: a seqno and an entry count.
pub const PAYLOAD_LEN_MIN: usize = 9;

/// Entry op: insert `key` = `value`.
pub const OP_INSERT: u8 = 0;
/// Entry op: delete `key`.
pub const OP_REMOVE: u8 = 1;
/// Entry op: weak delete of `key` (cancels one older version).
pub const OP_REMOVE_WEAK: u8 = 2;
/// Entry op: merge operand `value` for `key`.
pub const OP_MERGE: u8 = 3;
/// Entry op: delete every key from `key` (inclusive) to `value` (exclusive).
pub const OP_REMOVE_RANGE: u8 = 4;

const _: () = assert!(8 + 1 + 7 + 8 + 8 == HEADER_LEN);
const _: () = assert!(8 + 4 + 4 == FRAME_HEADER_LEN);
const _: () =
    assert!(SEGMENT_TARGET_MAX + (FRAME_HEADER_LEN + PAYLOAD_LEN_MAX) as u64 <= SEGMENT_LEN_MAX);
