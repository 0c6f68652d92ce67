//! Construction: bumping layers, then a base layer.
//!
//! Keys are deduplicated and remixed per layer. A *bumping layer* has fewer slots than
//! keys (`15/16` of them for 64-bit rows, `31/32` for 128-bit rows, rounded down to whole
//! blocks) and groups starts into buckets of 128 (or 512). Within a bucket, keys are
//! inserted by class (0: the highest offsets, then 1, then 2); at the first insertion
//! that fails, the keys of that class already inserted are taken out again and the
//! bucket's 2-bit threshold bumps that class and all higher ones to the next layer.
//! Each class is therefore kept or bumped whole, so the kept set, and with it the
//! unique solution, does not depend on input order. Layers continue while a layer has
//! at least one block; the few remaining keys go to a *base layer*: a plain ribbon with
//! a little slack, stored row by row, re-seeded and grown on the rare failure.
//!
//! Banding is Gaussian elimination on the fly: a row `(start, coeff, fingerprint)` is
//! XORed with the stored row at its start until it finds an empty slot (stored), becomes
//! zero with a zero fingerprint (redundant: a duplicate or a consistent combination),
//! or becomes zero with a non-zero fingerprint (failed). Back-substitution then fixes
//! every slot's result bits from the highest slot down; empty slots are 0.

use crate::coeff::Coeff;
use crate::hashing::{fastrange, fingerprint, layer_seed, mix, result_mask};
use crate::layout::{
    BASE_ATTEMPTS_MAX, BASE_ROW_BITS, BUMP_LAYER_BUCKETS_MIN, BUMP_LAYER_COUNT_MAX, HeaderFields,
    KEY_COUNT_MAX, LAYER0_BUCKETS_MIN, THRESHOLD_NONE_BUMPED, base_seed, bucket_shift,
    class_bounds, lower_block_count,
};
use crate::policy::{FilterPolicy, RibbonWidth};
use crate::{Error, Result};

/// Knobs that tests turn to reach rare paths; production uses [`BuildKnobs::default`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuildKnobs {
    /// Extra base slots per 64 base keys, on top of a constant 3.
    pub base_slack_per_64: u64,
    /// Attempts before giving up.
    pub base_attempts_max: u64,
}

impl Default for BuildKnobs {
    fn default() -> Self {
        Self {
            base_slack_per_64: 2,
            base_attempts_max: BASE_ATTEMPTS_MAX,
        }
    }
}

/// One key of a construction: its hash, remixed for the current layer, and the result
/// bits the solution must give it there.
pub(crate) trait Row: Copy + Ord {
    /// The key's hash for the current layer.
    fn key(self) -> u64;
    /// The same key under another layer hash.
    fn rekey(self, key: u64) -> Self;
    /// The result bits this key must retrieve, within `mask`.
    fn result(self, mask: u32) -> u32;
}

/// A filter key: its result is the fingerprint of its layer hash.
impl Row for u64 {
    #[inline]
    fn key(self) -> u64 {
        self
    }

    #[inline]
    fn rekey(self, key: u64) -> Self {
        key
    }

    #[inline]
    fn result(self, mask: u32) -> u32 {
        fingerprint(self, mask)
    }
}

/// A retrieval key: its result is the value stored for it, the same in every layer.
impl Row for (u64, u32) {
    #[inline]
    fn key(self) -> u64 {
        self.0
    }

    #[inline]
    fn rekey(self, key: u64) -> Self {
        (key, self.1)
    }

    #[inline]
    fn result(self, mask: u32) -> u32 {
        self.1 & mask
    }
}

