//! One segment file: its header, its frames, and how recovery reads them.

use std::path::{Path, PathBuf};

use lsm_codec::FileCipher;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::batch::WalBatch;
use crate::error::{Error, Result};
use crate::layout::{
    FRAME_HEADER_LEN, HEADER_LEN, HEADER_MAGIC, PAYLOAD_LEN_MAX, PAYLOAD_LEN_MIN,
    WAL_FORMAT_VERSION,
};

/// The file name of segment `id`.
pub(crate) fn file_name(id: u64) -> String {
    format!("{id:020}.wal")
}

/// The path of segment `id` in `dir`.
pub(crate) fn path(dir: &Path, id: u64) -> PathBuf {
    dir.join(file_name(id))
}

/// The segment id a file name holds, if it is a segment's name.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    (digits.len() == 20 && digits.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The header of segment `id`.
pub(crate) fn header(id: u64) -> [u8; HEADER_LEN] {
    let mut out = [0_u8; HEADER_LEN];
    out[..8].copy_from_slice(&HEADER_MAGIC);
    out[8] = WAL_FORMAT_VERSION;
    out[16..24].copy_from_slice(&id.to_le_bytes());
    let checksum = xxh3_64(&out[..24]);
    out[24..].copy_from_slice(&checksum.to_le_bytes());
    out
}

/// Checks the header of segment `id`.
pub(crate) fn check_header(id: u64, bytes: &[u8]) -> Result<()> {
    let bad = |reason| Error::BadHeader {
        segment: id,
        reason,
    };
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or(bad("shorter than a header"))?;
    if header[..8] != HEADER_MAGIC {
        return Err(bad("not a log segment (magic)"));
    }
    if u64::from_le_bytes(header[24..32].try_into().unwrap_or_default()) != xxh3_64(&header[..24]) {
        return Err(bad("header checksum"));
    }
    if header[8] == 0 || header[8] > WAL_FORMAT_VERSION {
        return Err(bad("format version this build does not read"));
    }
    if header[9..16].iter().any(|&byte| byte != 0) {
        return Err(bad("reserved bytes set"));
    }
    if u64::from_le_bytes(header[16..24].try_into().unwrap_or_default()) != id {
        return Err(bad("segment id does not match the file name"));
    }
    Ok(())
}

/// Appends the frame of `payload` in segment `id`, written when the first `synced`
/// bytes of the segment were durable, to `out`.
pub(crate) fn put_frame(out: &mut Vec<u8>, id: u64, synced: u32, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&frame_checksum(id, len, synced, payload).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&synced.to_le_bytes());
    out.extend_from_slice(payload);
}

fn frame_checksum(id: u64, len: u32, synced: u32, payload: &[u8]) -> u64 {
    // The lengths' hash seeds the payload's: all are covered without copying them into
    // one buffer.
    let mut lengths = [0_u8; 8];
    lengths[..4].copy_from_slice(&len.to_le_bytes());
    lengths[4..].copy_from_slice(&synced.to_le_bytes());
    xxh3_64_with_seed(payload, xxh3_64_with_seed(&lengths, id))
}

/// A readable frame.
struct Frame {
    batch: WalBatch,
    /// Where it ends.
    end: usize,
    /// Bytes of the segment that were synced when it was written.
    synced: u32,
}

/// The frame at `offset` of segment `id`'s bytes, or why there is none.
fn frame_at(
    id: u64,
    bytes: &[u8],
    offset: usize,
    cipher: Option<&FileCipher>,
) -> std::result::Result<Frame, &'static str> {
    let header = bytes
        .get(offset..offset + FRAME_HEADER_LEN)
        .ok_or("frame header cut short")?;
    let word = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap_or_default());
    let checksum = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
    let (len, synced) = (word(8), word(12));
    let len_bytes = len as usize;
    if !(PAYLOAD_LEN_MIN..=PAYLOAD_LEN_MAX).contains(&len_bytes) {
        return Err("frame length out of bounds");
    }
    let start = offset + FRAME_HEADER_LEN;
    let payload = bytes
        .get(start..start + len_bytes)
        .ok_or("frame cut short")?;
    if frame_checksum(id, len, synced, payload) != checksum {
        return Err("frame checksum");
    }
    let opened;
    let payload = match cipher {
        Some(cipher) => {
            opened = cipher
                .open_record(&crate::key::aad(id), start as u64, payload)
                .ok_or("sealed record does not open")?;
            &opened[..]
        }
        None => payload,
    };
    let batch = WalBatch::decode(payload).ok_or("malformed batch")?;
    Ok(Frame {
        batch,
        end: start + len_bytes,
        synced,
    })
}

