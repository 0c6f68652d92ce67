//! The order of user keys: [`UserComparator`], and [`KeyOrder`], the handle every layer
//! compares keys through.
//!
//! A tree orders its user keys lexicographically by their bytes unless it is given
//! another total order. Every sorted structure of the engine (memtables, blocks, tables,
//! runs, key ranges, range tombstones, merges and compaction boundaries) compares keys
//! through one [`KeyOrder`], so that all of them agree. The lexicographic order is
//! [`KeyOrder`]'s default and costs one well-predicted branch over a plain byte
//! comparison; a custom comparator is one dynamic call per comparison.
//!
//! A comparator must be a total order on byte strings that calls two keys equal only
//! when their bytes are equal: filters hash key bytes, and a read finds a key by its
//! bytes. Its name is stored with the tree, and a tree opened under another name is
//! refused before anything is read.

use std::cmp::{Ordering, Reverse};
use std::fmt;
use std::panic::RefUnwindSafe;
use std::sync::Arc;

use crate::{InternalKey, SeqNo, ValueType};

/// A total order on user keys; see the module docs.
pub trait UserComparator: Send + Sync + RefUnwindSafe + 'static {
    /// The order's name, stored with the tree (at most
    /// [`COMPARATOR_NAME_LEN_MAX`] bytes).
    fn name(&self) -> &'static str;

    /// Compares two user keys.
    fn compare(&self, left: &[u8], right: &[u8]) -> Ordering;

    /// Whether this order is the bytes' lexicographic order (then the engine compares
    /// bytes directly, never calling [`Self::compare`]).
    fn is_lexicographic(&self) -> bool {
        false
    }
}

/// A comparator shared by the layers of a tree.
pub type SharedComparator = Arc<dyn UserComparator>;

/// The longest comparator name a tree stores.
pub const COMPARATOR_NAME_LEN_MAX: usize = 256;

/// The name of the lexicographic order.
pub const LEXICOGRAPHIC_NAME: &str = "lexicographic";

/// Byte-wise lexicographic order, the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultUserComparator;

impl UserComparator for DefaultUserComparator {
    fn name(&self) -> &'static str {
        LEXICOGRAPHIC_NAME
    }

    fn compare(&self, left: &[u8], right: &[u8]) -> Ordering {
        left.cmp(right)
    }

    fn is_lexicographic(&self) -> bool {
        true
    }
}

/// The order every layer compares user keys in: lexicographic (the default, compared
/// inline) or a custom [`UserComparator`].
#[derive(Clone)]
pub struct KeyOrder {
    custom: Option<SharedComparator>,
    name: &'static str,
}

impl Default for KeyOrder {
    fn default() -> Self {
        Self::lexicographic()
    }
}

impl KeyOrder {
    /// The lexicographic order.
    #[must_use]
    pub const fn lexicographic() -> Self {
        Self {
            custom: None,
            name: LEXICOGRAPHIC_NAME,
        }
    }

    /// The order of `comparator` (lexicographic ones compare inline, under their own
    /// name).
    #[must_use]
    pub fn new(comparator: SharedComparator) -> Self {
        let name = comparator.name();
        Self {
            custom: (!comparator.is_lexicographic()).then_some(comparator),
            name,
        }
    }

    /// Whether this is the bytes' lexicographic order.
    #[must_use]
    #[inline]
    pub fn is_lexicographic(&self) -> bool {
        self.custom.is_none()
    }

    /// The custom comparator, or `None` for the lexicographic order.
    #[must_use]
    pub fn comparator(&self) -> Option<&SharedComparator> {
        self.custom.as_ref()
    }

    /// The order's name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Compares two user keys.
    #[must_use]
    #[inline]
    pub fn cmp(&self, left: &[u8], right: &[u8]) -> Ordering {
        match &self.custom {
            None => left.cmp(right),
            Some(comparator) => comparator.compare(left, right),
        }
    }

    /// Whether `left < right`.
    #[must_use]
    #[inline]
    pub fn lt(&self, left: &[u8], right: &[u8]) -> bool {
        self.cmp(left, right) == Ordering::Less
    }

