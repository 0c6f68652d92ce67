//! How the adapter lays its records out in the two keyspaces, and the snapshot stream.
//!
//! The log keyspace holds entries under `e` + the big-endian index (so key order is
//! index order and a truncation or purge is one range delete), and three single records:
//! `v` (the vote), `c` (the committed log id) and `p` (the last purged log id). The
//! state machine's keyspace holds `a` (the last applied log id and membership, written in
//! the same batch as the entries it covers) and the user's keys under `d`. Values are
//! `postcard` encodings of openraft's own serde types.

use serde::Serialize;
use serde::de::DeserializeOwned;
use xxhash_rust::xxh3::Xxh3;

/// The vote's key in the log keyspace.
pub const VOTE: &[u8] = b"v";
/// The committed log id's key in the log keyspace.
pub const COMMITTED: &[u8] = b"c";
/// The last purged log id's key in the log keyspace.
pub const PURGED: &[u8] = b"p";
/// The last applied log id and membership's key in the state machine's keyspace.
pub const APPLIED: &[u8] = b"a";

const ENTRY_TAG: u8 = b'e';
const DATA_TAG: u8 = b'd';

/// The key of the log entry at `index`.
#[expect(clippy::big_endian_bytes, reason = "entry keys sort in index order")]
pub fn entry_key(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(ENTRY_TAG);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The first key after every entry key of `index` and below: the exclusive end of a
/// purge up to `index`, without overflow at `u64::MAX`.
pub fn entry_key_after(index: u64) -> Vec<u8> {
    let mut key = entry_key(index);
    key.push(0);
    key
}

/// The exclusive end of every entry key.
pub fn entries_end() -> Vec<u8> {
    vec![ENTRY_TAG + 1]
}

/// The state machine's key of a user key.
pub fn data_key(user_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(user_key.len() + 1);
    key.push(DATA_TAG);
    key.extend_from_slice(user_key);
    key
}

/// The first state machine key of user data.
pub fn data_start() -> Vec<u8> {
    vec![DATA_TAG]
}

/// The exclusive end of every state machine key of user data.
pub fn data_end() -> Vec<u8> {
    vec![DATA_TAG + 1]
}

/// The user key of a state machine key of user data.
pub fn user_key(key: &[u8]) -> Option<&[u8]> {
    match key {
        [DATA_TAG, user_key @ ..] => Some(user_key),
        _ => None,
    }
}

/// A value's encoding.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(value)
}

/// A value from its encoding; trailing bytes are an error, not ignored.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
    let (value, rest) = postcard::take_from_bytes(bytes)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(postcard::Error::DeserializeBadEncoding)
    }
}

/// What is wrong with a snapshot stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotError {
    /// Too short, or not a snapshot stream.
    BadHeader,
    /// A version this build does not read.
    UnsupportedVersion(u8),
    /// The checksum does not match the bytes.
    ChecksumMismatch,
    /// A record runs past the end, or the count is not the number of records.
    Truncated,
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadHeader => f.write_str("not a snapshot stream"),
            Self::UnsupportedVersion(version) => {
                write!(f, "snapshot stream version {version} is not supported")
            }
            Self::ChecksumMismatch => f.write_str("snapshot stream checksum mismatch"),
            Self::Truncated => f.write_str("snapshot stream is truncated"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// The first bytes of a snapshot stream.
const MAGIC: &[u8; 8] = b"LSMRAFTS";
/// The stream version this build writes and reads.
const VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1;
/// The record count and the checksum, 8 bytes each.
const TRAILER_LEN: usize = 16;

/// Writes a snapshot stream (`docs/format/raft-snapshot.md`): a header, the user's
/// key-value pairs in key order, then their count and an XXH3-64 of everything before
/// the checksum.
pub struct SnapshotWriter {
    bytes: Vec<u8>,
    count: u64,
}

impl SnapshotWriter {
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(MAGIC);
        bytes.push(VERSION);
        Self { bytes, count: 0 }
    }

    /// Appends one pair. Keys and values come from the engine, whose limits keep their
    /// lengths within `u32`.
    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        for part in [key, value] {
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            self.bytes.extend_from_slice(&len.to_le_bytes());
            self.bytes.extend_from_slice(part);
        }
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&self.count.to_le_bytes());
        let checksum = xxhash_rust::xxh3::xxh3_64(&self.bytes);
        self.bytes.extend_from_slice(&checksum.to_le_bytes());
        self.bytes
    }
}

/// Key-value pairs borrowed from a snapshot stream.
pub type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Checks a whole snapshot stream and returns its pairs, in order.
pub fn read_snapshot(bytes: &[u8]) -> Result<Pairs<'_>, SnapshotError> {
    if bytes.len() < HEADER_LEN + TRAILER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::BadHeader);
    }
    let version = bytes[MAGIC.len()];
    if version != VERSION {
        return Err(SnapshotError::UnsupportedVersion(version));
    }
    let (covered, checksum) = bytes.split_at(bytes.len() - 8);
    let mut hasher = Xxh3::new();
    hasher.update(covered);
    if hasher.digest().to_le_bytes() != checksum {
        return Err(SnapshotError::ChecksumMismatch);
    }
    let (mut records, count) = covered[HEADER_LEN..].split_at(covered.len() - HEADER_LEN - 8);
    let count = u64::from_le_bytes(count.try_into().map_err(|_| SnapshotError::Truncated)?);
    let mut pairs = Vec::new();
    while !records.is_empty() {
        let key = take_part(&mut records)?;
        let value = take_part(&mut records)?;
        pairs.push((key, value));
    }
    if pairs.len() as u64 == count {
        Ok(pairs)
    } else {
        Err(SnapshotError::Truncated)
    }
}

fn take_part<'a>(records: &mut &'a [u8]) -> Result<&'a [u8], SnapshotError> {
    let (len, rest) = records
        .split_first_chunk::<4>()
        .ok_or(SnapshotError::Truncated)?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return Err(SnapshotError::Truncated);
    }
    let (part, rest) = rest.split_at(len);
    *records = rest;
    Ok(part)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn entry_keys_sort_by_index_and_stay_below_their_end() {
        let indexes = [0, 1, 255, 256, 1 << 40, u64::MAX];
        for pair in indexes.windows(2) {
            assert!(entry_key(pair[0]) < entry_key(pair[1]));
            assert!(entry_key_after(pair[0]) <= entry_key(pair[1]));
        }
        for index in indexes {
            assert!(entry_key(index) < entry_key_after(index));
            assert!(entry_key_after(index) < entries_end());
        }
        for key in [VOTE, COMMITTED, PURGED] {
            assert!(key >= entries_end().as_slice() || key < entry_key(0).as_slice());
        }
    }

    #[test]
    fn a_snapshot_stream_round_trips_and_every_damage_is_named() {
        let mut writer = SnapshotWriter::new();
        writer.push(b"alpha", b"1");
        writer.push(b"", b"");
        writer.push(b"gamma", &[7; 300]);
        let bytes = writer.finish();
        let pairs = read_snapshot(&bytes).unwrap();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[2], (&b"gamma"[..], &[7; 300][..]));
        assert_eq!(read_snapshot(&SnapshotWriter::new().finish()).unwrap(), []);

        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(read_snapshot(&damaged).is_err(), "flip at {at}");
        }
        for len in 0..bytes.len() {
            assert!(read_snapshot(&bytes[..len]).is_err(), "cut to {len}");
        }
        let mut future = bytes;
        future[MAGIC.len()] = VERSION + 1;
        assert_eq!(
            read_snapshot(&future),
            Err(SnapshotError::UnsupportedVersion(VERSION + 1))
        );
    }
}
