//! Hashing: key bytes to a 64-bit hash, and a hash to each layer's start, coefficient
//! row and fingerprint.
//!
//! Callers pass 64-bit hashes, which need not be uniform (0, 1, 2, ... is fine): every
//! layer first remixes its input with a bijective finaliser under a layer seed, and the
//! next layer's input is the previous layer's remixed hash. From a remixed hash `x`:
//!
//! - start = high 64 bits of `x * num_starts` (uniform in `0..num_starts`);
//! - coefficient row = `x * K1` (and `x * K2` for the upper half of 128-bit rows),
//!   lowest bit forced to 1 so that every row has a pivot at its start;
//! - fingerprint = bits 32..64 of `x * K3`, masked to the result bits.
//!
//! Different odd multipliers make the three practically independent.

use xxhash_rust::xxh3::xxh3_64;

/// The 64-bit hash of a key that filters use: XXH3-64 with seed 0.
#[must_use]
pub fn hash(key: &[u8]) -> u64 {
    xxh3_64(key)
}

const COEFF_MUL_LOW: u64 = 0x9E37_79B9_7F4A_7C15;
const COEFF_MUL_HIGH: u64 = 0xD6E8_FEB8_6659_FD93;
const FINGERPRINT_MUL: u64 = 0xA076_1D64_78BD_642F;
const SEED_MUL: u64 = 0xE703_7ED1_A0B4_28DB;

/// The seed of layer `layer_idx` (base-layer attempts count as further layers).
pub(crate) fn layer_seed(policy_seed: u64, layer_idx: u64) -> u64 {
    mix(
        policy_seed ^ (layer_idx + 1).wrapping_mul(SEED_MUL),
        0x5851_F42D_4C95_7F2D,
    )
}

/// A bijective finaliser of `x ^ seed` (the MurmurHash3 64-bit finaliser).
#[inline]
pub(crate) fn mix(x: u64, seed: u64) -> u64 {
    let mut z = x ^ seed;
    z = (z ^ (z >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z = (z ^ (z >> 33)).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    z ^ (z >> 33)
}

/// A uniform value in `0..range` from the high bits of `x`.
#[inline]
pub(crate) fn fastrange(x: u64, range: u64) -> u64 {
    // The high half of a 64x64-bit product fits in 64 bits.
    ((u128::from(x) * u128::from(range)) >> 64) as u64
}

/// The low 64 bits of the coefficient row of `x` (before forcing the pivot bit).
#[inline]
pub(crate) fn coeff_low(x: u64) -> u64 {
    x.wrapping_mul(COEFF_MUL_LOW)
}

/// The high 64 bits of a 128-bit coefficient row of `x`.
#[inline]
pub(crate) fn coeff_high(x: u64) -> u64 {
    x.wrapping_mul(COEFF_MUL_HIGH)
}

/// The fingerprint of `x`, masked to `result_mask`.
#[inline]
pub(crate) fn fingerprint(x: u64, result_mask: u32) -> u32 {
    // Bits 32..64 of the product.
    let bits = (x.wrapping_mul(FINGERPRINT_MUL) >> 32) as u32;
    bits & result_mask
}

/// The mask of the low `bits` bits (`bits <= 32`).
pub(crate) fn result_mask(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1 << bits) - 1
    }
}

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "test arithmetic on small values"
)]
mod tests {
    use super::*;

    #[test]
    fn mix_spreads_structured_input() {
        // Consecutive inputs land in all quarters of the range.
        let mut quarters = [0; 4];
        for x in 0..1000 {
            quarters[fastrange(mix(x, 1), 4) as usize] += 1;
        }
        assert!(quarters.iter().all(|&count| count > 200), "{quarters:?}");
        assert_eq!(result_mask(32), u32::MAX);
        assert_eq!(result_mask(7), 0x7F);
        assert_ne!(layer_seed(0, 0), layer_seed(0, 1));
    }
}
