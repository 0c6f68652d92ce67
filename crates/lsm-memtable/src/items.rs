//! [`Items`]: the skiplist of a memtable, in the tree's key order.
//!
//! What a search touches is kept small, since a search through a memtable larger than
//! the caches pays a cache miss for nearly every node it visits. In the lexicographic
//! order a skiplist key ([`LexKey`]) holds the user key's first 24 bytes in the node as
//! big-endian words (a comparison of short keys is two or three integer comparisons,
//! with no call and no pointer followed), the whole key boxed only when it is longer
//! (followed only when two keys share their first 24 bytes), the seqno and the type;
//! values are held as their bare buffers (the node carries a 16-byte handle, not a
//! window). Under a custom comparator each key carries
//! the comparator (the skiplist orders keys by their own `Ord`), which costs a pointer
//! per entry and a dynamic call per comparison, and only in trees that asked for another
//! order.

use std::cmp::{Ordering, Reverse};
use std::ops::Bound;
use std::sync::Arc;

use crossbeam_skiplist::SkipMap;
use lsm_core::{
    InternalEntry, InternalKey, KeyOrder, SeqNo, SharedComparator, UserKey, UserValue, ValueType,
};

/// A stored value: the whole buffer of its bytes (see [`UserValue::into_whole_buffer`]).
type StoredValue = Arc<[u8]>;

/// The entries of a memtable; see the module docs.
pub(crate) enum Items {
    Lexicographic(SkipMap<LexKey, StoredValue>),
    Ordered(SkipMap<OrderedKey, StoredValue>, SharedComparator),
}

/// Bytes of a user key held in a [`LexKey`] itself.
const HEAD_BYTES: usize = 24;
const HEAD_WORDS: usize = HEAD_BYTES / 8;

/// An internal key in the lexicographic order (see the module docs).
pub(crate) struct LexKey {
    /// The user key's first [`HEAD_BYTES`] bytes as big-endian words, zero past its end.
    /// Comparing the words compares the bytes; when they tie, a key no longer than the
    /// head is a prefix of the other (the zeros stand for its missing bytes), so the
    /// lengths order them.
    head: [u64; HEAD_WORDS],
    /// The whole user key, when it is longer than the head.
    long: Option<Box<UserKey>>,
    seqno: SeqNo,
    /// The user key's length, when it fits the head.
    short_len: u8,
    value_type: ValueType,
}

impl LexKey {
    #[expect(
        clippy::big_endian_bytes,
        reason = "big-endian words compare as the bytes they hold"
    )]
    fn new(
        user_key: &[u8],
        seqno: SeqNo,
        value_type: ValueType,
        whole: impl FnOnce() -> UserKey,
    ) -> Self {
        let mut padded = [0; HEAD_BYTES];
        let in_head = user_key.len().min(HEAD_BYTES);
        if let (Some(slot), Some(bytes)) = (padded.get_mut(..in_head), user_key.get(..in_head)) {
            slot.copy_from_slice(bytes);
        }
        let mut head = [0; HEAD_WORDS];
        for (word, bytes) in head.iter_mut().zip(padded.chunks_exact(8)) {
            let mut chunk = [0; 8];
            chunk.copy_from_slice(bytes);
            *word = u64::from_be_bytes(chunk);
        }
        let (long, short_len) = match u8::try_from(user_key.len()) {
            Ok(len) if user_key.len() <= HEAD_BYTES => (None, len),
            _ => (Some(Box::new(whole())), 0),
        };
        Self {
            head,
            long,
            seqno,
            short_len,
            value_type,
        }
    }

    fn of(key: &InternalKey) -> Self {
        Self::new(&key.user_key, key.seqno, key.value_type, || {
            key.user_key.clone()
        })
    }

    /// Orders the user keys alone.
    #[inline]
    fn cmp_user_keys(&self, other: &Self) -> Ordering {
        for (mine, theirs) in self.head.iter().zip(&other.head) {
            if mine != theirs {
                return mine.cmp(theirs);
            }
        }
        match (&self.long, &other.long) {
            (None, None) => self.short_len.cmp(&other.short_len),
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(mine), Some(theirs)) => mine
                .get(HEAD_BYTES..)
                .unwrap_or_default()
                .cmp(theirs.get(HEAD_BYTES..).unwrap_or_default()),
        }
    }

    fn user_key(&self) -> UserKey {
        if let Some(key) = &self.long {
            return UserKey::clone(key);
        }
        let mut bytes = [0; HEAD_BYTES];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(&self.head) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        UserKey::new(bytes.get(..usize::from(self.short_len)).unwrap_or_default())
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
        self.cmp_user_keys(other).then_with(|| {
            (Reverse(self.seqno), self.value_type).cmp(&(Reverse(other.seqno), other.value_type))
        })
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
                let $wrap = |key: InternalKey| LexKey::of(&key);
                $body
            }
            Items::Ordered($map, comparator) => {
                let $wrap = |key: InternalKey| OrderedKey {
                    key,
                    comparator: Arc::clone(comparator),
                };
                $body
            }
        }
    };
}

