//! The range-tombstone block: a table's range tombstones, sorted by start key (in the
//! table's key order).
//!
//! ```text
//! count varint | count x (start_len varint, start, end_len varint, end, seqno varint)
//! ```
//!
//! The block sits in the envelope like every other (checksummed, compressed and
//! encrypted as the table's index blocks are); decoding checks every length against the
//! bytes left, that each range is non-empty, and that starts never decrease.
#![deny(clippy::indexing_slicing)]

use lsm_core::coding::{Decoder, put_varint_u64};
use lsm_core::limits::USER_KEY_LEN_MAX;
use lsm_core::{DecodeError, KeyOrder, RangeTombstone, UserKey};

/// Encodes `tombstones` (sorted here by start key in `order`).
#[must_use]
pub fn encode(order: &KeyOrder, tombstones: &[RangeTombstone]) -> Vec<u8> {
    let mut sorted = tombstones.to_vec();
    sorted.sort_by(|left, right| left.cmp_in(order, right));
    let mut out = Vec::new();
    put_varint_u64(&mut out, sorted.len() as u64);
    for tombstone in &sorted {
        put_varint_u64(&mut out, tombstone.start.len() as u64);
        out.extend_from_slice(&tombstone.start);
        put_varint_u64(&mut out, tombstone.end.len() as u64);
        out.extend_from_slice(&tombstone.end);
        put_varint_u64(&mut out, tombstone.seqno);
    }
    out
}

/// Decodes a block [`encode`] wrote.
///
/// # Errors
/// [`DecodeError`] for truncated or malformed bytes, an empty range, a key above the
/// length limit, or starts out of order.
pub fn decode(order: &KeyOrder, bytes: &[u8]) -> Result<Vec<RangeTombstone>, DecodeError> {
    let mut decoder = Decoder::new(bytes);
    let count = decoder.varint_u64()?;
    // Each tombstone takes at least three bytes: bound the allocation by the input.
    if count > (decoder.remaining() / 3) as u64 {
        return Err(DecodeError::InvalidField {
            field: "range tombstone count",
            value: count,
            offset: 0,
        });
    }
    let mut tombstones = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let offset = decoder.offset();
        let start = key(&mut decoder)?;
        let end = key(&mut decoder)?;
        let seqno = decoder.varint_u64()?;
        let Some(tombstone) = RangeTombstone::new(order, start, end, seqno) else {
            return Err(DecodeError::InvalidField {
                field: "range tombstone end (not after its start)",
                value: seqno,
                offset,
            });
        };
        if tombstones
            .last()
            .is_some_and(|last: &RangeTombstone| order.lt(&tombstone.start, &last.start))
        {
            return Err(DecodeError::InvalidField {
                field: "range tombstone start (before the previous one)",
                value: tombstones.len() as u64,
                offset,
            });
        }
        tombstones.push(tombstone);
    }
    if !decoder.is_empty() {
        return Err(DecodeError::InvalidField {
            field: "range tombstone block length",
            value: decoder.remaining() as u64,
            offset: decoder.offset(),
        });
    }
    Ok(tombstones)
}

fn key(decoder: &mut Decoder<'_>) -> Result<UserKey, DecodeError> {
    let offset = decoder.offset();
    let len = decoder.varint_u64()?;
    let too_long = DecodeError::InvalidField {
        field: "range tombstone key length",
        value: len,
        offset,
    };
    if len > USER_KEY_LEN_MAX as u64 {
        return Err(too_long);
    }
    let len = usize::try_from(len).map_err(|_| too_long)?;
    Ok(UserKey::new(decoder.bytes(len)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn round_trips_and_damage_never_panics(
            raw in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..8), prop::collection::vec(any::<u8>(), 1..8), any::<u64>()), 0..20),
            flip in any::<usize>(),
            test_order in proptest::sample::select(lsm_testkit::orders::TestOrder::ALL.to_vec()),
        ) {
            let order = test_order.key_order();
            let tombstones: Vec<_> = raw
                .into_iter()
                .filter_map(|(start, end, seqno)| RangeTombstone::new(&order, start.into(), end.into(), seqno))
                .collect();
            let bytes = encode(&order, &tombstones);
            let mut sorted = tombstones;
            sorted.sort_by(|left, right| left.cmp_in(&order, right));
            prop_assert_eq!(decode(&order, &bytes).unwrap(), sorted);
            for cut in 0..bytes.len() {
                let _ = decode(&order, &bytes[..cut]);
            }
            if !bytes.is_empty() {
                let mut damaged = bytes;
                let at = flip % damaged.len();
                damaged[at] ^= 0x5A;
                let _ = decode(&order, &damaged);
            }
        }
    }
}
