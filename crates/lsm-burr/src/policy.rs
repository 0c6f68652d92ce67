//! [`FilterPolicy`]: how accurate a filter is, and the ribbon width.
//!
//! Accuracy is given as a false-positive rate or as bits per key; both may be
//! fractional. A filter answers each key from `r` or `r - 1` result bits ("columns"):
//! blocks of slots in the lower part of each layer keep `r - 1` columns, the rest `r`.
//! A share `q` of lower blocks gives a false-positive rate of
//! `q * 2^-(r-1) + (1 - q) * 2^-r` at an average of `r - q` bits per slot.

use crate::{Error, Result};

/// The width of a ribbon's coefficient rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RibbonWidth {
    /// 64-bit rows: faster to build and query; about 0.3% above the space bound.
    #[default]
    W64,
    /// 128-bit rows: about 0.1% above the space bound, slower.
    W128,
}

impl RibbonWidth {
    /// Bits per coefficient row.
    #[must_use]
    pub fn bits(self) -> u32 {
        match self {
            Self::W64 => 64,
            Self::W128 => 128,
        }
    }
}

/// Longest result (fingerprint) a filter stores per key.
pub const RESULT_BITS_MAX: u32 = 32;

/// How a filter is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FilterPolicy {
    /// Result bits of the upper blocks (lower blocks keep one fewer).
    pub(crate) result_bits: u32,
    /// Share of lower blocks, in units of 2^-16.
    pub(crate) lower_share: u16,
    pub(crate) width: RibbonWidth,
    pub(crate) seed: u64,
}

impl FilterPolicy {
    /// A policy for false-positive rate `fpr` (fractional bits per key as needed).
    ///
    /// # Errors
    /// [`Error::InvalidFpr`] unless `2^-32 <= fpr <= 0.5`.
    pub fn fpr(fpr: f64) -> Result<Self> {
        if !(fpr.is_finite() && (2f64.powi(-32)..=0.5).contains(&fpr)) {
            return Err(Error::InvalidFpr(fpr));
        }
        // Lower columns L = floor(log2(1/fpr)); upper columns L + 1.
        let lower_columns = (1.0 / fpr).log2().floor();
        let share = fpr * 2f64.powf(lower_columns + 1.0) - 1.0;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "1 <= L <= 32"
        )]
        let lower_columns = lower_columns as u32;
        if share >= 1.0 - 1e-9 {
            // fpr is a power of two: every block keeps L columns.
            return Ok(Self::from_parts(lower_columns, 0.0));
        }
        Ok(Self::from_parts(lower_columns + 1, share))
    }

    /// A policy for `bits_per_key` result bits per key on average (fractional allowed);
    /// the false-positive rate is then about `2^-bits_per_key`.
    ///
    /// # Errors
    /// [`Error::InvalidBitsPerKey`] unless `1 <= bits_per_key <= 32`.
    pub fn bits_per_key(bits_per_key: f64) -> Result<Self> {
        if !(bits_per_key.is_finite() && (1.0..=32.0).contains(&bits_per_key)) {
            return Err(Error::InvalidBitsPerKey(bits_per_key));
        }
        let upper = bits_per_key.ceil();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "1 <= upper <= 32"
        )]
        let result_bits = upper as u32;
        Ok(Self::from_parts(result_bits, upper - bits_per_key))
    }

    pub(crate) fn from_parts(result_bits: u32, share: f64) -> Self {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "share in [0, 1)"
        )]
        let lower_share = (share.clamp(0.0, 1.0) * 65_536.0).round().min(65_535.0) as u16;
        // With a single column there is nothing to take from the lower blocks.
        let lower_share = if result_bits > 1 { lower_share } else { 0 };
        Self {
            result_bits,
            lower_share,
            width: RibbonWidth::W64,
            seed: 0,
        }
    }

    /// The same policy with another ribbon width.
    #[must_use]
    pub fn with_width(mut self, width: RibbonWidth) -> Self {
        self.width = width;
        self
    }

    /// The same policy with another hash seed (filters of one key set under different
    /// seeds answer false positives independently).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The designed false-positive rate.
    #[must_use]
    pub fn design_fpr(&self) -> f64 {
        let share = f64::from(self.lower_share) / 65_536.0;
        let upper = 2f64.powi(-i32::try_from(self.result_bits).unwrap_or(32));
        share * 2.0 * upper + (1.0 - share) * upper
    }

    /// The designed result bits per key (before the few tenths of a percent of overhead).
    #[must_use]
    pub fn design_bits_per_key(&self) -> f64 {
        f64::from(self.result_bits) - f64::from(self.lower_share) / 65_536.0
    }

    /// The ribbon width.
    #[must_use]
    pub fn width(&self) -> RibbonWidth {
        self.width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_and_fractional_policies() {
        let seven = FilterPolicy::bits_per_key(7.0).unwrap();
        assert_eq!((seven.result_bits, seven.lower_share), (7, 0));
        assert!((seven.design_fpr() - 2f64.powi(-7)).abs() < 1e-12);
        let one_percent = FilterPolicy::fpr(0.01).unwrap();
        assert_eq!(one_percent.result_bits, 7);
        assert!((one_percent.design_fpr() - 0.01).abs() < 1e-6);
        assert!((one_percent.design_bits_per_key() - 6.72).abs() < 0.001);
        let exact = FilterPolicy::fpr(2f64.powi(-10)).unwrap();
        assert_eq!((exact.result_bits, exact.lower_share), (10, 0));
        assert_eq!(FilterPolicy::fpr(0.5).unwrap().result_bits, 1);
        for bad in [0.0, 0.6, 1.0, f64::NAN, -1.0, 1e-12] {
            assert!(FilterPolicy::fpr(bad).is_err(), "{bad}");
        }
        for bad in [0.0, 0.5, 33.0, f64::INFINITY] {
            assert!(FilterPolicy::bits_per_key(bad).is_err(), "{bad}");
        }
    }
}
