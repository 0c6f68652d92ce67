//! [`Items`]: the skiplist of a memtable, in the tree's key order.
//!
//! In the lexicographic order the skiplist's keys are the internal keys themselves,
//! compared inline. Under a custom comparator each key carries the comparator (the
//! skiplist orders keys by their own `Ord`), which costs a pointer per entry and a
//! dynamic call per comparison, and only in trees that asked for another order.

use std::cmp::{Ordering, Reverse};
use std::ops::Bound;

use crossbeam_skiplist::SkipMap;
use lsm_core::{InternalEntry, InternalKey, KeyOrder, SharedComparator, UserValue};

/// The entries of a memtable; see the module docs.
pub(crate) enum Items {
    Lexicographic(SkipMap<InternalKey, UserValue>),
    Ordered(SkipMap<OrderedKey, UserValue>, SharedComparator),
}

/// An internal key that sorts under a custom comparator.
pub(crate) struct OrderedKey {
    key: InternalKey,
    comparator: SharedComparator,
}

impl std::fmt::Debug for Items {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Lexicographic(map) => f.debug_tuple("Lexicographic").field(&map.len()).finish(),
            Self::Ordered(map, comparator) => f
                .debug_tuple("Ordered")
                .field(&comparator.name())
                .field(&map.len())
                .finish(),
        }
    }
}

impl std::fmt::Debug for OrderedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.key.fmt(f)
    }
}

impl Ord for OrderedKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.comparator
            .compare(&self.key.user_key, &other.key.user_key)
            .then_with(|| {
                (Reverse(self.key.seqno), self.key.value_type)
                    .cmp(&(Reverse(other.key.seqno), other.key.value_type))
            })
    }
}

impl PartialOrd for OrderedKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for OrderedKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrderedKey {}

/// Calls `$body` with `$map` bound to the skiplist and `$wrap` to the function that
/// turns an internal key into its key type.
macro_rules! with_map {
    ($items:expr, |$map:ident, $wrap:ident| $body:expr) => {
        match $items {
            Items::Lexicographic($map) => {
                let $wrap = |key: InternalKey| key;
                $body
            }
            Items::Ordered($map, comparator) => {
                let $wrap = |key: InternalKey| OrderedKey {
                    key,
                    comparator: std::sync::Arc::clone(comparator),
                };
                $body
            }
        }
    };
}

/// The internal key of a skiplist key.
trait Keyed {
    fn internal(&self) -> &InternalKey;
}

impl Keyed for InternalKey {
    fn internal(&self) -> &InternalKey {
        self
    }
}

impl Keyed for OrderedKey {
    fn internal(&self) -> &InternalKey {
        &self.key
    }
}

fn entry_of<K: Keyed>(entry: &crossbeam_skiplist::map::Entry<'_, K, UserValue>) -> InternalEntry {
    InternalEntry {
        key: entry.key().internal().clone(),
        value: entry.value().clone(),
    }
}

impl Items {
    pub(crate) fn new(order: &KeyOrder) -> Self {
        match order.comparator() {
            None => Self::Lexicographic(SkipMap::new()),
            Some(comparator) => Self::Ordered(SkipMap::new(), std::sync::Arc::clone(comparator)),
        }
    }

    pub(crate) fn insert(&self, key: InternalKey, value: UserValue) {
        with_map!(self, |map, wrap| {
            map.insert(wrap(key), value);
        });
    }

    /// The first entry at or after `target`.
    pub(crate) fn first_at_or_after(&self, target: InternalKey) -> Option<InternalEntry> {
        with_map!(self, |map, wrap| {
            let target = wrap(target);
            map.lower_bound(Bound::Included(&target))
                .map(|entry| entry_of(&entry))
        })
    }

    /// Up to `limit` entries between `front` and `back`, from the front (or, `reverse`,
    /// from the back), with `visit` called on each.
    pub(crate) fn walk(
        &self,
        front: &Bound<InternalKey>,
        back: &Bound<InternalKey>,
        reverse: bool,
        limit: usize,
        mut visit: impl FnMut(InternalEntry),
    ) {
        with_map!(self, |map, wrap| {
            let bound = |bound: &Bound<InternalKey>| match bound {
                Bound::Included(key) => Bound::Included(wrap(key.clone())),
                Bound::Excluded(key) => Bound::Excluded(wrap(key.clone())),
                Bound::Unbounded => Bound::Unbounded,
            };
            let range = map.range((bound(front), bound(back)));
            if reverse {
                range
                    .rev()
                    .take(limit)
                    .for_each(|entry| visit(entry_of(&entry)));
            } else {
                range.take(limit).for_each(|entry| visit(entry_of(&entry)));
            }
        });
    }

    pub(crate) fn len(&self) -> usize {
        with_map!(self, |map, _wrap| map.len())
    }

    pub(crate) fn is_empty(&self) -> bool {
        with_map!(self, |map, _wrap| map.is_empty())
    }
}
