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

use crate::{InternalEntry, SeqNo, UserKey};

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
    front_group: Option<Group>,
    back_group: Option<Group>,
}

/// The versions of one user key seen so far from one end.
struct Group {
    user_key: UserKey,
    chosen: Option<InternalEntry>,
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
            front_group: None,
            back_group: None,
        }
    }

    fn is_visible(&self, entry: &InternalEntry) -> bool {
        entry.key.is_visible_at(self.read_seqno)
    }

    fn finish(&self, group: Group) -> Option<InternalEntry> {
        // TODO(issue 7): fold merge operands into the versions below them.
        let entry = group.chosen?;
        let hidden = self.tombstones == Tombstones::Hide && entry.key.value_type.is_tombstone();
        (!hidden).then_some(entry)
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
                    Ok(entry) => Group {
                        user_key: entry.key.user_key.clone(),
                        chosen: self.is_visible(&entry).then_some(entry),
                    },
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
                    // Versions come newest first: the first visible one wins.
                    if group.chosen.is_none() && self.is_visible(&entry) {
                        group.chosen = Some(entry);
                    }
                }
            }
            if let Some(entry) = self.finish(group) {
                return Some(Ok(entry));
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
                    Ok(entry) => Group {
                        user_key: entry.key.user_key.clone(),
                        chosen: self.is_visible(&entry).then_some(entry),
                    },
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
                    // Versions come oldest first from the back: the last visible one wins.
                    if self.is_visible(&entry) {
                        group.chosen = Some(entry);
                    }
                }
            }
            if let Some(entry) = self.finish(group) {
                return Some(Ok(entry));
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
