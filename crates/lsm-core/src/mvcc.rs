//! The MVCC stream: the newest visible version of each user key at a read seqno.
//!
//! Input is a merged stream in internal-key order (all versions of a user key together,
//! newest first). For each user key the stream keeps the newest version with a seqno
//! strictly below the read seqno and drops the rest. Tombstones (strong and weak) hide
//! the key and are dropped too, unless the stream was asked to keep them.
//!
//! Both ends work, and may be mixed: a user key's versions are consumed together in one
//! call from either end, with a one-entry peek at each end that the other end takes over
//! when the two meet. An error from the input is returned before any later key, and the
//! key being assembled when it struck is finished on the following call, so no key is
//! ever answered from a partial set of its versions.

use std::sync::Arc;

use crate::{InternalEntry, SeqNo, UserKey, UserValue, ValueType};

/// Folds merge operands: `(user key, base value, operands oldest first)`.
pub type MergeFn<E> =
    Arc<dyn Fn(&[u8], Option<&[u8]>, &[&[u8]]) -> Result<UserValue, E> + Send + Sync>;

/// Reads the value an indirection entry points to (a value held in a blob file).
pub type ResolveFn<E> = Arc<dyn Fn(&InternalEntry) -> Result<UserValue, E> + Send + Sync>;

/// Whether the stream yields tombstones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tombstones {
    /// Drop keys whose newest visible version is a tombstone (what a reader wants).
    Hide,
    /// Yield the newest visible tombstone like any other version.
    Keep,
}

/// Newest visible version per user key; see the module docs.
pub struct MvccStream<I, E> {
    inner: DoublePeek<I, E>,
    read_seqno: SeqNo,
    tombstones: Tombstones,
    merge: Option<MergeFn<E>>,
    resolve: Option<ResolveFn<E>>,
    front_group: Option<Group>,
    back_group: Option<Group>,
}

/// The versions of one user key seen so far from one end: the visible versions that
/// decide the answer (from the front, newest first up to the first non-operand; from
/// the back, oldest first from the last non-operand on).
struct Group {
    user_key: UserKey,
    chain: Vec<InternalEntry>,
    complete: bool,
}

impl Group {
    fn new(user_key: UserKey) -> Self {
        Self {
            user_key,
            chain: Vec::new(),
            complete: false,
        }
    }

    /// Takes a visible version coming from the front (newest first).
    fn push_front_side(&mut self, entry: InternalEntry) {
        if self.complete {
            return;
        }
        self.complete = entry.key.value_type != ValueType::MergeOperand;
        self.chain.push(entry);
    }

    /// Takes a visible version coming from the back (oldest first).
    fn push_back_side(&mut self, entry: InternalEntry) {
        if entry.key.value_type != ValueType::MergeOperand {
            // Everything older is hidden by it.
            self.chain.clear();
        }
        self.chain.push(entry);
    }
}

