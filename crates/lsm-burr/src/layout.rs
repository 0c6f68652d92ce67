//! The byte format of a filter (version 1) and its parsed [`Layout`].
//!
//! ```text
//! magic u8 (0xBF) | version u8 (1) | flags u8 (bit 0: 128-bit rows; bit 1: retrieval)
//! | result_bits u8
//! | lower_share u16 | seed varint | key_count varint | bump_layer_count varint
//! | per bumping layer: key_count varint, block_count varint
//! | base layer: key_count varint, slot_count varint, attempt varint
//! | per bumping layer: thresholds (2 bits per bucket), solution words
//! | base solution (slot_count x result_bits bits, LSB first)
//! ```
//!
//! Everything else (slots, starts, bucket and class bounds, the lower/upper block
//! split, section lengths) is derived from these fields, and the derived length must
//! equal the input length exactly. A retrieval structure (flag bit 1) has the same
//! layout with a lower share of 0: its result bits are the values stored, not
//! fingerprints. `docs/format/filter-burr.md` is the prose form.
#![deny(clippy::indexing_slicing)]

use std::ops::Range;

use crate::hashing::layer_seed;
use crate::policy::{RESULT_BITS_MAX, RibbonWidth};
use crate::{Error, Result};

/// First byte of every filter.
pub(crate) const MAGIC: u8 = 0xBF;
/// The format version this build writes and the newest it reads.
pub(crate) const FORMAT_VERSION: u8 = 1;
/// Flags bit: 128-bit coefficient rows.
pub(crate) const FLAG_W128: u8 = 0b0000_0001;
/// Flags bit: a retrieval structure (results are stored values), not a filter.
pub(crate) const FLAG_RETRIEVAL: u8 = 0b0000_0010;
/// Most bumping layers a filter may have.
pub(crate) const BUMP_LAYER_COUNT_MAX: usize = 16;
/// Fewest buckets a bumping layer has; smaller key sets go to the base layer.
pub(crate) const BUMP_LAYER_BUCKETS_MIN: usize = 8;
/// Fewest buckets of layer 0.
pub(crate) const LAYER0_BUCKETS_MIN: usize = 4;
/// Most keys one filter holds.
pub(crate) const KEY_COUNT_MAX: u64 = 1 << 40;
/// Coefficient bits of the base layer's rows, whatever the ribbon width.
pub(crate) const BASE_ROW_BITS: u32 = 64;
/// Most attempts at solving the base layer.
pub(crate) const BASE_ATTEMPTS_MAX: u64 = 32;
/// log2 of the bucket size (starts per threshold) for 64-bit rows.
pub(crate) const BUCKET_SHIFT_W64: u32 = 7;
/// log2 of the bucket size for 128-bit rows.
pub(crate) const BUCKET_SHIFT_W128: u32 = 9;
/// Threshold value: no key of the bucket is bumped.
pub(crate) const THRESHOLD_NONE_BUMPED: u8 = 3;

const _: () = assert!(KEY_COUNT_MAX < 1 << 50);
const _: () = assert!((1 << BUCKET_SHIFT_W64) >= 64 && (1 << BUCKET_SHIFT_W128) >= 128);
const _: () = assert!(BASE_ATTEMPTS_MAX < 256);

/// A bumping layer's derived parameters and where its sections are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BumpLayer {
    pub seed: u64,
    pub key_count: u64,
    pub block_count: usize,
    pub num_starts: u64,
    pub bucket_shift: u32,
    /// Class bounds on `v = bucket_size - 1 - offset`: class 0 up to `lower`, class 1 up
    /// to `upper`, class 2 above.
    pub lower: u32,
    pub upper: u32,
    /// Blocks `0..lower_blocks` keep one column fewer.
    pub lower_blocks: usize,
    pub thresholds: Range<usize>,
    pub solution: Range<usize>,
}

/// The base layer's derived parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseLayer {
    pub seed: u64,
    pub key_count: u64,
    pub slot_count: u64,
    /// Coefficient bits: `min(64, slot_count)`.
    pub width: u32,
    pub num_starts: u64,
    pub solution: Range<usize>,
}

/// A parsed filter header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub width: RibbonWidth,
    /// Whether the results are stored values (a retrieval structure).
    pub retrieval: bool,
    pub result_bits: u32,
    pub lower_share: u16,
    pub seed: u64,
    pub key_count: u64,
    pub bump: Vec<BumpLayer>,
    pub base: BaseLayer,
    /// Bytes before the first section.
    pub header_len: usize,
}

/// The header fields a builder records; everything else is derived.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderFields {
    pub w128: bool,
    pub retrieval: bool,
    pub result_bits: u32,
    pub lower_share: u16,
    pub seed: u64,
    pub key_count: u64,
    /// `(key_count, block_count)` per bumping layer.
    pub bump: Vec<(u64, u64)>,
    /// `(key_count, slot_count, attempt)` of the base layer.
    pub base: (u64, u64, u64),
}