    /// Whether `left <= right`.
    #[must_use]
    #[inline]
    pub fn le(&self, left: &[u8], right: &[u8]) -> bool {
        self.cmp(left, right) != Ordering::Greater
    }

    /// The smaller of two keys (the first on a tie).
    #[must_use]
    pub fn min<'a, K: AsRef<[u8]> + ?Sized>(&self, left: &'a K, right: &'a K) -> &'a K {
        if self.le(left.as_ref(), right.as_ref()) {
            left
        } else {
            right
        }
    }

    /// The larger of two keys (the second on a tie).
    #[must_use]
    pub fn max<'a, K: AsRef<[u8]> + ?Sized>(&self, left: &'a K, right: &'a K) -> &'a K {
        if self.le(left.as_ref(), right.as_ref()) {
            right
        } else {
            left
        }
    }

    /// Compares internal keys given by parts: user key in this order, then seqno
    /// descending, then value type.
    #[must_use]
    #[inline]
    pub fn cmp_parts(
        &self,
        left: (&[u8], SeqNo, ValueType),
        right: (&[u8], SeqNo, ValueType),
    ) -> Ordering {
        match &self.custom {
            None => InternalKey::compare_parts(left, right),
            Some(comparator) => comparator
                .compare(left.0, right.0)
                .then_with(|| (Reverse(left.1), left.2).cmp(&(Reverse(right.1), right.2))),
        }
    }

    /// Compares two internal keys.
    #[must_use]
    #[inline]
    pub fn cmp_internal(&self, left: &InternalKey, right: &InternalKey) -> Ordering {
        self.cmp_parts(
            (&left.user_key, left.seqno, left.value_type),
            (&right.user_key, right.seqno, right.value_type),
        )
    }

    /// Compares a user key with a bound's key for a range check: whether `key` lies in
    /// the range `start..end` given as `std::ops::Bound`s.
    #[must_use]
    pub fn contains<K: AsRef<[u8]>>(
        &self,
        start: std::ops::Bound<&K>,
        end: std::ops::Bound<&K>,
        key: &[u8],
    ) -> bool {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let above = match start {
            Included(start) => self.le(start.as_ref(), key),
            Excluded(start) => self.lt(start.as_ref(), key),
            Unbounded => true,
        };
        above
            && match end {
                Included(end) => self.le(key, end.as_ref()),
                Excluded(end) => self.lt(key, end.as_ref()),
                Unbounded => true,
            }
    }
}

impl fmt::Debug for KeyOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyOrder").field(&self.name()).finish()
    }
}

impl PartialEq for KeyOrder {
    /// Orders are equal when their names are: the name is what a tree stores.
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for KeyOrder {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Reversed;

    impl UserComparator for Reversed {
        fn name(&self) -> &'static str {
            "reversed"
        }

        fn compare(&self, left: &[u8], right: &[u8]) -> Ordering {
            right.cmp(left)
        }
    }

    #[test]
    fn a_custom_order_reaches_every_comparison() {
        let order = KeyOrder::new(Arc::new(Reversed));
        assert!(!order.is_lexicographic());
        assert_eq!(order.name(), "reversed");
        assert!(order.lt(b"b", b"a"));
        assert_eq!(*order.min(&b"a"[..], &b"b"[..]), *b"b");
        let newer = InternalKey::new("a", 2, ValueType::Value);
        let older = InternalKey::new("a", 1, ValueType::Value);
        let smaller = InternalKey::new("b", 1, ValueType::Value);
        assert_eq!(order.cmp_internal(&newer, &older), Ordering::Less);
        assert_eq!(order.cmp_internal(&smaller, &newer), Ordering::Less);
        use std::ops::Bound::{Excluded, Included};
        assert!(order.contains(Included(&"c"), Excluded(&"a"), b"b"));
        assert!(!order.contains(Included(&"c"), Excluded(&"a"), b"a"));
    }

    #[test]
    fn the_default_order_is_the_bytes_order() {
        let order = KeyOrder::new(Arc::new(DefaultUserComparator));
        assert!(order.is_lexicographic());
        assert_eq!(order, KeyOrder::lexicographic());
        assert_eq!(order.name(), LEXICOGRAPHIC_NAME);
        assert!(order.lt(b"a", b"ab"));
    }
}