impl<I, E> MvccStream<I, E>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    /// The versions of `inner` visible at `read_seqno`, tombstones hidden.
    pub fn new(inner: I, read_seqno: SeqNo) -> Self {
        Self::with_tombstones(inner, read_seqno, Tombstones::Hide)
    }

    /// As [`Self::new`], choosing whether tombstones are yielded.
    pub fn with_tombstones(inner: I, read_seqno: SeqNo, tombstones: Tombstones) -> Self {
        Self {
            inner: DoublePeek {
                inner,
                front: None,
                back: None,
            },
            read_seqno,
            tombstones,
            merge: None,
            resolve: None,
            front_group: None,
            back_group: None,
        }
    }

    /// Restarts the stream: `reposition` restarts its input (both ends, in a new
    /// window), and the versions either end had read ahead are forgotten.
    pub fn restart(&mut self, reposition: impl FnOnce(&mut I)) {
        reposition(&mut self.inner.inner);
        self.inner.front = None;
        self.inner.back = None;
        self.front_group = None;
        self.back_group = None;
    }

    fn is_visible(&self, entry: &InternalEntry) -> bool {
        entry.key.is_visible_at(self.read_seqno)
    }

    /// Folds merge operands with `merge` (see the module docs).
    #[must_use]
    pub fn with_merge(mut self, merge: MergeFn<E>) -> Self {
        self.merge = Some(merge);
        self
    }

    /// Reads the base of a merge with `resolve` when it is an indirection. A tree that
    /// separates values must set it: without it, operands fold onto the handle's bytes.
    #[must_use]
    pub fn with_resolver(mut self, resolve: ResolveFn<E>) -> Self {
        self.resolve = Some(resolve);
        self
    }

    /// Whether `entry`, just taken from the front, is its key's only version there: the
    /// next entry is another key's, or there is none (an error next is not alone: the
    /// group path returns it first).
    fn is_alone_at_front(&mut self, entry: &InternalEntry) -> bool {
        match self.inner.peek_front() {
            None => true,
            Some(Ok(next)) => next.key.user_key != entry.key.user_key,
            Some(Err(_)) => false,
        }
    }

    /// As [`Self::is_alone_at_front`], for an entry taken from the back.
    fn is_alone_at_back(&mut self, entry: &InternalEntry) -> bool {
        match self.inner.peek_back() {
            None => true,
            Some(Ok(next)) => next.key.user_key != entry.key.user_key,
            Some(Err(_)) => false,
        }
    }

    /// The answer for a key whose only version is `entry`.
    fn single(&self, entry: InternalEntry) -> Option<Result<InternalEntry, E>> {
        if !self.is_visible(&entry) {
            return None;
        }
        if entry.key.value_type == ValueType::MergeOperand && self.merge.is_some() {
            return self.finish(vec![entry]);
        }
        let hidden = self.tombstones == Tombstones::Hide && entry.key.value_type.is_tombstone();
        (!hidden).then_some(Ok(entry))
    }

    /// The answer for a key from its decisive versions, newest first.
    fn finish(&self, mut chain: Vec<InternalEntry>) -> Option<Result<InternalEntry, E>> {
        let newest = chain.first()?;
        if newest.key.value_type == ValueType::MergeOperand
            && let Some(merge) = &self.merge
        {
            let operand_count = chain
                .iter()
                .take_while(|entry| entry.key.value_type == ValueType::MergeOperand)
                .count();
            let base_entry = chain
                .get(operand_count)
                .filter(|entry| !entry.key.value_type.is_tombstone());
            let resolved = match (base_entry, &self.resolve) {
                (Some(entry), Some(resolve)) if entry.key.value_type == ValueType::Indirection => {
                    match resolve(entry) {
                        Ok(value) => Some(value),
                        Err(error) => return Some(Err(error)),
                    }
                }
                (entry, _) => entry.map(|entry| entry.value.clone()),
            };
            let base = resolved.as_deref();
            let operands: Vec<&[u8]> = chain[..operand_count]
                .iter()
                .rev()
                .map(|entry| entry.value.as_bytes())
                .collect();
            let folded = merge(newest.key.user_key.as_bytes(), base, &operands);
            return Some(folded.map(|value| {
                let mut entry = chain.swap_remove(0);
                entry.key.value_type = ValueType::Value;
                entry.value = value;
                entry
            }));
        }
        let entry = chain.swap_remove(0);
        let hidden = self.tombstones == Tombstones::Hide && entry.key.value_type.is_tombstone();
        (!hidden).then_some(Ok(entry))
    }
}

impl<I, E> Iterator for MvccStream<I, E>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    type Item = Result<InternalEntry, E>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut group = match self.front_group.take() {
                Some(group) => group,
                None => match self.inner.next_front()? {
                    Ok(entry) => {
                        if self.is_alone_at_front(&entry) {
                            // The common case, a key with one version: no group.
                            match self.single(entry) {
                                Some(answer) => return Some(answer),
                                None => continue,
                            }
                        }
                        let mut group = Group::new(entry.key.user_key.clone());
                        if self.is_visible(&entry) {
                            group.push_front_side(entry);
                        }
                        group
                    }
                    Err(error) => return Some(Err(error)),
                },
            };
            loop {
                match self.inner.peek_front() {
                    Some(Ok(entry)) if entry.key.user_key == group.user_key => {}
                    Some(Err(_)) => {
                        self.front_group = Some(group);
                        return self.inner.next_front();
                    }
                    _ => break,
                }
                if let Some(Ok(entry)) = self.inner.next_front() {
                    // Versions come newest first.
                    if self.is_visible(&entry) {
                        group.push_front_side(entry);
                    }
                }
            }
            if let Some(answer) = self.finish(group.chain) {
                return Some(answer);
            }
        }
    }
}

