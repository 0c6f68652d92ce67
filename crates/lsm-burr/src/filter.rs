//! [`BurrFilter`] (owned) and [`FilterRef`] (a zero-copy view of encoded bytes), and the
//! query both share.
//!
//! A query remixes the hash for layer 0, finds its start, and reads the 2-bit threshold
//! of the start's bucket. Unless the key's class is bumped there, layer 0 answers:
//! for each result column, the parity of the coefficient row ANDed with the `w`
//! solution bits from the start must equal that fingerprint bit (a negative usually
//! stops after a column or two). A bumped key moves on to the next layer with its
//! remixed hash; the base layer always answers.
#![deny(clippy::indexing_slicing)]

use std::fmt;

use crate::Result;
use crate::build::{BuildKnobs, build, class_of};
use crate::coeff::Coeff;
use crate::hashing::{fastrange, fingerprint, hash, mix, result_mask};
use crate::layout::{BaseLayer, BumpLayer, Layout};
use crate::policy::{FilterPolicy, RibbonWidth};

/// A built filter that owns its encoded bytes.
#[derive(Clone)]
pub struct BurrFilter {
    bytes: Vec<u8>,
    layout: Layout,
}

/// A filter queried in place over encoded bytes (for instance a cached block).
#[derive(Clone)]
pub struct FilterRef<'a> {
    bytes: &'a [u8],
    layout: Layout,
}

/// What a filter is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterStats {
    /// Distinct keys.
    pub key_count: u64,
    /// Encoded size.
    pub size_in_bytes: usize,
    /// Encoded bits per distinct key.
    pub bits_per_key: f64,
    /// Bytes of the header (the rest is thresholds and solutions).
    pub header_len_bytes: usize,
    /// Keys per layer, bumping layers first, the base layer last.
    pub layer_key_counts: Vec<u64>,
    /// Slots per layer, in the same order.
    pub layer_slot_counts: Vec<u64>,
    /// Ribbon width.
    pub width: RibbonWidth,
    /// Result bits of the upper blocks.
    pub result_bits: u32,
}

impl BurrFilter {
    /// Builds a filter from key hashes (for instance [`crate::hash`] of each key).
    /// Duplicate hashes are fine: the filter is that of the distinct hashes.
    ///
    /// # Errors
    /// [`crate::Error::TooManyKeys`] above 2^40 keys; [`crate::Error::ConstructionFailed`]
    /// when the base layer cannot be solved in 32 attempts (not seen with a sound hash).
    pub fn build(hashes: &[u64], policy: &FilterPolicy) -> Result<Self> {
        Self::build_with_knobs(hashes, policy, BuildKnobs::default())
    }

    pub(crate) fn build_with_knobs(
        hashes: &[u64],
        policy: &FilterPolicy,
        knobs: BuildKnobs,
    ) -> Result<Self> {
        let bytes = build(hashes, policy, knobs)?;
        let layout = Layout::decode(&bytes).expect("a filter this build encoded decodes");
        Ok(Self { bytes, layout })
    }

    /// Takes ownership of encoded bytes (for instance read from disk) and parses them.
    ///
    /// # Errors
    /// As [`FilterRef::decode`].
    pub fn decode(bytes: Vec<u8>) -> Result<Self> {
        let layout = Layout::decode_as(&bytes, false)?;
        Ok(Self { bytes, layout })
    }

    /// Whether the key with this hash may be in the set (always, if it is).
    #[must_use]
    pub fn contains_hash(&self, hash: u64) -> bool {
        contains(&self.layout, &self.bytes, hash)
    }

    /// Whether `key` may be in the set; hashes it with [`crate::hash`].
    #[must_use]
    pub fn contains(&self, key: &[u8]) -> bool {
        self.contains_hash(hash(key))
    }

    /// The encoded filter.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The encoded filter, borrowed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Size of the encoded filter.
    #[must_use]
    pub fn size_in_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Number of distinct keys.
    #[must_use]
    pub fn key_count(&self) -> u64 {
        self.layout.key_count
    }

