//! A k-way merge of sorted internal-entry streams, iterable from both ends.
//!
//! Each source yields `Result<InternalEntry, E>` in internal-key order and is itself
//! double-ended. The merge yields every entry of every source exactly once, in order,
//! even when `next` and `next_back` are mixed: each source keeps one entry peeked from
//! each end, and when a source's front runs dry, the entry peeked at its back is the
//! last one left and is taken from there (and the other way round).
//!
//! Equal internal keys from different sources come out in source order from the front
//! (and in reverse source order from the back), so callers list sources newest first.
//!
//! Choosing the next entry compares the heads of all sources, `O(k)` per entry; the
//! engine merges a few dozen sources at most, where this beats a heap's bookkeeping.
//! An error from a source is returned before any entry that would follow it.

use std::cmp::Ordering;

use crate::limits::MERGE_SOURCE_COUNT_MAX;
use crate::{InternalEntry, KeyOrder};

/// Merges sorted sources into one sorted stream.
pub struct MergeIter<I> {
    sources: Vec<Source<I>>,
    order: KeyOrder,
}

struct Source<I> {
    iter: I,
    front: Option<InternalEntry>,
    back: Option<InternalEntry>,
    /// The iterator returned `None` at one end: it holds nothing more (only what an end
    /// has peeked), so it is not asked again.
    drained: bool,
}

impl<I, E> MergeIter<I>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    /// A merge over `sources`, listed newest first, each sorted in `order`.
    ///
    /// # Panics
    /// When there are more than [`MERGE_SOURCE_COUNT_MAX`] sources.
    pub fn new(order: KeyOrder, sources: impl IntoIterator<Item = I>) -> Self {
        let sources: Vec<_> = sources
            .into_iter()
            .map(|iter| Source {
                iter,
                front: None,
                back: None,
                drained: false,
            })
            .collect();
        assert!(
            sources.len() <= MERGE_SOURCE_COUNT_MAX,
            "too many merge sources"
        );
        Self { sources, order }
    }

    /// Restarts the merge: `reposition` restarts each source (both ends, in a new
    /// window), and what the merge had peeked from either end is forgotten.
    pub fn restart(&mut self, mut reposition: impl FnMut(&mut I)) {
        for source in &mut self.sources {
            reposition(&mut source.iter);
            source.front = None;
            source.back = None;
            source.drained = false;
        }
    }

    fn fill_fronts(&mut self) -> Result<(), E> {
        for source in &mut self.sources {
            if source.front.is_none() {
                let next = if source.drained {
                    None
                } else {
                    source.iter.next()
                };
                source.front = match next {
                    Some(entry) => Some(entry?),
                    None => {
                        source.drained = true;
                        source.back.take()
                    }
                };
            }
        }
        Ok(())
    }

    fn fill_backs(&mut self) -> Result<(), E> {
        for source in &mut self.sources {
            if source.back.is_none() {
                let next = if source.drained {
                    None
                } else {
                    source.iter.next_back()
                };
                source.back = match next {
                    Some(entry) => Some(entry?),
                    None => {
                        source.drained = true;
                        source.front.take()
                    }
                };
            }
        }
        Ok(())
    }
}

impl<I, E> Iterator for MergeIter<I>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    type Item = Result<InternalEntry, E>;

    fn next(&mut self) -> Option<Self::Item> {
        if let [source] = self.sources.as_mut_slice() {
            // One source: nothing to choose between.
            if let Some(entry) = source.front.take() {
                return Some(Ok(entry));
            }
            if !source.drained {
                match source.iter.next() {
                    Some(item) => return Some(item),
                    None => source.drained = true,
                }
            }
            return source.back.take().map(Ok);
        }
        if let Err(error) = self.fill_fronts() {
            return Some(Err(error));
        }
        let mut best: Option<(usize, &InternalEntry)> = None;
        for (source_idx, source) in self.sources.iter().enumerate() {
            if let Some(entry) = &source.front {
                // Strictly less: on ties the earlier (newer) source wins.
                if best.is_none_or(|(_, best_entry)| {
                    self.order.cmp_internal(&entry.key, &best_entry.key) == Ordering::Less
                }) {
                    best = Some((source_idx, entry));
                }
            }
        }
        let (source_idx, _) = best?;
        self.sources[source_idx].front.take().map(Ok)
    }
}