impl HeaderFields {
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        let result_bits = u8::try_from(self.result_bits).expect("result bits <= 32");
        out.extend_from_slice(&[
            MAGIC,
            FORMAT_VERSION,
            if self.w128 { FLAG_W128 } else { 0 } | if self.retrieval { FLAG_RETRIEVAL } else { 0 },
            result_bits,
        ]);
        out.extend_from_slice(&self.lower_share.to_le_bytes());
        for value in [self.seed, self.key_count, self.bump.len() as u64] {
            put_varint(out, value);
        }
        for &(key_count, block_count) in &self.bump {
            put_varint(out, key_count);
            put_varint(out, block_count);
        }
        let (key_count, slot_count, attempt) = self.base;
        for value in [key_count, slot_count, attempt] {
            put_varint(out, value);
        }
    }
}

/// The bucket size's log2 for a ribbon width.
pub(crate) fn bucket_shift(width: RibbonWidth) -> u32 {
    match width {
        RibbonWidth::W64 => BUCKET_SHIFT_W64,
        RibbonWidth::W128 => BUCKET_SHIFT_W128,
    }
}

/// Class bounds for a layer of `slot_count` slots holding `key_count` keys:
/// `lower = floor((0.78 + 1.30 e) B)`, `upper = floor((0.91 + 0.75 e) B)` with
/// `e = slot_count / key_count - 1`, in exact integer arithmetic.
pub(crate) fn class_bounds(key_count: u64, slot_count: u64, bucket_shift: u32) -> (u32, u32) {
    let bucket_size = 1_i128 << bucket_shift;
    let keys = i128::from(key_count.max(1));
    let surplus = i128::from(slot_count) - keys;
    let bound = |base: i128, slope: i128| {
        let value = (bucket_size * (base * keys + slope * surplus)).div_euclid(100 * keys);
        u32::try_from(value.clamp(0, bucket_size - 1)).expect("clamped below the bucket size")
    };
    let lower = bound(78, 130);
    (lower, bound(91, 75).max(lower))
}

/// Blocks that keep one column fewer: `round(block_count * lower_share / 2^16)`.
pub(crate) fn lower_block_count(block_count: usize, lower_share: u16) -> usize {
    let scaled = (block_count as u128 * u128::from(lower_share) + (1 << 15)) >> 16;
    usize::try_from(scaled)
        .expect("at most block_count")
        .min(block_count)
}

/// Solution words of a bumping layer.
pub(crate) fn solution_word_count(
    block_count: usize,
    lower_blocks: usize,
    result_bits: u32,
) -> Option<usize> {
    block_count
        .checked_mul(result_bits as usize)?
        .checked_sub(lower_blocks)
}

/// The seed of the base layer after `bump_layer_count` bumping layers, at `attempt`.
pub(crate) fn base_seed(policy_seed: u64, bump_layer_count: usize, attempt: u64) -> u64 {
    layer_seed(policy_seed, bump_layer_count as u64 | attempt << 8)
}

impl Layout {
    /// [`Self::decode`], refusing a filter where a retrieval structure is expected
    /// (`retrieval`) and the other way round.
    pub(crate) fn decode_as(bytes: &[u8], retrieval: bool) -> Result<Self> {
        let layout = Self::decode(bytes)?;
        if layout.retrieval != retrieval {
            let what = if retrieval {
                "a filter, not a retrieval structure"
            } else {
                "a retrieval structure, not a filter"
            };
            return Err(malformed(what, 2));
        }
        Ok(layout)
    }