    /// Layer-by-layer figures.
    #[must_use]
    pub fn stats(&self) -> FilterStats {
        stats(&self.layout, self.bytes.len())
    }
}

impl<'a> FilterRef<'a> {
    /// Parses encoded bytes (no copy; a small per-layer table is allocated).
    ///
    /// # Errors
    /// [`crate::Error::Malformed`] or [`crate::Error::UnsupportedVersion`] when the bytes
    /// are not a whole filter of a version this build reads.
    pub fn decode(bytes: &'a [u8]) -> Result<Self> {
        Ok(Self {
            layout: Layout::decode_as(bytes, false)?,
            bytes,
        })
    }

    /// Whether the key with this hash may be in the set.
    #[must_use]
    pub fn contains_hash(&self, hash: u64) -> bool {
        contains(&self.layout, self.bytes, hash)
    }

    /// Whether `key` may be in the set; hashes it with [`crate::hash`].
    #[must_use]
    pub fn contains(&self, key: &[u8]) -> bool {
        self.contains_hash(hash(key))
    }

    /// Size of the encoded filter.
    #[must_use]
    pub fn size_in_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Number of distinct keys.
    #[must_use]
    pub fn key_count(&self) -> u64 {
        self.layout.key_count
    }

    /// Layer-by-layer figures.
    #[must_use]
    pub fn stats(&self) -> FilterStats {
        stats(&self.layout, self.bytes.len())
    }
}

impl fmt::Debug for BurrFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BurrFilter")
            .field("stats", &self.stats())
            .finish()
    }
}

impl fmt::Debug for FilterRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterRef")
            .field("stats", &self.stats())
            .finish()
    }
}

fn stats(layout: &Layout, size_in_bytes: usize) -> FilterStats {
    let row_bits = u64::from(layout.width.bits());
    let mut layer_key_counts: Vec<u64> = layout.bump.iter().map(|layer| layer.key_count).collect();
    let mut layer_slot_counts: Vec<u64> = layout
        .bump
        .iter()
        .map(|layer| layer.block_count as u64 * row_bits)
        .collect();
    layer_key_counts.push(layout.base.key_count);
    layer_slot_counts.push(layout.base.slot_count);
    #[expect(clippy::cast_precision_loss, reason = "a ratio for display")]
    let bits_per_key = size_in_bytes as f64 * 8.0 / layout.key_count.max(1) as f64;
    FilterStats {
        key_count: layout.key_count,
        size_in_bytes,
        bits_per_key,
        header_len_bytes: layout.header_len,
        layer_key_counts,
        layer_slot_counts,
        width: layout.width,
        result_bits: layout.result_bits,
    }
}

/// The query shared by owned and borrowed filters.
fn contains(layout: &Layout, bytes: &[u8], hash: u64) -> bool {
    match evaluate(layout, bytes, hash) {
        Answer::Found { key, bits, columns } => bits == fingerprint(key, result_mask(columns)),
        Answer::Empty => false,
        Answer::Unreadable => true,
    }
}

/// What the layer that answers for a hash gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The solution's bits for the key, with its hash in that layer and the layer's
    /// column count there.
    Found { key: u64, bits: u32, columns: u32 },
    /// No key of the set reaches the layer the hash lands in.
    Empty,
    /// A section lies outside the bytes (only for bytes the layout did not check).
    Unreadable,
}

/// The bits the structure gives for `hash`: from the first layer that does not bump it.
pub(crate) fn evaluate(layout: &Layout, bytes: &[u8], hash: u64) -> Answer {
    if layout.key_count == 0 {
        return Answer::Empty;
    }
    match layout.width {
        RibbonWidth::W64 => evaluate_with::<u64>(layout, bytes, hash),
        RibbonWidth::W128 => evaluate_with::<u128>(layout, bytes, hash),
    }
}

#[inline]
fn evaluate_with<C: Coeff>(layout: &Layout, bytes: &[u8], hash: u64) -> Answer {
    let mut key = hash;
    for layer in &layout.bump {
        key = mix(key, layer.seed);
        let start = fastrange(key, layer.num_starts);
        if !is_bumped(layer, bytes, start) {
            return query_bump::<C>(layer, bytes, key, start, layout.result_bits);
        }
    }
    query_base(
        &layout.base,
        bytes,
        mix(key, layout.base.seed),
        layout.result_bits,
    )
}

