//! [`ValueType`]: what an internal entry means.

use crate::DecodeError;

/// The kind of an internal entry. The discriminants are the on-disk tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ValueType {
    /// A value.
    Value = 0,
    /// A tombstone: the key is deleted, hiding every older version.
    Tombstone = 1,
    /// A weak (single) tombstone: deletes exactly one older value; compaction may drop it
    /// together with that value.
    WeakTombstone = 2,
    /// A merge operand, folded into older versions by the merge operator.
    MergeOperand = 3,
    /// A pointer to a value stored in a blob file.
    Indirection = 4,
}

impl ValueType {
    /// Whether this entry deletes the key (strongly or weakly).
    #[must_use]
    pub fn is_tombstone(self) -> bool {
        matches!(self, Self::Tombstone | Self::WeakTombstone)
    }

    /// The on-disk tag.
    #[must_use]
    pub fn tag(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for ValueType {
    type Error = DecodeError;

    fn try_from(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            0 => Ok(Self::Value),
            1 => Ok(Self::Tombstone),
            2 => Ok(Self::WeakTombstone),
            3 => Ok(Self::MergeOperand),
            4 => Ok(Self::Indirection),
            _ => Err(DecodeError::UnknownValueType { tag }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_unknown_tags_fail() {
        for tag in 0..=u8::MAX {
            match ValueType::try_from(tag) {
                Ok(value_type) => assert_eq!(value_type.tag(), tag),
                Err(error) => {
                    assert!(tag > 4);
                    assert_eq!(error, DecodeError::UnknownValueType { tag });
                }
            }
        }
    }
}