fn check_key_count(count: usize) -> Result<()> {
    if count as u64 > KEY_COUNT_MAX {
        return Err(Error::TooManyKeys {
            count,
            max: usize::try_from(KEY_COUNT_MAX).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// Builds the encoded filter for `hashes`.
pub(crate) fn build(hashes: &[u64], policy: &FilterPolicy, knobs: BuildKnobs) -> Result<Vec<u8>> {
    check_key_count(hashes.len())?;
    let seed0 = layer_seed(policy.seed, 0);
    let mut keys: Vec<u64> = hashes.iter().map(|&hash| mix(hash, seed0)).collect();
    keys.sort_unstable();
    keys.dedup();
    build_rows(keys, policy, knobs, false)
}

/// Builds the encoded retrieval structure for `(hash, value)` pairs: values must fit the
/// policy's result bits, and a hash given twice must come with one value.
pub(crate) fn build_retrieval(
    mut rows: Vec<(u64, u32)>,
    policy: &FilterPolicy,
    knobs: BuildKnobs,
) -> Result<Vec<u8>> {
    check_key_count(rows.len())?;
    let mask = result_mask(policy.result_bits);
    if let Some(&(_, value)) = rows.iter().find(|&&(_, value)| value & !mask != 0) {
        return Err(Error::ValueTooWide {
            value,
            bits: policy.result_bits,
        });
    }
    let seed0 = layer_seed(policy.seed, 0);
    // Mixed in place: the pairs are the construction's first layer.
    for row in &mut rows {
        row.0 = mix(row.0, seed0);
    }
    rows.sort_unstable();
    rows.dedup();
    if let Some(pair) = rows.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(Error::ConflictingValues {
            hash: unmix(pair[0].0, seed0),
        });
    }
    build_rows(rows, policy, knobs, true)
}

/// Builds from rows sorted and distinct by their layer-0 hash.
fn build_rows<R: Row>(
    rows: Vec<R>,
    policy: &FilterPolicy,
    knobs: BuildKnobs,
    retrieval: bool,
) -> Result<Vec<u8>> {
    match policy.width {
        RibbonWidth::W64 => build_with::<u64, R>(rows, policy, knobs, retrieval),
        RibbonWidth::W128 => build_with::<u128, R>(rows, policy, knobs, retrieval),
    }
}

/// One finished bumping layer.
struct BumpOutput<C> {
    key_count: u64,
    block_count: usize,
    thresholds: Vec<u8>,
    words: Vec<C>,
}

fn build_with<C: Coeff, R: Row>(
    mut keys: Vec<R>,
    policy: &FilterPolicy,
    knobs: BuildKnobs,
    retrieval: bool,
) -> Result<Vec<u8>> {
    let key_count = keys.len() as u64;

    let mut layers: Vec<BumpOutput<C>> = Vec::new();
    loop {
        let block_count = overloaded_block_count::<C>(keys.len());
        // A layer of few buckets bumps whole classes too coarsely and wastes slots, so
        // small key sets go to the base layer; layer 0 may be smaller, because it answers
        // most queries and its interleaved layout is the fast one.
        let bucket_count = (block_count * C::BITS as usize) >> bucket_shift(policy.width);
        let buckets_min = if layers.is_empty() {
            LAYER0_BUCKETS_MIN
        } else {
            BUMP_LAYER_BUCKETS_MIN
        };
        if bucket_count < buckets_min || layers.len() == BUMP_LAYER_COUNT_MAX {
            break;
        }
        let (layer, bumped) = build_bump_layer::<C, R>(&keys, block_count, policy);
        layers.push(layer);
        let next_seed = layer_seed(policy.seed, layers.len() as u64);
        keys = bumped
            .into_iter()
            .map(|row| row.rekey(mix(row.key(), next_seed)))
            .collect();
        keys.sort_unstable();
    }
    // `keys` are now mixed with the seed of layer `layers.len()`, which is the base seed
    // of attempt 0; undo nothing, re-mix for later attempts.
    // The base layer always uses 64-bit rows: it is small, and its row-by-row query
    // reads one row per set coefficient bit, so narrower rows answer faster.
    let (base_slots, attempt, base_bytes) = build_base(&keys, policy, layers.len(), knobs)?;

    let header = HeaderFields {
        w128: C::BITS == 128,
        retrieval,
        result_bits: policy.result_bits,
        lower_share: policy.lower_share,
        seed: policy.seed,
        key_count,
        bump: layers
            .iter()
            .map(|layer| (layer.key_count, layer.block_count as u64))
            .collect(),
        base: (keys.len() as u64, base_slots, attempt),
    };
    let mut out = Vec::new();
    header.encode_into(&mut out);
    for layer in &layers {
        out.extend_from_slice(&layer.thresholds);
        for &word in &layer.words {
            word.encode_into(&mut out);
        }
    }
    out.extend_from_slice(&base_bytes);
    Ok(out)
}

/// Whole blocks for an overloaded layer of `key_count` keys.
fn overloaded_block_count<C: Coeff>(key_count: usize) -> usize {
    // epsilon = -4/w: 15/16 of the keys for w = 64, 31/32 for w = 128.
    let slots = key_count - key_count * 4 / C::BITS as usize;
    slots / C::BITS as usize
}

/// The class of start offset `offset` in a bucket: 0 for the highest offsets.
#[inline]
pub(crate) fn class_of(offset: u64, bucket_shift: u32, lower: u32, upper: u32) -> u8 {
    let from_top = (1_u64 << bucket_shift) - 1 - offset;
    if from_top <= u64::from(lower) {
        0
    } else if from_top <= u64::from(upper) {
        1
    } else {
        2
    }
}

/// Builds one bumping layer from sorted, distinct layer hashes; returns it and the
/// hashes of the keys it bumped.
fn build_bump_layer<C: Coeff, R: Row>(
    keys: &[R],
    block_count: usize,
    policy: &FilterPolicy,
) -> (BumpOutput<C>, Vec<R>) {
    let row_bits = u64::from(C::BITS);
    let slot_count = block_count as u64 * row_bits;
    let num_starts = slot_count - row_bits + 1;
    let shift = bucket_shift(policy.width);
    let (lower, upper) = class_bounds(keys.len() as u64, slot_count, shift);
    let mask = result_mask(policy.result_bits);
    let bucket_count = num_starts.div_ceil(1 << shift);
    let mut thresholds =
        vec![0xFF_u8; usize::try_from(bucket_count.div_ceil(4)).expect("fits memory")];
    let mut banding = Banding::<C>::new(usize::try_from(slot_count).expect("fits memory"));
    let mut bumped = Vec::new();
    let mut undo = Vec::new();

    let mut bucket_begin = 0;
    while bucket_begin < keys.len() {
        let bucket = fastrange(keys[bucket_begin].key(), num_starts) >> shift;
        let mut bucket_end = bucket_begin + 1;
        while bucket_end < keys.len()
            && fastrange(keys[bucket_end].key(), num_starts) >> shift == bucket
        {
            bucket_end += 1;
        }
        // Class 0 (the highest offsets) first, then 1, then 2; each class in ascending
        // start order, which keeps the rows' walks short. Keys are sorted by start, so
        // each class is a contiguous range.
        let class_at = |position: usize| {
            let start = fastrange(keys[position].key(), num_starts);
            class_of(start & ((1 << shift) - 1), shift, lower, upper)
        };
        let mut boundaries = [bucket_begin; 4];
        // boundaries[k]..boundaries[k + 1] hold the class 2 - k keys (ascending starts).
        let mut position = bucket_begin;
        for (boundary_idx, class) in [(1, 2), (2, 1)] {
            while position < bucket_end && class_at(position) == class {
                position += 1;
            }
            boundaries[boundary_idx] = position;
        }
        boundaries[3] = bucket_end;
        let mut threshold = THRESHOLD_NONE_BUMPED;
        'classes: for class in 0..3_u8 {
            let range = boundaries[2 - usize::from(class)]..boundaries[3 - usize::from(class)];
            undo.clear();
            for position in range.clone() {
                let row = keys[position];
                let key = row.key();
                let start =
                    usize::try_from(fastrange(key, num_starts)).expect("start < slot count");
                match banding.insert(start, C::from_hash(key), row.result(mask)) {
                    Insert::Stored(slot) => undo.push(slot),
                    Insert::Redundant => {}
                    Insert::Failed => {
                        for &slot in &undo {
                            banding.clear(slot);
                        }
                        threshold = class;
                        // This class and the higher ones (lower offsets) are bumped.
                        bumped.extend_from_slice(&keys[bucket_begin..range.end]);
                        break 'classes;
                    }
                }
            }
        }
        let bucket = usize::try_from(bucket).expect("bucket < bucket count");
        let bit_shift = 2 * (bucket % 4);
        thresholds[bucket / 4] =
            (thresholds[bucket / 4] & !(0b11 << bit_shift)) | (threshold << bit_shift);
        bucket_begin = bucket_end;
    }

    let lower_blocks = lower_block_count(block_count, policy.lower_share);
    let words = banding.solve_interleaved(block_count, policy.result_bits, lower_blocks);
    let layer = BumpOutput {
        key_count: keys.len() as u64,
        block_count,
        thresholds,
        words,
    };
    (layer, bumped)
}

/// Solves the base layer: returns its slot count, the attempt that succeeded and the
/// packed solution.
fn build_base<R: Row>(
    keys: &[R],
    policy: &FilterPolicy,
    bump_layer_count: usize,
    knobs: BuildKnobs,
) -> Result<(u64, u64, Vec<u8>)> {
    if keys.is_empty() {
        return Ok((0, 0, Vec::new()));
    }
    let key_count = keys.len() as u64;
    let mut slot_count = key_count + key_count * knobs.base_slack_per_64 / 64 + 3;
    let mask = result_mask(policy.result_bits);
    let attempt_seed0 = base_seed(policy.seed, bump_layer_count, 0);
    for attempt in 0..knobs.base_attempts_max {
        let width = u32::try_from(slot_count.min(u64::from(BASE_ROW_BITS))).expect("at most 64");
        let num_starts = slot_count - u64::from(width) + 1;
        let row_mask = u64::low_mask(width);
        let mut banding = Banding::<u64>::new(usize::try_from(slot_count).expect("fits memory"));
        let reseed = (attempt > 0).then(|| base_seed(policy.seed, bump_layer_count, attempt));
        let solved = keys.iter().all(|&row| {
            // Keys arrive mixed with the attempt-0 seed; undo that for other attempts.
            let row = match reseed {
                Some(seed) => row.rekey(mix(unmix(row.key(), attempt_seed0), seed)),
                None => row,
            };
            let key = row.key();
            let start = usize::try_from(fastrange(key, num_starts)).expect("start < slot count");
            banding.insert(start, u64::from_hash(key) & row_mask, row.result(mask))
                != Insert::Failed
        });
        if solved {
            return Ok((slot_count, attempt, banding.solve_rows(policy.result_bits)));
        }
        slot_count += (slot_count / 64).max(1);
    }
    Err(Error::ConstructionFailed {
        attempts: u32::try_from(knobs.base_attempts_max).unwrap_or(u32::MAX),
    })
}

/// The inverse of [`mix`].
fn unmix(z: u64, seed: u64) -> u64 {
    const INVERSE_LOW: u64 = mod_inverse(0xC4CE_B9FE_1A85_EC53);
    const INVERSE_HIGH: u64 = mod_inverse(0xFF51_AFD7_ED55_8CCD);
    // `x ^ (x >> 33)` undoes itself for 64-bit words.
    let mut x = z ^ (z >> 33);
    x = x.wrapping_mul(INVERSE_LOW);
    x ^= x >> 33;
    x = x.wrapping_mul(INVERSE_HIGH);
    x ^= x >> 33;
    x ^ seed
}

/// The multiplicative inverse of an odd number modulo 2^64 (Newton's iteration: each
/// step doubles the correct low bits, from 3 to more than 64).
const fn mod_inverse(odd: u64) -> u64 {
    let mut inverse = odd;
    let mut step = 0;
    while step < 5 {
        inverse = inverse.wrapping_mul(2_u64.wrapping_sub(odd.wrapping_mul(inverse)));
        step += 1;
    }
    inverse
}

/// Outcome of inserting one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Insert {
    Stored(usize),
    Redundant,
    Failed,
}

/// The banded system under construction: per slot a coefficient row (0 = empty) and
/// its result bits.
struct Banding<C> {
    /// Coefficient row per slot.
    coeffs: Vec<C>,
    /// Result bits per slot (apart from the rows: no padding between the two).
    results: Vec<u32>,
}

impl<C: Coeff> Banding<C> {
    fn new(slot_count: usize) -> Self {
        Self {
            coeffs: vec![C::ZERO; slot_count],
            results: vec![0; slot_count],
        }
    }

    /// Inserts `coeff` (bit 0 set, reaching no slot past the end) at `start`.
    #[inline(never)]
    fn insert(&mut self, mut start: usize, mut coeff: C, mut result: u32) -> Insert {
        loop {
            let (existing, existing_result) = (self.coeffs[start], self.results[start]);
            if existing == C::ZERO {
                self.coeffs[start] = coeff;
                self.results[start] = result;
                return Insert::Stored(start);
            }
            coeff = coeff ^ existing;
            result ^= existing_result;
            if coeff == C::ZERO {
                return if result == 0 {
                    Insert::Redundant
                } else {
                    Insert::Failed
                };
            }
            let shift = coeff.trailing_zeros();
            coeff = coeff >> shift;
            start += shift as usize;
        }
    }

    fn clear(&mut self, slot: usize) {
        self.coeffs[slot] = C::ZERO;
        self.results[slot] = 0;
    }

    /// Back-substitution into interleaved column words, block by block.
    #[inline(never)]
    fn solve_interleaved(
        &self,
        block_count: usize,
        result_bits: u32,
        lower_blocks: usize,
    ) -> Vec<C> {
        let row_bits = C::BITS as usize;
        let lower_columns = result_bits as usize - 1;
        let word_count = block_count * result_bits as usize - lower_blocks;
        let mut words = vec![C::ZERO; word_count];
        let mut windows = [C::ZERO; 32];
        let windows = &mut windows[..result_bits as usize];
        for block in (0..block_count).rev() {
            for slot in (block * row_bits..(block + 1) * row_bits).rev() {
                let (coeff, result) = (self.coeffs[slot], self.results[slot]);
                let coeff = coeff >> 1;
                for (column, window) in windows.iter_mut().enumerate() {
                    let bit = ((result >> column) & 1) ^ (coeff & *window).parity();
                    *window = (*window << 1) | C::from_bit(bit);
                }
            }
            let columns = if block < lower_blocks {
                lower_columns
            } else {
                lower_columns + 1
            };
            let offset = block * lower_columns + block.saturating_sub(lower_blocks);
            words[offset..offset + columns].copy_from_slice(&windows[..columns]);
        }
        words
    }

    /// Back-substitution into rows of `result_bits` bits, packed LSB first.
    fn solve_rows(&self, result_bits: u32) -> Vec<u8> {
        let slot_count = self.coeffs.len();
        let mut rows = vec![0_u32; slot_count];
        for slot in (0..slot_count).rev() {
            let (coeff, mut row) = (self.coeffs[slot], self.results[slot]);
            let mut coeff = coeff >> 1;
            let mut next = slot + 1;
            while coeff != C::ZERO {
                let skip = coeff.trailing_zeros();
                next += skip as usize;
                row ^= rows[next];
                coeff = (coeff >> skip) >> 1;
                next += 1;
            }
            rows[slot] = row;
        }
        let mut packed = vec![0_u8; (slot_count * result_bits as usize).div_ceil(8)];
        for (slot, &row) in rows.iter().enumerate() {
            for bit in 0..result_bits as usize {
                if (row >> bit) & 1 == 1 {
                    let position = slot * result_bits as usize + bit;
                    packed[position / 8] |= 1 << (position % 8);
                }
            }
        }
        packed
    }
}

#[cfg(test)]
mod tests;
