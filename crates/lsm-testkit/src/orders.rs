//! Key orders the tests run under besides the lexicographic one: [`Reversed`] bytes and
//! [`Numeric`] (keys as decimal numbers of any width), and [`TestOrder`] to pick one;
//! [`BytesThroughComparator`], the lexicographic order behind the comparator interface,
//! for measuring what a comparator's call costs.

use std::cmp::Ordering;
use std::sync::Arc;

use lsm_core::{KeyOrder, UserComparator};

/// The bytes' lexicographic order through the comparator interface (not marked
/// lexicographic, so every comparison is a dynamic call).
#[derive(Clone, Copy, Debug)]
pub struct BytesThroughComparator;

impl UserComparator for BytesThroughComparator {
    fn name(&self) -> &'static str {
        "test.bytes"
    }

    fn compare(&self, left: &[u8], right: &[u8]) -> Ordering {
        left.cmp(right)
    }
}

/// The bytes' lexicographic order, reversed.
#[derive(Clone, Copy, Debug)]
pub struct Reversed;

impl UserComparator for Reversed {
    fn name(&self) -> &'static str {
        "test.reversed"
    }

    fn compare(&self, left: &[u8], right: &[u8]) -> Ordering {
        right.cmp(left)
    }
}

/// Keys as decimal numbers without leading zeros, of any width: shorter is smaller,
/// then the digits in order. Keys that are not such numbers sort by the same rule (it
/// is a total order on byte strings, equal only for equal bytes).
#[derive(Clone, Copy, Debug)]
pub struct Numeric;

impl UserComparator for Numeric {
    fn name(&self) -> &'static str {
        "test.numeric"
    }

    fn compare(&self, left: &[u8], right: &[u8]) -> Ordering {
        left.len().cmp(&right.len()).then_with(|| left.cmp(right))
    }
}

/// Which order a test runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestOrder {
    /// The default.
    Lexicographic,
    /// [`Reversed`].
    Reversed,
    /// [`Numeric`].
    Numeric,
}

impl TestOrder {
    /// Every order.
    pub const ALL: [Self; 3] = [Self::Lexicographic, Self::Reversed, Self::Numeric];

    /// The comparator, `None` for the default.
    #[must_use]
    pub fn comparator(self) -> Option<Arc<dyn UserComparator>> {
        match self {
            Self::Lexicographic => None,
            Self::Reversed => Some(Arc::new(Reversed)),
            Self::Numeric => Some(Arc::new(Numeric)),
        }
    }

    /// The order's [`KeyOrder`].
    #[must_use]
    pub fn key_order(self) -> KeyOrder {
        self.comparator()
            .map_or_else(KeyOrder::lexicographic, KeyOrder::new)
    }

    /// The key of index `idx` (below [`crate::ops::KEY_COUNT`]): keys ascend in this
    /// order as their indexes do. Lexicographic: [`crate::ops::key`]; numeric: the
    /// cube of the index plus one, in decimal (one to five digits); reversed: two bytes
    /// that descend as the index grows.
    #[must_use]
    pub fn key(self, idx: u8) -> Vec<u8> {
        match self {
            Self::Lexicographic => crate::ops::key(idx),
            Self::Numeric => (u64::from(idx).pow(3) + 1).to_string().into_bytes(),
            Self::Reversed => vec![b'z' - idx / 6, b'5' - idx % 6],
        }
    }

    /// The bounds an [`crate::ops::Op::RemoveRange`] deletes, as
    /// [`crate::ops::range_bounds`] in this order: from key `start` (or below every key,
    /// for 0) to the key `span` further on (or past every key).
    #[must_use]
    pub fn range_bounds(self, start: u8, span: u8) -> (Vec<u8>, Vec<u8>) {
        if self == Self::Lexicographic {
            return crate::ops::range_bounds(start, span);
        }
        let lower = match (start, self) {
            (0, Self::Numeric) => Vec::new(),
            (0, _) => vec![0xFF],
            _ => self.key(start),
        };
        let end_idx = u16::from(start) + u16::from(span);
        let upper = u8::try_from(end_idx)
            .ok()
            .filter(|&idx| idx < crate::ops::KEY_COUNT)
            .map_or_else(
                || match self {
                    Self::Numeric => b"99999999".to_vec(),
                    _ => b"0".to_vec(),
                },
                |idx| self.key(idx),
            );
        (lower, upper)
    }

    /// The one-byte prefix number `p` of the prefix scans the model test runs.
    #[must_use]
    pub fn prefix(self, p: u8) -> [u8; 1] {
        match self {
            Self::Lexicographic => [b'a' + p],
            Self::Numeric => [b'1' + p % 9],
            Self::Reversed => [b'z' - p],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ascend_with_their_index_in_every_order() {
        for test_order in TestOrder::ALL {
            let order = test_order.key_order();
            for idx in 1..crate::ops::KEY_COUNT {
                assert!(order.lt(&test_order.key(idx - 1), &test_order.key(idx)));
                let (lower, upper) = test_order.range_bounds(idx, 3);
                assert!(order.lt(&lower, &upper), "{test_order:?} {idx}");
                let (lower, upper) = test_order.range_bounds(0, 40);
                assert!(order.lt(&lower, &test_order.key(0)));
                assert!(order.lt(&test_order.key(idx), &upper));
            }
        }
    }

    #[test]
    fn numbers_of_any_width_sort_by_value() {
        let order = TestOrder::Numeric.key_order();
        assert!(order.lt(b"9", b"10"));
        assert!(order.lt(b"99", b"100"));
        assert!(order.lt(b"100", b"101"));
        let reversed = TestOrder::Reversed.key_order();
        assert!(reversed.lt(b"b", b"a"));
        assert!(reversed.lt(b"ab", b"a"));
    }
}
