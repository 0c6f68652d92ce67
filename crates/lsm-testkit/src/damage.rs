//! Damaged copies of encoded bytes, for corruption sweeps.

/// Every `stride`-th single-bit flip of `bytes`: `(bit index, damaged copy)`.
///
/// # Panics
/// When `stride` is 0.
pub fn bit_flips(bytes: &[u8], stride: usize) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
    (0..bytes.len() * 8).step_by(stride).map(|bit| {
        let mut damaged = bytes.to_vec();
        if let Some(byte) = damaged.get_mut(bit / 8) {
            *byte ^= 1 << (bit % 8);
        }
        (bit, damaged)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_copy_differs_in_exactly_its_bit() {
        let bytes = [0b1010_0101_u8, 0xFF];
        let flips: Vec<_> = bit_flips(&bytes, 1).collect();
        assert_eq!(flips.len(), 16);
        for (bit, damaged) in flips {
            let differing: u32 = damaged
                .iter()
                .zip(&bytes)
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert_eq!(differing, 1, "bit {bit}");
            assert_ne!(damaged[bit / 8], bytes[bit / 8]);
        }
        assert_eq!(bit_flips(&bytes, 3).count(), 6);
    }
}
