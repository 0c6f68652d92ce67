//! [`RangeTombstone`]: a delete of every key in `start..end` older than its seqno.
//!
//! A range tombstone at seqno `s` hides, for reads at seqnos above `s`, every version
//! with a seqno below `s` of every user key `k` with `start <= k < end`. The start may be
//! the empty key (the smallest of all in the lexicographic order); an empty or inverted
//! range deletes nothing and is never stored. Every comparison takes the tree's
//! [`KeyOrder`].

use crate::{KeyOrder, SeqNo, UserKey};

/// A delete of the half-open key range `start..end` at `seqno`; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RangeTombstone {
    /// The first key deleted.
    pub start: UserKey,
    /// The first key past the range (not deleted).
    pub end: UserKey,
    /// The seqno of the delete.
    pub seqno: SeqNo,
}

impl RangeTombstone {
    /// The tombstone, or `None` for an empty or inverted range.
    #[must_use]
    pub fn new(order: &KeyOrder, start: UserKey, end: UserKey, seqno: SeqNo) -> Option<Self> {
        order.lt(&start, &end).then_some(Self { start, end, seqno })
    }

    /// Orders tombstones by start, then end (both in `order`), then seqno.
    #[must_use]
    pub fn cmp_in(&self, order: &KeyOrder, other: &Self) -> std::cmp::Ordering {
        order
            .cmp(&self.start, &other.start)
            .then_with(|| order.cmp(&self.end, &other.end))
            .then_with(|| self.seqno.cmp(&other.seqno))
    }

    /// Whether `key` lies in the range.
    #[must_use]
    pub fn contains_key(&self, order: &KeyOrder, key: &[u8]) -> bool {
        order.le(&self.start, key) && order.lt(key, &self.end)
    }

    /// Whether a read at `read_seqno` sees the tombstone hide the version of `key` at
    /// `version_seqno`.
    #[must_use]
    pub fn hides(
        &self,
        order: &KeyOrder,
        key: &[u8],
        version_seqno: SeqNo,
        read_seqno: SeqNo,
    ) -> bool {
        version_seqno < self.seqno && self.seqno < read_seqno && self.contains_key(order, key)
    }

    /// The part of the tombstone within `lower..upper` (`None` bounds are open), if any.
    #[must_use]
    pub fn clipped(
        &self,
        order: &KeyOrder,
        lower: Option<&UserKey>,
        upper: Option<&UserKey>,
    ) -> Option<Self> {
        let start = match lower {
            Some(lower) if order.lt(&self.start, lower) => lower.clone(),
            _ => self.start.clone(),
        };
        let end = match upper {
            Some(upper) if order.lt(upper, &self.end) => upper.clone(),
            _ => self.end.clone(),
        };
        Self::new(order, start, end, self.seqno)
    }
}

/// The highest seqno among `tombstones` that hides the version of `key` at
/// `version_seqno` from a read at `read_seqno`.
pub fn hiding_seqno<'a>(
    order: &KeyOrder,
    tombstones: impl IntoIterator<Item = &'a RangeTombstone>,
    key: &[u8],
    version_seqno: SeqNo,
    read_seqno: SeqNo,
) -> Option<SeqNo> {
    tombstones
        .into_iter()
        .filter(|tombstone| tombstone.hides(order, key, version_seqno, read_seqno))
        .map(|tombstone| tombstone.seqno)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEX: KeyOrder = KeyOrder::lexicographic();

    fn tombstone(start: &str, end: &str, seqno: SeqNo) -> RangeTombstone {
        RangeTombstone::new(&LEX, start.into(), end.into(), seqno).unwrap()
    }

    #[test]
    fn a_tombstone_hides_older_versions_in_its_half_open_range() {
        let rt = tombstone("b", "d", 10);
        assert!(rt.hides(&LEX, b"b", 9, 11));
        assert!(rt.hides(&LEX, b"c", 0, u64::MAX));
        assert!(!rt.hides(&LEX, b"d", 9, 11), "the end is not deleted");
        assert!(!rt.hides(&LEX, b"a", 9, 11));
        assert!(!rt.hides(&LEX, b"b", 10, 11), "not its own seqno or newer");
        assert!(
            !rt.hides(&LEX, b"b", 9, 10),
            "not for reads at or below its seqno"
        );
        assert!(RangeTombstone::new(&LEX, "b".into(), "b".into(), 1).is_none());
        assert!(RangeTombstone::new(&LEX, "c".into(), "b".into(), 1).is_none());
        let from_the_start = RangeTombstone::new(&LEX, UserKey::empty(), "b".into(), 5).unwrap();
        assert!(from_the_start.hides(&LEX, &[0], 1, 6));
        assert_eq!(
            hiding_seqno(&LEX, [&rt, &tombstone("a", "z", 7)], b"c", 5, 20),
            Some(10)
        );
    }

    #[test]
    fn clipping_keeps_the_part_inside_the_bounds() {
        let rt = tombstone("b", "m", 3);
        assert_eq!(
            rt.clipped(&LEX, Some(&"d".into()), Some(&"f".into())),
            Some(tombstone("d", "f", 3))
        );
        assert_eq!(
            rt.clipped(&LEX, None, Some(&"c".into())),
            Some(tombstone("b", "c", 3))
        );
        assert_eq!(rt.clipped(&LEX, Some(&"m".into()), None), None);
        assert_eq!(rt.clipped(&LEX, None, None), Some(rt));
    }
}