#[inline]
fn is_bumped(layer: &BumpLayer, bytes: &[u8], start: u64) -> bool {
    let bucket = start >> layer.bucket_shift;
    let Some(&packed) = usize::try_from(bucket / 4)
        .ok()
        .and_then(|byte_idx| bytes.get(layer.thresholds.start + byte_idx))
    else {
        return false;
    };
    let threshold = (packed >> (2 * (bucket % 4))) & 0b11;
    let offset = start & ((1 << layer.bucket_shift) - 1);
    class_of(offset, layer.bucket_shift, layer.lower, layer.upper) >= threshold
}

#[inline]
fn query_bump<C: Coeff>(
    layer: &BumpLayer,
    bytes: &[u8],
    key: u64,
    start: u64,
    result_bits: u32,
) -> Answer {
    let row_bits = C::BITS as usize;
    let block = usize::try_from(start).unwrap_or(usize::MAX) / row_bits;
    let offset = u32::try_from(start % u64::from(C::BITS)).unwrap_or(0);
    let lower_columns = result_bits as usize - 1;
    let columns = if block < layer.lower_blocks {
        lower_columns
    } else {
        lower_columns + 1
    };
    let word_offset =
        |block: usize| block * lower_columns + block.saturating_sub(layer.lower_blocks);
    let section = |block: usize| {
        let begin = layer.solution.start + word_offset(block) * C::BYTES;
        bytes.get(begin..begin + columns * C::BYTES)
    };
    // With offset 0 the second block contributes nothing; read the first one twice.
    let second_block = if offset == 0 { block } else { block + 1 };
    let (Some(first), Some(second)) = (section(block), section(second_block)) else {
        return Answer::Unreadable;
    };
    let coeff = C::from_hash(key);
    let mut found = 0_u32;
    for (column, (low, high)) in first
        .chunks_exact(C::BYTES)
        .zip(second.chunks_exact(C::BYTES))
        .enumerate()
    {
        // The w solution bits from `start`: the tail of one block and the head of the next.
        let bits = (C::decode(low) >> offset) | ((C::decode(high) << (C::BITS - 1 - offset)) << 1);
        found |= (bits & coeff).parity() << column;
    }
    Answer::Found {
        key,
        bits: found,
        columns: u32::try_from(columns).unwrap_or(32),
    }
}

fn query_base(base: &BaseLayer, bytes: &[u8], key: u64, result_bits: u32) -> Answer {
    if base.slot_count == 0 {
        return Answer::Empty;
    }
    let Some(solution) = bytes.get(base.solution.clone()) else {
        return Answer::Unreadable;
    };
    let start = usize::try_from(fastrange(key, base.num_starts)).unwrap_or(0);
    let mut coeff = u64::from_hash(key) & u64::low_mask(base.width);
    let mut acc = 0_u32;
    let mut slot = start;
    while coeff != 0 {
        let skip = coeff.trailing_zeros();
        slot += skip as usize;
        acc ^= read_row(solution, slot, result_bits);
        coeff = (coeff >> skip) >> 1;
        slot += 1;
    }
    Answer::Found {
        key,
        bits: acc,
        columns: result_bits,
    }
}

/// Row `slot` of a row-major solution with `result_bits` bits per row.
fn read_row(solution: &[u8], slot: usize, result_bits: u32) -> u32 {
    let bit_position = slot * result_bits as usize;
    let byte_idx = bit_position / 8;
    let mut buffer = [0_u8; 8];
    let available = solution.get(byte_idx..).unwrap_or_default();
    for (slot_byte, &byte) in buffer.iter_mut().zip(available) {
        *slot_byte = byte;
    }
    let bits = u64::from_le_bytes(buffer) >> (bit_position % 8);
    #[expect(clippy::cast_possible_truncation, reason = "masked to at most 32 bits")]
    let row = (bits & u64::from(result_mask(result_bits))) as u32;
    row
}
