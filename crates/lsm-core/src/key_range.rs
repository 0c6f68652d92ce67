//! [`KeyRange`]: an inclusive range of user keys, as a table or run covers.

use crate::UserKey;

/// The inclusive range `min..=max` of user keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyRange {
    min: UserKey,
    max: UserKey,
}

impl KeyRange {
    /// The range `min..=max`.
    ///
    /// # Panics
    /// When `min > max`.
    #[must_use]
    pub fn new(min: UserKey, max: UserKey) -> Self {
        assert!(min <= max, "key range with min above max");
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
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.min.as_bytes() <= key && key <= self.max.as_bytes()
    }

    /// Whether the two ranges share a key.
    #[must_use]
    pub fn overlaps_with(&self, other: &Self) -> bool {
        self.min <= other.max && other.min <= self.max
    }

    /// The smallest range covering both.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        Self {
            min: self.min.clone().min(other.min.clone()),
            max: self.max.clone().max(other.max.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: &str, max: &str) -> KeyRange {
        KeyRange::new(min.into(), max.into())
    }

    #[test]
    fn overlap_is_inclusive_on_both_ends() {
        assert!(range("a", "c").overlaps_with(&range("c", "d")));
        assert!(!range("a", "b").overlaps_with(&range("c", "d")));
        assert!(range("a", "z").overlaps_with(&range("c", "d")));
        assert!(range("b", "b").contains_key(b"b"));
        assert!(!range("b", "b").contains_key(b"ba"));
        assert_eq!(range("b", "c").union(&range("a", "b")), range("a", "c"));
    }
}