    /// Parses and validates a filter's header; every section range fits `bytes`.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader { bytes, offset: 0 };
        if reader.u8()? != MAGIC {
            return Err(malformed("bad magic", 0));
        }
        let version = reader.u8()?;
        if version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                max: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(malformed("version 0", 1));
        }
        let flags = reader.u8()?;
        if flags & !(FLAG_W128 | FLAG_RETRIEVAL) != 0 {
            return Err(malformed("unknown flags", 2));
        }
        let width = if flags & FLAG_W128 != 0 {
            RibbonWidth::W128
        } else {
            RibbonWidth::W64
        };
        let result_bits = u32::from(reader.u8()?);
        if !(1..=RESULT_BITS_MAX).contains(&result_bits) {
            return Err(malformed("result bits outside 1..=32", 3));
        }
        let lower_share = u16::from_le_bytes([reader.u8()?, reader.u8()?]);
        if result_bits == 1 && lower_share != 0 {
            return Err(malformed("lower share with one result bit", 4));
        }
        let retrieval = flags & FLAG_RETRIEVAL != 0;
        if retrieval && lower_share != 0 {
            return Err(malformed("lower share in a retrieval structure", 4));
        }
        let seed = reader.varint()?;
        let key_count = reader.bounded_varint(KEY_COUNT_MAX, "key count")?;
        let bump_count = reader.bounded_varint(BUMP_LAYER_COUNT_MAX as u64, "bump layer count")?;
        let mut fields = Vec::new();
        for _ in 0..bump_count {
            let layer_keys = reader.bounded_varint(KEY_COUNT_MAX, "layer key count")?;
            let block_count = reader.bounded_varint(KEY_COUNT_MAX, "block count")?;
            fields.push((layer_keys, block_count));
        }
        let base_keys = reader.bounded_varint(KEY_COUNT_MAX, "base key count")?;
        let base_slots = reader.bounded_varint(KEY_COUNT_MAX * 2, "base slot count")?;
        let attempt = reader.bounded_varint(BASE_ATTEMPTS_MAX, "base attempt")?;

        let row_bits = width.bits();
        let shift = bucket_shift(width);
        let mut offset = reader.offset;
        let mut bump = Vec::with_capacity(fields.len());
        for (layer_idx, (layer_keys, block_count)) in fields.into_iter().enumerate() {
            let layer_offset = offset;
            let block_count =
                usize::try_from(block_count).map_err(|_| malformed("block count", layer_offset))?;
            if block_count == 0 {
                return Err(malformed("empty bumping layer", layer_offset));
            }
            let slot_count = (block_count as u64) * u64::from(row_bits);
            let num_starts = slot_count - u64::from(row_bits) + 1;
            let bucket_count = num_starts.div_ceil(1 << shift);
            let threshold_len = usize::try_from(bucket_count.div_ceil(4))
                .map_err(|_| malformed("bucket count", offset))?;
            let lower_blocks = lower_block_count(block_count, lower_share);
            let word_count = solution_word_count(block_count, lower_blocks, result_bits)
                .ok_or_else(|| malformed("solution size", offset))?;
            let solution_len = word_count
                .checked_mul(row_bits as usize / 8)
                .ok_or_else(|| malformed("solution size", offset))?;
            let thresholds = checked_range(offset, threshold_len, bytes.len())?;
            let solution = checked_range(thresholds.end, solution_len, bytes.len())?;
            offset = solution.end;
            let (lower, upper) = class_bounds(layer_keys, slot_count, shift);
            bump.push(BumpLayer {
                seed: layer_seed(seed, layer_idx as u64),
                key_count: layer_keys,
                block_count,
                num_starts,
                bucket_shift: shift,
                lower,
                upper,
                lower_blocks,
                thresholds,
                solution,
            });
        }
        let base_width =
            u32::try_from(base_slots.min(u64::from(BASE_ROW_BITS))).unwrap_or(BASE_ROW_BITS);
        let base_len = base_slots
            .checked_mul(u64::from(result_bits))
            .map(|bits| bits.div_ceil(8))
            .and_then(|len| usize::try_from(len).ok())
            .ok_or_else(|| malformed("base size", offset))?;
        let base_solution = checked_range(offset, base_len, bytes.len())?;
        if base_solution.end != bytes.len() {
            return Err(malformed("trailing bytes", base_solution.end));
        }
        if base_keys > base_slots {
            return Err(malformed("more base keys than slots", offset));
        }
        let base = BaseLayer {
            seed: base_seed(seed, bump.len(), attempt),
            key_count: base_keys,
            slot_count: base_slots,
            width: base_width,
            num_starts: if base_slots == 0 {
                0
            } else {
                base_slots - u64::from(base_width) + 1
            },
            solution: base_solution,
        };
        let header_len = reader.offset;
        Ok(Self {
            width,
            retrieval,
            result_bits,
            lower_share,
            seed,
            key_count,
            bump,
            base,
            header_len,
        })
    }
}

fn checked_range(start: usize, len: usize, total: usize) -> Result<Range<usize>> {
    let end = start
        .checked_add(len)
        .ok_or_else(|| malformed("section length", start))?;
    if end > total {
        return Err(malformed("truncated section", start));
    }
    Ok(start..end)
}

fn malformed(what: &'static str, offset: usize) -> Error {
    Error::Malformed { what, offset }
}

/// Appends an LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value.to_le_bytes()[0] | 0x80);
        value >>= 7;
    }
    out.push(value.to_le_bytes()[0]);
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8> {
        let byte = *self
            .bytes
            .get(self.offset)
            .ok_or_else(|| malformed("truncated header", self.offset))?;
        self.offset += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64> {
        let start = self.offset;
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            let payload = u64::from(byte & 0x7F);
            if shift == 63 && payload > 1 {
                return Err(malformed("varint overflow", start));
            }
            value |= payload << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint too long", start))
    }

    fn bounded_varint(&mut self, max: u64, what: &'static str) -> Result<u64> {
        let start = self.offset;
        let value = self.varint()?;
        if value > max {
            return Err(malformed(what, start));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_bounds_match_the_documented_example() {
        // w = 64, B = 128, e = -1/16: lower 89, upper 110.
        assert_eq!(class_bounds(16_000, 15_000, 7), (89, 110));
        assert!(class_bounds(0, 0, 7).0 <= 127);
    }

    #[test]
    fn lower_blocks_round_and_cap() {
        assert_eq!(lower_block_count(100, 0), 0);
        assert_eq!(lower_block_count(100, 32_768), 50);
        assert_eq!(lower_block_count(3, 65_535), 3);
    }
}