/// The internal key of a skiplist key.
trait Keyed {
    fn to_internal(&self) -> InternalKey;

    /// Whether `other` has the same user key, compared in place.
    fn same_user_key(&self, other: &Self) -> bool;
}

impl Keyed for LexKey {
    fn to_internal(&self) -> InternalKey {
        InternalKey {
            user_key: self.user_key(),
            seqno: self.seqno,
            value_type: self.value_type,
        }
    }

    fn same_user_key(&self, other: &Self) -> bool {
        self.cmp_user_keys(other) == Ordering::Equal
    }
}

impl Keyed for OrderedKey {
    fn to_internal(&self) -> InternalKey {
        self.key.clone()
    }

    fn same_user_key(&self, other: &Self) -> bool {
        self.key.user_key == other.key.user_key
    }
}

fn entry_of<K: Keyed>(entry: &crossbeam_skiplist::map::Entry<'_, K, StoredValue>) -> InternalEntry {
    InternalEntry {
        key: entry.key().to_internal(),
        value: UserValue::from_arc(Arc::clone(entry.value())),
    }
}

/// The first entry of `map` at or after `target`, when it has `target`'s user key.
fn version_at_or_after<K: Keyed + Ord + Send + 'static>(
    map: &SkipMap<K, StoredValue>,
    target: &K,
) -> Option<InternalEntry> {
    map.lower_bound(Bound::Included(target))
        .filter(|entry| entry.key().same_user_key(target))
        .map(|entry| entry_of(&entry))
}

impl Items {
    pub(crate) fn new(order: &KeyOrder) -> Self {
        match order.comparator() {
            None => Self::Lexicographic(SkipMap::new()),
            Some(comparator) => Self::Ordered(SkipMap::new(), Arc::clone(comparator)),
        }
    }

    pub(crate) fn insert(&self, key: InternalKey, value: UserValue) {
        with_map!(self, |map, wrap| {
            map.insert(wrap(key), value.into_whole_buffer());
        });
    }

    /// The first entry at or after (`user_key`, `seqno`), when it is a version of
    /// `user_key` (keys are compared in place: a miss builds nothing, and a short key's
    /// search allocates nothing).
    pub(crate) fn version_at_or_after(
        &self,
        user_key: &[u8],
        seqno: SeqNo,
    ) -> Option<InternalEntry> {
        match self {
            Self::Lexicographic(map) => version_at_or_after(
                map,
                &LexKey::new(user_key, seqno, ValueType::Value, || UserKey::new(user_key)),
            ),
            Self::Ordered(map, comparator) => version_at_or_after(
                map,
                &OrderedKey {
                    key: InternalKey::new(UserKey::new(user_key), seqno, ValueType::Value),
                    comparator: Arc::clone(comparator),
                },
            ),
        }
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
                .map(|entry| UserValue::from_arc(Arc::clone(entry.value())))
        })
    }

    /// Inserts as [`Self::insert`] does, and returns the value it replaced, if an entry
    /// of exactly `key` (user key, seqno and type) was there: one search when it was
    /// not (the common case), two when it was. The stored value is told from `value`
    /// by its buffer, so `value` must not be empty (empty values may share one).
    pub(crate) fn insert_replacing(&self, key: InternalKey, value: UserValue) -> Option<UserValue> {
        let value = value.into_whole_buffer();
        with_map!(self, |map, wrap| {
            let entry = map.get_or_insert(wrap(key.clone()), Arc::clone(&value));
            if Arc::ptr_eq(entry.value(), &value) {
                None
            } else {
                let old = UserValue::from_arc(Arc::clone(entry.value()));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys around the head's length, sharing prefixes, ending in zeros and high bytes.
    fn tricky_keys() -> Vec<Vec<u8>> {
        let mut keys = vec![Vec::new()];
        for len in [1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 26, 40] {
            for fill in [0_u8, b'k', 0xff] {
                let mut key = vec![fill; len];
                keys.push(key.clone());
                if let Some(last) = key.last_mut() {
                    *last = last.wrapping_add(1);
                }
                keys.push(key);
            }
        }
        keys
    }

    #[test]
    fn lexicographic_keys_order_as_internal_keys() {
        let keys = tricky_keys();
        let internal: Vec<InternalKey> = keys
            .iter()
            .flat_map(|key| {
                [
                    (5, ValueType::Value),
                    (5, ValueType::Tombstone),
                    (9, ValueType::Value),
                ]
                .map(|(seqno, value_type)| InternalKey::new(UserKey::new(key), seqno, value_type))
            })
            .collect();
        for left in &internal {
            let left_lex = LexKey::of(left);
            assert_eq!(left_lex.to_internal(), *left, "the key comes back whole");
            for right in &internal {
                assert_eq!(
                    left_lex.cmp(&LexKey::of(right)),
                    left.cmp(right),
                    "{left:?} against {right:?}"
                );
            }
        }
    }
}