impl<I, E> DoubleEndedIterator for MvccStream<I, E>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            let mut group = match self.back_group.take() {
                Some(group) => group,
                None => match self.inner.next_back()? {
                    Ok(entry) => {
                        if self.is_alone_at_back(&entry) {
                            match self.single(entry) {
                                Some(answer) => return Some(answer),
                                None => continue,
                            }
                        }
                        let mut group = Group::new(entry.key.user_key.clone());
                        if self.is_visible(&entry) {
                            group.push_back_side(entry);
                        }
                        group
                    }
                    Err(error) => return Some(Err(error)),
                },
            };
            loop {
                match self.inner.peek_back() {
                    Some(Ok(entry)) if entry.key.user_key == group.user_key => {}
                    Some(Err(_)) => {
                        self.back_group = Some(group);
                        return self.inner.next_back();
                    }
                    _ => break,
                }
                if let Some(Ok(entry)) = self.inner.next_back() {
                    // Versions come oldest first from the back.
                    if self.is_visible(&entry) {
                        group.push_back_side(entry);
                    }
                }
            }
            group.chain.reverse();
            if let Some(answer) = self.finish(group.chain) {
                return Some(answer);
            }
        }
    }
}

/// A double-ended iterator with a one-item peek at each end; when the inner iterator is
/// exhausted, each end takes over the item peeked at the other.
struct DoublePeek<I, E> {
    inner: I,
    front: Option<Result<InternalEntry, E>>,
    back: Option<Result<InternalEntry, E>>,
}