impl<I, E> DoubleEndedIterator for MergeIter<I>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    fn next_back(&mut self) -> Option<Self::Item> {
        if let [source] = self.sources.as_mut_slice() {
            if let Some(entry) = source.back.take() {
                return Some(Ok(entry));
            }
            if !source.drained {
                match source.iter.next_back() {
                    Some(item) => return Some(item),
                    None => source.drained = true,
                }
            }
            return source.front.take().map(Ok);
        }
        if let Err(error) = self.fill_backs() {
            return Some(Err(error));
        }
        let mut best: Option<(usize, &InternalEntry)> = None;
        for (source_idx, source) in self.sources.iter().enumerate() {
            if let Some(entry) = &source.back {
                // Greater or equal: on ties the later (older) source goes first from the back.
                if best.is_none_or(|(_, best_entry)| {
                    self.order.cmp_internal(&entry.key, &best_entry.key) != Ordering::Less
                }) {
                    best = Some((source_idx, entry));
                }
            }
        }
        let (source_idx, _) = best?;
        self.sources[source_idx].back.take().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ValueType;

    type Source = std::vec::IntoIter<Result<InternalEntry, ()>>;

    fn entry(key: u8, seqno: u64) -> InternalEntry {
        InternalEntry::new([key], [key], seqno, ValueType::Value)
    }

    fn sources_from(lists: &[Vec<(u8, u64)>]) -> (Vec<Source>, Vec<InternalEntry>) {
        let mut all = Vec::new();
        let sources = lists
            .iter()
            .map(|list| {
                let mut entries: Vec<_> = list.iter().map(|&(k, s)| entry(k, s)).collect();
                entries.sort();
                entries.dedup();
                all.extend(entries.iter().cloned());
                entries.into_iter().map(Ok).collect::<Vec<_>>().into_iter()
            })
            .collect();
        all.sort();
        (sources, all)
    }

    #[test]
    fn errors_surface_in_place() {
        let good: Source = vec![Ok(entry(1, 0)), Ok(entry(3, 0))].into_iter();
        let bad: Source = vec![Ok(entry(2, 0)), Err(())].into_iter();
        let results: Vec<_> = MergeIter::new(KeyOrder::lexicographic(), [good, bad]).collect();
        assert_eq!(results[0], Ok(entry(1, 0)));
        assert_eq!(results[1], Ok(entry(2, 0)));
        assert_eq!(results[2], Err(()));
    }

    proptest! {
        #[test]
        fn merge_equals_sorted_union(
            lists in proptest::collection::vec(
                proptest::collection::vec((0..20_u8, 0..5_u64), 0..20), 0..6),
            directions in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let (sources, expected) = sources_from(&lists);
            let mut merge = MergeIter::new(KeyOrder::lexicographic(), sources);
            let mut front = Vec::new();
            let mut back = Vec::new();
            let mut direction_iter = directions.into_iter().chain(std::iter::repeat(true));
            loop {
                let from_front = direction_iter.next() == Some(true);
                let item = if from_front { merge.next() } else { merge.next_back() };
                let Some(entry) = item else { break };
                prop_assert!(front.len() + back.len() < expected.len(), "more entries than the sources hold");
                if from_front { front.push(entry.unwrap()) } else { back.push(entry.unwrap()) }
            }
            // Front items ascend, back items descend, and together they are the union.
            back.reverse();
            front.extend(back);
            prop_assert_eq!(front, expected);
        }
    }

    #[test]
    fn mixed_directions_meet_in_the_middle() {
        let (sources, expected) = sources_from(&[vec![(1, 0), (4, 0)], vec![(2, 0), (3, 0)]]);
        let mut merge = MergeIter::new(KeyOrder::lexicographic(), sources);
        assert_eq!(merge.next().unwrap().unwrap(), expected[0]);
        assert_eq!(merge.next_back().unwrap().unwrap(), expected[3]);
        assert_eq!(merge.next_back().unwrap().unwrap(), expected[2]);
        assert_eq!(merge.next().unwrap().unwrap(), expected[1]);
        assert!(merge.next().is_none());
        assert!(merge.next_back().is_none());
    }
}
