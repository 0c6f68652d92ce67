//! [`Items`]: the skiplist of a memtable, in the tree's key order.
//!
//! In the lexicographic order the skiplist's keys hold a short user key's bytes in the
//! node itself ([`LexKey`]): a search compares without following a pointer to the key's
//! buffer, and the node carries no reference-counted buffer of its own (a longer key is
//! shared as it came). Under a custom comparator each key carries the comparator (the
//! skiplist orders keys by their own `Ord`), which costs a pointer per entry and a
//! dynamic call per comparison, and only in trees that asked for another order.

use std::cmp::{Ordering, Reverse};
use std::ops::Bound;

use crossbeam_skiplist::SkipMap;
use lsm_core::{
    InternalEntry, InternalKey, KeyOrder, SeqNo, SharedComparator, UserKey, UserValue, ValueType,
};

/// The entries of a memtable; see the module docs.
pub(crate) enum Items {
    Lexicographic(SkipMap<LexKey, UserValue>),
    Ordered(SkipMap<OrderedKey, UserValue>, SharedComparator),
}

/// User keys up to this long are held in the skiplist node.
const INLINE_KEY_BYTES: usize = 30;

/// A user key's bytes: in the node when short, else the shared buffer it came in.
enum KeyBytes {
    Inline(u8, [u8; INLINE_KEY_BYTES]),
    Shared(UserKey),
}

impl KeyBytes {
    fn new(key: &UserKey) -> Self {
        match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE_KEY_BYTES => {
                let mut bytes = [0; INLINE_KEY_BYTES];
                if let Some(slot) = bytes.get_mut(..key.len()) {
                    slot.copy_from_slice(key);
                }
                Self::Inline(len, bytes)
            }
            _ => Self::Shared(key.clone()),
        }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline(len, bytes) => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Self::Shared(key) => key,
        }
    }

    fn to_user_key(&self) -> UserKey {
        match self {
            Self::Inline(..) => UserKey::new(self.as_bytes()),
            Self::Shared(key) => key.clone(),
        }
    }
}

/// An internal key in the lexicographic order, its user key held as [`KeyBytes`].
pub(crate) struct LexKey {
    user_key: KeyBytes,
    seqno: SeqNo,
    value_type: ValueType,
}

impl LexKey {
    fn new(key: &InternalKey) -> Self {
        Self {
            user_key: KeyBytes::new(&key.user_key),
            seqno: key.seqno,
            value_type: key.value_type,
        }
    }
}

impl std::fmt::Debug for LexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_internal().fmt(f)
    }
}

impl Ord for LexKey {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        InternalKey::compare_parts(
            (self.user_key.as_bytes(), self.seqno, self.value_type),
            (other.user_key.as_bytes(), other.seqno, other.value_type),
        )
    }
}

impl PartialOrd for LexKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for LexKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for LexKey {}

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
                let $wrap = |key: InternalKey| LexKey::new(&key);
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
    fn to_internal(&self) -> InternalKey;

    /// The user key's bytes, without building a key.
    fn user_key_bytes(&self) -> &[u8];
}

impl Keyed for LexKey {
    fn user_key_bytes(&self) -> &[u8] {
        self.user_key.as_bytes()
    }

    fn to_internal(&self) -> InternalKey {
        InternalKey {
            user_key: self.user_key.to_user_key(),
            seqno: self.seqno,
            value_type: self.value_type,
        }
    }
}

impl Keyed for OrderedKey {
    fn user_key_bytes(&self) -> &[u8] {
        &self.key.user_key
    }

    fn to_internal(&self) -> InternalKey {
        self.key.clone()
    }
}

fn entry_of<K: Keyed>(entry: &crossbeam_skiplist::map::Entry<'_, K, UserValue>) -> InternalEntry {
    InternalEntry {
        key: entry.key().to_internal(),
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

    /// The first entry at or after `target`, when it is a version of `target`'s user key
    /// (the key is compared in place: a miss builds nothing).
    pub(crate) fn version_at_or_after(&self, target: InternalKey) -> Option<InternalEntry> {
        with_map!(self, |map, wrap| {
            let user_key = target.user_key.clone();
            let target = wrap(target);
            map.lower_bound(Bound::Included(&target))
                .filter(|entry| entry.key().user_key_bytes() == user_key.as_bytes())
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

    /// The value stored under exactly `key` (user key, seqno and type), if any.
    pub(crate) fn exact(&self, key: &InternalKey) -> Option<UserValue> {
        with_map!(self, |map, wrap| {
            map.get(&wrap(key.clone()))
                .map(|entry| entry.value().clone())
        })
    }

    /// Inserts as [`Self::insert`] does, and returns the value it replaced, if an entry
    /// of exactly `key` (user key, seqno and type) was there: one search when it was
    /// not (the common case), two when it was. The stored value is told from `value`
    /// by its buffer, so `value` must not be empty (empty values may share one).
    pub(crate) fn insert_replacing(&self, key: InternalKey, value: UserValue) -> Option<UserValue> {
        with_map!(self, |map, wrap| {
            let entry = map.get_or_insert(wrap(key.clone()), value.clone());
            let stored = entry.value();
            let ours = stored.as_ptr() == value.as_ptr() && stored.len() == value.len();
            if ours {
                None
            } else {
                let old = stored.clone();
                map.insert(wrap(key), value);
                Some(old)
            }
        })
    }

    /// Every entry, in order, passed to `visit`.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&InternalKey, &[u8])) {
        with_map!(self, |map, _wrap| {
            for entry in map.iter() {
                visit(&entry.key().to_internal(), entry.value());
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
