//! The per-block seqno bounds block: each data block's smallest and largest seqno, in
//! block order, so that a scan for the changes since a seqno reads only the blocks that
//! can hold one (`docs/format/table.md`).
//!
//! ```text
//! count varint | (seqno_min varint | seqno_max - seqno_min varint) * count
//! ```
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_varint_u64};
use lsm_core::{DecodeError, SeqNo};

/// The block's payload for `bounds`.
#[must_use]
pub(crate) fn encode(bounds: &[(SeqNo, SeqNo)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + bounds.len() * 4);
    put_varint_u64(&mut out, bounds.len() as u64);
    for &(min, max) in bounds {
        put_varint_u64(&mut out, min);
        put_varint_u64(&mut out, max.saturating_sub(min));
    }
    out
}

/// The bounds of a payload written by [`encode`], which must name `block_count` blocks.
///
/// # Errors
/// [`DecodeError`] when the payload is malformed, names another number of blocks, or a
/// bound overflows.
pub(crate) fn decode(payload: &[u8], block_count: u64) -> Result<Vec<(SeqNo, SeqNo)>, DecodeError> {
    let mut decoder = Decoder::new(payload);
    let count = decoder.varint_u64()?;
    if count != block_count {
        return Err(DecodeError::InvalidField {
            field: "seqno bounds count",
            value: count,
            offset: 0,
        });
    }
    let mut bounds = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 20));
    for _ in 0..count {
        let offset = decoder.offset();
        let min = decoder.varint_u64()?;
        let span = decoder.varint_u64()?;
        let max = min.checked_add(span).ok_or(DecodeError::InvalidField {
            field: "seqno bound",
            value: span,
            offset,
        })?;
        bounds.push((min, max));
    }
    if !decoder.is_empty() {
        return Err(DecodeError::InvalidField {
            field: "seqno bounds trailing bytes",
            value: decoder.remaining() as u64,
            offset: decoder.offset(),
        });
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_round_trip_and_a_wrong_count_is_refused() {
        let bounds = vec![(0, 5), (3, 3), (1 << 40, (1 << 40) + 7)];
        let payload = encode(&bounds);
        assert_eq!(decode(&payload, 3).unwrap(), bounds);
        assert!(decode(&payload, 2).is_err());
        assert!(decode(payload.get(..payload.len() - 1).unwrap(), 3).is_err());
        let mut longer = payload;
        longer.push(0);
        assert!(decode(&longer, 3).is_err());
    }
}
