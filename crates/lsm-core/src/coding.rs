//! Little-endian fixed-width integers and LEB128 varints.
//!
//! Writers append to a `Vec<u8>`; [`Decoder`] reads from a byte slice with a cursor and
//! returns a typed [`DecodeError`] (never a panic) when the bytes end early or a varint
//! is malformed. A varint is malformed when it runs past its type's longest encoding or
//! sets bits beyond its type's width; such bytes never decode to a wrapped value.

use crate::DecodeError;
use crate::limits::{VARINT_U32_LEN_MAX, VARINT_U64_LEN_MAX};

/// Appends a `u16`, little-endian.
pub fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a `u32`, little-endian.
pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a `u64`, little-endian.
pub fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a `u64` as an LEB128 varint (1 to 10 bytes).
pub fn put_varint_u64(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        // Truncation keeps the low seven bits, which is the point.
        #[expect(clippy::cast_possible_truncation, reason = "low seven bits")]
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    #[expect(clippy::cast_possible_truncation, reason = "value < 0x80 here")]
    out.push(value as u8);
}

/// Appends a `u32` as an LEB128 varint (1 to 5 bytes).
pub fn put_varint_u32(out: &mut Vec<u8>, value: u32) {
    put_varint_u64(out, u64::from(value));
}

/// The encoded length of `value` as a varint.
#[must_use]
pub fn varint_len(value: u64) -> usize {
    let significant_bits = 64 - value.leading_zeros() as usize;
    significant_bits.div_ceil(7).max(1)
}

/// A cursor over bytes being decoded.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `bytes`.
    #[must_use]
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// A decoder at `offset` into `bytes`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when `offset` is beyond the end.
    #[inline]
    pub fn at(bytes: &'a [u8], offset: usize) -> Result<Self, DecodeError> {
        if offset > bytes.len() {
            return Err(DecodeError::UnexpectedEof {
                offset,
                needed: 0,
                available: 0,
            });
        }
        Ok(Self { bytes, offset })
    }

    /// The offset of the next byte to read.
    #[must_use]
    #[inline]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// How many bytes are left.
    #[must_use]
    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Whether every byte has been read.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Reads `len` bytes.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer are left.
    #[inline]
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let eof = DecodeError::UnexpectedEof {
            offset: self.offset,
            needed: len,
            available: self.remaining(),
        };
        let end = self.offset.checked_add(len).ok_or(eof.clone())?;
        let taken = self.bytes.get(self.offset..end).ok_or(eof)?;
        self.offset = end;
        Ok(taken)
    }

    /// Reads `N` bytes as an array.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer are left.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0; N];
        array.copy_from_slice(self.bytes(N)?);
        Ok(array)
    }

    /// Reads a `u8`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] at the end.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian `u16`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 2 bytes are left.
    #[inline]
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_le_bytes)
    }

    /// Reads a little-endian `u32`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 4 bytes are left.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_le_bytes)
    }

    /// Reads a little-endian `u64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when fewer than 8 bytes are left.
    #[inline]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_le_bytes)
    }

    /// Reads an LEB128 `u64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] when the bytes end inside the varint;
    /// [`DecodeError::VarintOverflow`] when it is longer than 10 bytes or exceeds `u64`.
    #[inline]
    pub fn varint_u64(&mut self) -> Result<u64, DecodeError> {
        self.varint(VARINT_U64_LEN_MAX, 64)
    }

    /// Reads an LEB128 `u32`.
    ///
    /// # Errors
    /// As [`Self::varint_u64`], with a 5-byte, 32-bit bound.
    #[inline]
    pub fn varint_u32(&mut self) -> Result<u32, DecodeError> {
        let start = self.offset;
        let value = self.varint(VARINT_U32_LEN_MAX, 32)?;
        u32::try_from(value).map_err(|_| DecodeError::VarintOverflow { offset: start })
    }

    /// Reads a varint length as `usize`.
    ///
    /// # Errors
    /// As [`Self::varint_u32`].
    #[inline]
    pub fn varint_len(&mut self) -> Result<usize, DecodeError> {
        self.varint_u32().map(|len| len as usize)
    }

    #[inline]
    fn varint(&mut self, len_max: usize, width_bits: u32) -> Result<u64, DecodeError> {
        let start = self.offset;
        let mut value = 0_u64;
        for byte_idx in 0..len_max {
            let byte = self.u8().map_err(|_| DecodeError::UnexpectedEof {
                offset: start,
                needed: byte_idx + 1,
                available: byte_idx,
            })?;
            let shift = 7 * u32::try_from(byte_idx).expect("varints are at most 10 bytes");
            let payload = u64::from(byte & 0x7F);
            // Bits that would land beyond the type's width make the varint malformed.
            if shift + 7 > width_bits && payload >> (width_bits - shift) != 0 {
                return Err(DecodeError::VarintOverflow { offset: start });
            }
            value |= payload << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow { offset: start })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_encodings() {
        let mut out = Vec::new();
        put_varint_u64(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
        out.clear();
        put_varint_u64(&mut out, u64::MAX);
        assert_eq!(out.len(), VARINT_U64_LEN_MAX);
        assert_eq!(varint_len(u64::MAX), VARINT_U64_LEN_MAX);
        assert_eq!(varint_len(0), 1);
    }

    #[test]
    fn malformed_varints_are_typed_errors() {
        let too_long = [0x80; 11];
        assert_eq!(
            Decoder::new(&too_long).varint_u64(),
            Err(DecodeError::VarintOverflow { offset: 0 })
        );
        // The tenth byte of a u64 may only carry one bit.
        let mut overflow = [0xFF; 10];
        overflow[9] = 0x02;
        assert_eq!(
            Decoder::new(&overflow).varint_u64(),
            Err(DecodeError::VarintOverflow { offset: 0 })
        );
        assert_eq!(
            Decoder::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0x10]).varint_u32(),
            Err(DecodeError::VarintOverflow { offset: 0 })
        );
        assert!(matches!(
            Decoder::new(&[0x80, 0x80]).varint_u64(),
            Err(DecodeError::UnexpectedEof { offset: 0, .. })
        ));
        assert!(matches!(
            Decoder::new(&[1, 2, 3]).u32(),
            Err(DecodeError::UnexpectedEof {
                needed: 4,
                available: 3,
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn varints_round_trip(values in proptest::collection::vec(any::<u64>(), 0..50)) {
            let mut out = Vec::new();
            for &value in &values {
                put_varint_u64(&mut out, value);
                put_u64(&mut out, value);
            }
            let mut decoder = Decoder::new(&out);
            for &value in &values {
                let start = decoder.offset();
                prop_assert_eq!(decoder.varint_u64()?, value);
                prop_assert_eq!(decoder.offset() - start, varint_len(value));
                prop_assert_eq!(decoder.u64()?, value);
            }
            prop_assert!(decoder.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut decoder = Decoder::new(&bytes);
            while decoder.varint_u32().is_ok() {}
            let mut decoder = Decoder::new(&bytes);
            while decoder.varint_u64().is_ok() {}
        }
    }
}