/// Whether a readable frame of segment `id` starts anywhere at or after `from`.
pub(crate) fn any_frame_from(
    id: u64,
    bytes: &[u8],
    from: usize,
    cipher: Option<&FileCipher>,
) -> bool {
    (from..written_len(bytes)).any(|at| frame_at(id, bytes, at, cipher).is_ok())
}

/// Where a segment's bytes end once its tail of zeros (room reserved past its last
/// record) is left out: no frame starts past it, since a frame's header is never all
/// zeros.
pub(crate) fn written_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|&byte| byte != 0)
        .map_or(0, |last| last + 1)
}

/// What recovery found in one segment.
pub(crate) struct Scanned {
    /// The batches, in order.
    pub(crate) batches: Vec<WalBatch>,
    /// Where the readable frames end (the segment is cut here when its tail is torn).
    pub(crate) valid_len: usize,
    /// Bytes of damaged frames passed over ([`crate::Recovery::SkipDamaged`]).
    pub(crate) skipped_bytes: u64,
    /// Whether the bytes after `valid_len` are a torn tail (or reserved zeros).
    pub(crate) torn_tail: bool,
    /// Where the bytes that are not reserved zeros end.
    pub(crate) written_len: usize,
}

/// Reads every frame of segment `id`. In the last segment (the one being written when
/// the process stopped), damage that no later readable frame shows to have been synced
/// is a torn tail: the frames end there. Any other damage is [`Error::Damaged`], or
/// passed over to the next readable frame with `skip_damaged`.
pub(crate) fn scan(
    id: u64,
    bytes: &[u8],
    last: bool,
    skip_damaged: bool,
    cipher: Option<&FileCipher>,
) -> Result<Scanned> {
    check_header(id, bytes)?;
    let written = written_len(bytes);
    let mut scanned = Scanned {
        batches: Vec::new(),
        valid_len: HEADER_LEN,
        skipped_bytes: 0,
        torn_tail: false,
        written_len: written,
    };
    let mut offset = HEADER_LEN;
    while offset < bytes.len() {
        match frame_at(id, bytes, offset, cipher) {
            Ok(frame) => {
                scanned.batches.push(frame.batch);
                offset = frame.end;
                scanned.valid_len = frame.end;
            }
            Err(reason) => {
                let mut later = (offset + 1..written).filter_map(|at| {
                    frame_at(id, bytes, at, cipher)
                        .ok()
                        .map(|frame| (at, frame))
                });
                let next = later.next();
                let synced_past = |frame: &Frame| frame.synced as usize > offset;
                let witnessed = next.as_ref().is_some_and(|(_, frame)| synced_past(frame))
                    || later.any(|(_, frame)| synced_past(&frame));
                if last && !witnessed {
                    scanned.torn_tail = true;
                    return Ok(scanned);
                }
                if !skip_damaged {
                    return Err(Error::Damaged {
                        segment: id,
                        offset: offset as u64,
                        reason,
                    });
                }
                let resume = next.map_or(bytes.len(), |(at, _)| at);
                scanned.skipped_bytes += (resume - offset) as u64;
                offset = resume;
            }
        }
    }
    Ok(scanned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_not_segments() {
        assert_eq!(parse_name(&file_name(17)), Some(17));
        assert_eq!(parse_name("17.wal"), None);
        assert_eq!(parse_name("0000000000000000001x.wal"), None);
        assert_eq!(parse_name(&file_name(u64::MAX)), Some(u64::MAX));
    }

    #[test]
    fn a_header_checks_its_id_version_and_checksum() {
        let good = header(5);
        assert!(check_header(5, &good).is_ok());
        assert!(matches!(
            check_header(6, &good),
            Err(Error::BadHeader { .. })
        ));
        for byte in 0..HEADER_LEN {
            let mut bad = good;
            bad[byte] ^= 0x40;
            assert!(check_header(5, &bad).is_err(), "byte {byte}");
        }
    }
}