impl<I, E> DoublePeek<I, E>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    fn next_front(&mut self) -> Option<Result<InternalEntry, E>> {
        self.front
            .take()
            .or_else(|| self.inner.next())
            .or_else(|| self.back.take())
    }

    fn next_back(&mut self) -> Option<Result<InternalEntry, E>> {
        self.back
            .take()
            .or_else(|| self.inner.next_back())
            .or_else(|| self.front.take())
    }

    fn peek_front(&mut self) -> Option<&Result<InternalEntry, E>> {
        if self.front.is_none() {
            self.front = self.inner.next().or_else(|| self.back.take());
        }
        self.front.as_ref()
    }

    fn peek_back(&mut self) -> Option<&Result<InternalEntry, E>> {
        if self.back.is_none() {
            self.back = self.inner.next_back().or_else(|| self.front.take());
        }
        self.back.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn concat() -> MergeFn<()> {
        Arc::new(|_key: &[u8], base: Option<&[u8]>, operands: &[&[u8]]| {
            let mut out = base.unwrap_or(b"_").to_vec();
            for operand in operands {
                out.push(b'+');
                out.extend_from_slice(operand);
            }
            Ok(UserValue::from(out))
        })
    }

    #[test]
    fn operands_fold_onto_their_base_from_both_ends() {
        let entries = vec![
            InternalEntry::new("a", "o3", 5, ValueType::MergeOperand),
            InternalEntry::new("a", "o2", 4, ValueType::MergeOperand),
            InternalEntry::new("a", "v1", 3, ValueType::Value),
            InternalEntry::new("a", "o0", 2, ValueType::MergeOperand),
            InternalEntry::new("b", "o", 3, ValueType::MergeOperand),
            InternalEntry::tombstone("b", 2),
            InternalEntry::new("b", "old", 1, ValueType::Value),
            InternalEntry::new("c", "only", 1, ValueType::MergeOperand),
        ];
        let read = |read_seqno, backward: bool| -> Vec<(String, String)> {
            let stream = MvccStream::new(entries.clone().into_iter().map(Ok::<_, ()>), read_seqno)
                .with_merge(concat());
            let pairs: Vec<_> = if backward {
                let mut pairs: Vec<_> = stream.rev().collect();
                pairs.reverse();
                pairs
            } else {
                stream.collect()
            };
            pairs
                .into_iter()
                .map(|entry| {
                    let entry = entry.unwrap();
                    assert_eq!(entry.key.value_type, ValueType::Value);
                    (
                        String::from_utf8(entry.key.user_key.to_vec()).unwrap(),
                        String::from_utf8(entry.value.to_vec()).unwrap(),
                    )
                })
                .collect()
        };
        for backward in [false, true] {
            assert_eq!(
                read(10, backward),
                [
                    ("a".into(), "v1+o2+o3".into()),
                    ("b".into(), "_+o".into()),
                    ("c".into(), "_+only".into())
                ]
            );
            assert_eq!(
                read(3, backward),
                [("a".into(), "_+o0".into()), ("c".into(), "_+only".into())]
            );
        }
        // Without a merge function the newest operand is the value.
        let raw: Vec<_> = MvccStream::new(entries.into_iter().map(Ok::<_, ()>), 10)
            .map(|entry| entry.unwrap().value)
            .collect();
        assert_eq!(raw, ["o3", "o", "only"]);
    }
    use crate::ValueType;

    fn entries(versions: &[(u8, u64, bool)]) -> Vec<InternalEntry> {
        let mut entries: Vec<_> = versions
            .iter()
            .map(|&(key, seqno, is_tombstone)| {
                let value_type = if is_tombstone {
                    ValueType::Tombstone
                } else {
                    ValueType::Value
                };
                InternalEntry::new([key], seqno.to_le_bytes(), seqno, value_type)
            })
            .collect();
        entries.sort();
        entries.dedup_by(|a, b| a.key.user_key == b.key.user_key && a.key.seqno == b.key.seqno);
        entries
    }

    /// The model: for each key, the newest version below the read seqno.
    fn model(entries: &[InternalEntry], read_seqno: SeqNo) -> Vec<InternalEntry> {
        let mut newest: BTreeMap<UserKey, InternalEntry> = BTreeMap::new();
        for entry in entries.iter().filter(|entry| entry.key.seqno < read_seqno) {
            let slot = newest
                .entry(entry.key.user_key.clone())
                .or_insert_with(|| entry.clone());
            if entry.key.seqno > slot.key.seqno {
                *slot = entry.clone();
            }
        }
        newest
            .into_values()
            .filter(|entry| !entry.key.value_type.is_tombstone())
            .collect()
    }

    proptest! {
        #[test]
        fn stream_matches_model_from_both_ends(
            versions in proptest::collection::vec((0..12_u8, 0..10_u64, any::<bool>()), 0..60),
            read_seqno in 0..12_u64,
            directions in proptest::collection::vec(any::<bool>(), 0..80),
        ) {
            let entries = entries(&versions);
            let expected = model(&entries, read_seqno);
            let source = entries.into_iter().map(Ok::<_, ()>).collect::<Vec<_>>().into_iter();
            let mut stream = MvccStream::new(source, read_seqno);
            let mut front = Vec::new();
            let mut back = Vec::new();
            let mut direction_iter = directions.into_iter().chain(std::iter::repeat(true));
            loop {
                let from_front = direction_iter.next() == Some(true);
                let item = if from_front { stream.next() } else { stream.next_back() };
                let Some(entry) = item else { break };
                prop_assert!(front.len() + back.len() < expected.len(), "too many entries");
                if from_front { front.push(entry.unwrap()) } else { back.push(entry.unwrap()) }
            }
            back.reverse();
            front.extend(back);
            prop_assert_eq!(front, expected);
        }
    }

    #[test]
    fn kept_tombstones_are_yielded() {
        let source = entries(&[(1, 5, true), (1, 3, false), (2, 1, false)]);
        let items: Vec<_> = MvccStream::with_tombstones(
            source.clone().into_iter().map(Ok::<_, ()>),
            10,
            Tombstones::Keep,
        )
        .map(Result::unwrap)
        .collect();
        assert_eq!(items, vec![source[0].clone(), source[2].clone()]);
        // Reading below the tombstone sees the older value.
        let items: Vec<_> = MvccStream::new(source.clone().into_iter().map(Ok::<_, ()>), 5)
            .map(Result::unwrap)
            .collect();
        assert_eq!(items, vec![source[1].clone(), source[2].clone()]);
    }

    #[test]
    fn an_error_inside_a_key_does_not_split_it() {
        let good = entries(&[(1, 5, false), (1, 3, false), (2, 1, false)]);
        let source = vec![
            Ok(good[0].clone()),
            Err(()),
            Ok(good[1].clone()),
            Ok(good[2].clone()),
        ];
        let mut stream = MvccStream::new(source.clone().into_iter(), 4);
        assert_eq!(stream.next(), Some(Err(())));
        assert_eq!(stream.next(), Some(Ok(good[1].clone())));
        assert_eq!(stream.next(), Some(Ok(good[2].clone())));
        assert_eq!(stream.next(), None);
        let mut stream = MvccStream::new(source.into_iter(), 4);
        assert_eq!(stream.next_back(), Some(Ok(good[2].clone())));
        assert_eq!(stream.next_back(), Some(Err(())));
        assert_eq!(stream.next_back(), Some(Ok(good[1].clone())));
        assert_eq!(stream.next_back(), None);
    }
}
