//! [`KeyRange`]: an inclusive range of user keys, as a table or run covers.

use crate::{KeyOrder, UserKey};

/// The inclusive range `min..=max` of user keys, in the order of the tree they belong to
/// (every comparison takes that [`KeyOrder`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyRange {
    min: UserKey,
    max: UserKey,
}

impl KeyRange {
    /// The range `min..=max`.
    ///
    /// # Panics
    /// When `min > max` in `order`.
    #[must_use]
    pub fn new(order: &KeyOrder, min: UserKey, max: UserKey) -> Self {
        assert!(order.le(&min, &max), "key range with min above max");
        Self { min, max }
    }

    /// The smallest key.
    #[must_use]
    pub fn min(&self) -> &UserKey {
        &self.min
    }

    /// The largest key.
    #[must_use]
    pub fn max(&self) -> &UserKey {
        &self.max
    }

    /// Whether `key` is in the range.
    #[must_use]
    pub fn contains_key(&self, order: &KeyOrder, key: &[u8]) -> bool {
        order.le(&self.min, key) && order.le(key, &self.max)
    }

    /// Whether the two ranges share a key.
    #[must_use]
    pub fn overlaps_with(&self, order: &KeyOrder, other: &Self) -> bool {
        order.le(&self.min, &other.max) && order.le(&other.min, &self.max)
    }

    /// The smallest range covering both.
    #[must_use]
    pub fn union(&self, order: &KeyOrder, other: &Self) -> Self {
        Self {
            min: order.min(&self.min, &other.min).clone(),
            max: order.max(&self.max, &other.max).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEX: KeyOrder = KeyOrder::lexicographic();

    fn range(min: &str, max: &str) -> KeyRange {
        KeyRange::new(&LEX, min.into(), max.into())
    }

    #[test]
    fn overlap_is_inclusive_on_both_ends() {
        assert!(range("a", "c").overlaps_with(&LEX, &range("c", "d")));
        assert!(!range("a", "b").overlaps_with(&LEX, &range("c", "d")));
        assert!(range("a", "z").overlaps_with(&LEX, &range("c", "d")));
        assert!(range("b", "b").contains_key(&LEX, b"b"));
        assert!(!range("b", "b").contains_key(&LEX, b"ba"));
        assert_eq!(
            range("b", "c").union(&LEX, &range("a", "b")),
            range("a", "c")
        );
    }
}
