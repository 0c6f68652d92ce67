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
//! From the front, a merge of more than three sources keeps them in a
//! binary heap by their front entries (`O(log k)` comparisons an entry: a compaction
//! under write pressure merges a dozen level-0 tables and more); fewer sources, and
//! every step from the back, compare the heads of all sources (`O(k)`, cheaper than a
//! heap's bookkeeping for a few). An error from a source is returned before any entry
//! that would follow it.

use std::cmp::Ordering;

use crate::limits::MERGE_SOURCE_COUNT_MAX;
use crate::{InternalEntry, KeyOrder};

/// Up to this many sources, the front is chosen by comparing every source's head.
const LINEAR_SOURCES_MAX: usize = 3;

/// Merges sorted sources into one sorted stream.
pub struct MergeIter<I> {
    sources: Vec<Source<I>>,
    order: KeyOrder,
    /// With more than [`LINEAR_SOURCES_MAX`] sources: those holding a front entry, as a
    /// binary min-heap by (front entry, source index). `None` until the first step
    /// from the front, and again after a step from the back (which may move a front
    /// entry) or a restart.
    fronts: Option<Vec<usize>>,
    /// The source whose front entry the last step from the front took: it is refilled
    /// at the start of the next step, so that its error comes after that entry and
    /// before any other.
    taken: Option<usize>,
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
        Self {
            sources,
            order,
            fronts: None,
            taken: None,
        }
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
        self.fronts = None;
        self.taken = None;
    }

    fn fill_fronts(&mut self) -> Result<(), E> {
        self.sources.iter_mut().try_for_each(Source::fill_front)
    }

    /// The next entry from the front, chosen through the heap of fronts.
    fn next_by_heap(&mut self) -> Option<Result<InternalEntry, E>> {
        match (&mut self.fronts, self.taken) {
            (None, _) => {
                if let Err(error) = self.fill_fronts() {
                    return Some(Err(error));
                }
                self.taken = None;
                let mut heap = Vec::with_capacity(self.sources.len());
                for source_idx in 0..self.sources.len() {
                    if self.sources.get(source_idx)?.front.is_some() {
                        heap.push(source_idx);
                        sift_up(&mut heap, &self.sources, &self.order);
                    }
                }
                self.fronts = Some(heap);
            }
            (Some(heap), Some(source_idx)) => {
                let source = self.sources.get_mut(source_idx)?;
                if let Err(error) = source.fill_front() {
                    return Some(Err(error));
                }
                self.taken = None;
                if source.front.is_some() {
                    heap.push(source_idx);
                    sift_up(heap, &self.sources, &self.order);
                }
            }
            (Some(_), None) => {}
        }
        let heap = self.fronts.as_mut()?;
        let source_idx = pop(heap, &self.sources, &self.order)?;
        self.taken = Some(source_idx);
        self.sources.get_mut(source_idx)?.front.take().map(Ok)
    }

    fn fill_backs(&mut self) -> Result<(), E> {
        self.sources.iter_mut().try_for_each(Source::fill_back)
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
        if self.sources.len() > LINEAR_SOURCES_MAX {
            return self.next_by_heap();
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
        // A step from the back may move a drained source's front entry to its back.
        self.fronts = None;
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

impl<I, E> Source<I>
where
    I: DoubleEndedIterator<Item = Result<InternalEntry, E>>,
{
    /// Peeks the next entry from the front, if none is peeked; a drained source's last
    /// entry may be the one peeked at its back.
    fn fill_front(&mut self) -> Result<(), E> {
        if self.front.is_none() {
            let next = if self.drained { None } else { self.iter.next() };
            self.front = self.peeked(next, |source| source.back.take())?;
        }
        Ok(())
    }

    /// [`Self::fill_front`] from the back.
    fn fill_back(&mut self) -> Result<(), E> {
        if self.back.is_none() {
            let next = if self.drained {
                None
            } else {
                self.iter.next_back()
            };
            self.back = self.peeked(next, |source| source.front.take())?;
        }
        Ok(())
    }

    /// What an end peeks given what its iterator returned: the entry, or once the
    /// iterator is drained, what `other_end` gives up.
    fn peeked(
        &mut self,
        next: Option<Result<InternalEntry, E>>,
        other_end: impl FnOnce(&mut Self) -> Option<InternalEntry>,
    ) -> Result<Option<InternalEntry>, E> {
        match next {
            Some(entry) => entry.map(Some),
            None => {
                self.drained = true;
                Ok(other_end(self))
            }
        }
    }
}

/// Whether source `left`'s front comes before source `right`'s: by entry, then the
/// newer (lower-numbered) source first. Sources in the heap hold a front entry.
fn front_before<I>(sources: &[Source<I>], order: &KeyOrder, left: usize, right: usize) -> bool {
    let front = |source_idx: usize| {
        sources
            .get(source_idx)
            .and_then(|source| source.front.as_ref())
    };
    match (front(left), front(right)) {
        (Some(left_entry), Some(right_entry)) => order
            .cmp_internal(&left_entry.key, &right_entry.key)
            .then(left.cmp(&right))
            .is_lt(),
        _ => left < right,
    }
}

/// Restores the heap after a push at its end.
fn sift_up<I>(heap: &mut [usize], sources: &[Source<I>], order: &KeyOrder) {
    let mut at = heap.len().saturating_sub(1);
    while at > 0 {
        let parent = (at - 1) / 2;
        let (Some(&child_idx), Some(&parent_idx)) = (heap.get(at), heap.get(parent)) else {
            return;
        };
        if !front_before(sources, order, child_idx, parent_idx) {
            return;
        }
        heap.swap(at, parent);
        at = parent;
    }
}

/// Removes and returns the heap's first source.
fn pop<I>(heap: &mut Vec<usize>, sources: &[Source<I>], order: &KeyOrder) -> Option<usize> {
    let last = heap.len().checked_sub(1)?;
    heap.swap(0, last);
    let first = heap.pop();
    let mut at = 0;
    loop {
        let (left, right) = (2 * at + 1, 2 * at + 2);
        let mut smallest = at;
        for child in [left, right] {
            if let (Some(&child_idx), Some(&smallest_idx)) = (heap.get(child), heap.get(smallest))
                && front_before(sources, order, child_idx, smallest_idx)
            {
                smallest = child;
            }
        }
        if smallest == at {
            return first;
        }
        heap.swap(at, smallest);
        at = smallest;
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

    /// Sources holding `lists` (each sorted, one version per internal key), each value
    /// naming its source; and every entry in the order the merge must give them: by
    /// internal key, then newer (lower-numbered) sources first.
    fn sources_from(lists: &[Vec<(u8, u64)>]) -> (Vec<Source>, Vec<InternalEntry>) {
        let mut all = Vec::new();
        let sources = lists
            .iter()
            .enumerate()
            .map(|(source_idx, list)| {
                let tag = u8::try_from(source_idx).unwrap_or(u8::MAX);
                let mut entries: Vec<_> = list
                    .iter()
                    .map(|&(key, seqno)| {
                        InternalEntry::new([key], [key, tag], seqno, ValueType::Value)
                    })
                    .collect();
                entries.sort_by(|left, right| left.key.cmp(&right.key));
                entries.dedup_by(|left, right| left.key == right.key);
                all.extend(entries.iter().map(|entry| (entry.clone(), source_idx)));
                entries.into_iter().map(Ok).collect::<Vec<_>>().into_iter()
            })
            .collect();
        all.sort_by(|left, right| left.0.key.cmp(&right.0.key).then(left.1.cmp(&right.1)));
        (sources, all.into_iter().map(|(entry, _)| entry).collect())
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
                proptest::collection::vec((0..20_u8, 0..5_u64), 0..20), 0..10),
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
            // Front items ascend, back items descend, and together they are the union;
            // equal internal keys come newest source first from the front and last from
            // the back.
            back.reverse();
            front.extend(back);
            prop_assert_eq!(front, expected);
        }
    }

    #[test]
    fn errors_surface_in_place_among_many_sources() {
        let quiet = || -> Source { vec![Ok(entry(9, 0))].into_iter() };
        let good: Source = vec![Ok(entry(1, 0)), Ok(entry(3, 0))].into_iter();
        let bad: Source = vec![Ok(entry(2, 0)), Err(()), Ok(entry(4, 0))].into_iter();
        let mut merge = MergeIter::new(
            KeyOrder::lexicographic(),
            [good, quiet(), bad, quiet(), quiet()],
        );
        assert_eq!(merge.next(), Some(Ok(entry(1, 0))));
        assert_eq!(merge.next(), Some(Ok(entry(2, 0))));
        assert_eq!(
            merge.next(),
            Some(Err(())),
            "the error before the entries after it"
        );
        assert_eq!(merge.next(), Some(Ok(entry(3, 0))));
        assert_eq!(merge.next(), Some(Ok(entry(4, 0))));
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
