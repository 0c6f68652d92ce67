//! Coefficient rows of 64 or 128 bits, behind one trait so that banding,
//! back-substitution and queries are written once.

use std::fmt::Debug;
use std::ops::{BitAnd, BitOr, BitXor, Shl, Shr};

use crate::hashing::{coeff_high, coeff_low};

/// A coefficient row (and a column word of the interleaved solution).
pub(crate) trait Coeff:
    Copy
    + Debug
    + Eq
    + Default
    + BitXor<Output = Self>
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + Shl<u32, Output = Self>
    + Shr<u32, Output = Self>
{
    /// Bits in a row: the ribbon width.
    const BITS: u32;
    /// Bytes of one encoded word.
    const BYTES: usize;
    /// The all-zero row.
    const ZERO: Self;

    /// The coefficient row of layer hash `x`, pivot bit set.
    fn from_hash(x: u64) -> Self;
    /// The low `bits` bits set (`1 <= bits <= BITS`).
    fn low_mask(bits: u32) -> Self;
    /// Index of the lowest set bit.
    fn trailing_zeros(self) -> u32;
    /// Parity of the set bits.
    fn parity(self) -> u32;
    /// The row with only bit 0 set to `bit` (0 or 1).
    fn from_bit(bit: u32) -> Self;
    /// Appends the little-endian bytes.
    fn encode_into(self, out: &mut Vec<u8>);
    /// Reads a word from exactly `Self::BYTES` little-endian bytes.
    fn decode(bytes: &[u8]) -> Self;
}

impl Coeff for u64 {
    const BITS: u32 = 64;
    const BYTES: usize = 8;
    const ZERO: Self = 0;

    #[inline]
    fn from_hash(x: u64) -> Self {
        coeff_low(x) | 1
    }

    fn low_mask(bits: u32) -> Self {
        if bits >= 64 {
            u64::MAX
        } else {
            (1 << bits) - 1
        }
    }

    #[inline]
    fn trailing_zeros(self) -> u32 {
        u64::trailing_zeros(self)
    }

    #[inline]
    fn parity(self) -> u32 {
        self.count_ones() & 1
    }

    #[inline]
    fn from_bit(bit: u32) -> Self {
        u64::from(bit)
    }

    fn encode_into(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }

    #[inline]
    fn decode(bytes: &[u8]) -> Self {
        let mut word = [0; 8];
        word.copy_from_slice(bytes);
        u64::from_le_bytes(word)
    }
}

impl Coeff for u128 {
    const BITS: u32 = 128;
    const BYTES: usize = 16;
    const ZERO: Self = 0;

    #[inline]
    fn from_hash(x: u64) -> Self {
        (u128::from(coeff_high(x)) << 64 | u128::from(coeff_low(x))) | 1
    }

    fn low_mask(bits: u32) -> Self {
        if bits >= 128 {
            u128::MAX
        } else {
            (1 << bits) - 1
        }
    }

    #[inline]
    fn trailing_zeros(self) -> u32 {
        u128::trailing_zeros(self)
    }

    #[inline]
    fn parity(self) -> u32 {
        self.count_ones() & 1
    }

    #[inline]
    fn from_bit(bit: u32) -> Self {
        u128::from(bit)
    }

    fn encode_into(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }

    #[inline]
    fn decode(bytes: &[u8]) -> Self {
        let mut word = [0; 16];
        word.copy_from_slice(bytes);
        u128::from_le_bytes(word)
    }
}
