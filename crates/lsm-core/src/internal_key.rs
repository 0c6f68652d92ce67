//! [`InternalKey`] and [`InternalEntry`]: the unit every layer below the facade stores.
//!
//! The order of internal keys is the order of every sorted structure in the engine:
//! user key ascending, then seqno descending (newest version first), then value type.

use std::cmp::{Ordering, Reverse};

use crate::{SeqNo, UserKey, UserValue, ValueType};

/// A user key tagged with the seqno and type of one version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InternalKey {
    /// The user key.
    pub user_key: UserKey,
    /// The version's seqno.
    pub seqno: SeqNo,
    /// What the version is.
    pub value_type: ValueType,
}

impl InternalKey {
    /// An internal key.
    pub fn new(user_key: impl Into<UserKey>, seqno: SeqNo, value_type: ValueType) -> Self {
        Self {
            user_key: user_key.into(),
            seqno,
            value_type,
        }
    }

    /// Compares two internal keys given by parts, without building either.
    #[must_use]
    #[inline]
    pub fn compare_parts(
        left: (&[u8], SeqNo, ValueType),
        right: (&[u8], SeqNo, ValueType),
    ) -> Ordering {
        (left.0, Reverse(left.1), left.2).cmp(&(right.0, Reverse(right.1), right.2))
    }

    /// Whether this version is visible to a read at `read_seqno` (strictly below it).
    #[must_use]
    pub fn is_visible_at(&self, read_seqno: SeqNo) -> bool {
        self.seqno < read_seqno
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InternalKey {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        Self::compare_parts(
            (&self.user_key, self.seqno, self.value_type),
            (&other.user_key, other.seqno, other.value_type),
        )
    }
}

/// One version of a key: its internal key and its value (empty for tombstones).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InternalEntry {
    /// The internal key.
    pub key: InternalKey,
    /// The value, an operand, or a blob handle, depending on the value type.
    pub value: UserValue,
}

impl InternalEntry {
    /// An entry.
    pub fn new(
        user_key: impl Into<UserKey>,
        value: impl Into<UserValue>,
        seqno: SeqNo,
        value_type: ValueType,
    ) -> Self {
        Self {
            key: InternalKey::new(user_key, seqno, value_type),
            value: value.into(),
        }
    }

    /// [`Self::new`] under the name the mirrored API gives it.
    pub fn from_components(
        user_key: impl Into<UserKey>,
        value: impl Into<UserValue>,
        seqno: SeqNo,
        value_type: ValueType,
    ) -> Self {
        Self::new(user_key, value, seqno, value_type)
    }

    /// A tombstone entry with an empty value.
    pub fn tombstone(user_key: impl Into<UserKey>, seqno: SeqNo) -> Self {
        Self::new(user_key, UserValue::empty(), seqno, ValueType::Tombstone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_sort_first() {
        let older = InternalKey::new("a", 1, ValueType::Value);
        let newer = InternalKey::new("a", 2, ValueType::Value);
        let next_key = InternalKey::new("b", 9, ValueType::Value);
        assert!(newer < older);
        assert!(older < next_key);
        assert!(older.is_visible_at(2));
        assert!(!older.is_visible_at(1));
    }
}
