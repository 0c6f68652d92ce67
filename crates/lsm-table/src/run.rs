//! [`RunIter`]: a double-ended scan of a run of tables (disjoint key ranges, in key
//! order) that opens a table only when an end reaches it and repositions in place.
//!
//! Each end holds one table iterator. A reposition keeps the iterators the ends hold:
//! when the new window starts (or ends) in a table an end stood in, that table's
//! iterator is repositioned inside the table, keeping its data block when the window
//! starts in it, instead of being opened again.

use std::ops::{Bound, Range, RangeBounds};

use lsm_core::{InternalEntry, KeyOrder, SeqNo, UserKey};

use crate::{Result, Table, TableIter};

/// A scan of a run of tables; see the module docs.
pub struct RunIter {
    tables: Vec<Table>,
    order: KeyOrder,
    read_seqno: SeqNo,
    /// The range given at creation.
    range: (Bound<UserKey>, Bound<UserKey>),
    /// The window the ends run in now (within the range).
    window: (Bound<UserKey>, Bound<UserKey>),
    /// Tables neither end has opened yet.
    unopened: Range<usize>,
    front: Option<(usize, TableIter)>,
    back: Option<(usize, TableIter)>,
    /// Iterators the ends held before the last reposition.
    kept: Vec<(usize, TableIter)>,
    /// Tables of the window that the last reposition was told hold nothing for it.
    skipped: Vec<usize>,
}

impl RunIter {
    /// A scan of the entries of `tables` (a run: disjoint key ranges, in key order, all
    /// in one key order) with user keys in `range` and seqnos below `read_seqno`, in
    /// internal-key order.
    pub fn new<K: AsRef<[u8]>, R: RangeBounds<K>>(
        tables: Vec<Table>,
        range: R,
        read_seqno: SeqNo,
    ) -> Self {
        let range = owned(&range);
        let order = tables
            .first()
            .map_or_else(KeyOrder::lexicographic, |table| table.inner.order.clone());
        let mut run = Self {
            tables,
            order,
            read_seqno,
            window: range.clone(),
            range,
            unopened: 0..0,
            front: None,
            back: None,
            kept: Vec::new(),
            skipped: Vec::new(),
        };
        run.unopened = run.span();
        run
    }

    /// As [`Self::reposition`], leaving out the tables of the window that `skip`
    /// picks (they are not read: what a prefix filter that proves the window's prefix
    /// absent from a table allows).
    pub fn reposition_skipping<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &mut self,
        window: R,
        skip: impl Fn(&Table) -> bool,
    ) {
        self.window = (
            tighter(&self.order, &self.range.0, own(window.start_bound()), true),
            tighter(&self.order, &self.range.1, own(window.end_bound()), false),
        );
        let span = self.span();
        self.skipped.clear();
        for idx in span.clone() {
            if self.tables.get(idx).is_some_and(&skip) {
                self.skipped.push(idx);
            }
        }
        self.restart_ends(span);
    }

    /// Restarts both ends within `window` (cut to the range the scan was created with),
    /// as a new scan over the window would; see the module docs.
    pub fn reposition<K: AsRef<[u8]>, R: RangeBounds<K>>(&mut self, window: R) {
        self.reposition_skipping(window, |_| false);
    }

    /// Restarts the ends in the window, whose tables are `span` (see
    /// [`Self::reposition`]).
    fn restart_ends(&mut self, mut span: Range<usize>) {
        self.kept.clear();
        // An end that stands in the table the window starts (or ends) in stays there,
        // repositioned in place; other tables an end stood in are kept for when an end
        // reaches them.
        if let Some((idx, iter)) = &mut self.front
            && span.contains(idx)
            && *idx == span.start
            && !self.skipped.contains(idx)
        {
            iter.reposition(self.window.clone());
            span.start += 1;
        } else {
            self.kept.extend(self.front.take());
        }
        if let Some((idx, iter)) = &mut self.back
            && span.contains(idx)
            && *idx + 1 == span.end
            && !self.skipped.contains(idx)
        {
            iter.reposition(self.window.clone());
            span.end -= 1;
        } else {
            self.kept.extend(self.back.take());
        }
        self.unopened = span;
    }

    /// The tables whose key ranges meet the window.
    fn span(&self) -> Range<usize> {
        let order = &self.order;
        let start = self.tables.partition_point(|table| {
            let max = &table.properties().key_max;
            match &self.window.0 {
                Bound::Included(key) => order.lt(max, key),
                Bound::Excluded(key) => order.le(max, key),
                Bound::Unbounded => false,
            }
        });
        let end = self.tables.partition_point(|table| {
            let min = &table.properties().key_min;
            match &self.window.1 {
                Bound::Included(key) => order.le(min, key),
                Bound::Excluded(key) => order.lt(min, key),
                Bound::Unbounded => true,
            }
        });
        start..end.max(start)
    }

    /// Table `idx`'s iterator over the window: a kept one repositioned, or a new one.
    fn open(&mut self, idx: usize) -> TableIter {
        if let Some(at) = self.kept.iter().position(|(kept, _)| *kept == idx) {
            let (_, mut iter) = self.kept.swap_remove(at);
            iter.reposition(self.window.clone());
            return iter;
        }
        let table = &self.tables[idx];
        TableIter::new_within(&table.inner, &self.range, &self.window, self.read_seqno)
    }
}

/// `bound`, owned.
fn own<K: AsRef<[u8]>>(bound: Bound<&K>) -> Bound<UserKey> {
    bound.map(|key| UserKey::new(key.as_ref()))
}

/// `range`'s bounds, owned.
fn owned<K: AsRef<[u8]>, R: RangeBounds<K>>(range: &R) -> (Bound<UserKey>, Bound<UserKey>) {
    (own(range.start_bound()), own(range.end_bound()))
}

/// The tighter of `limit` and `bound` (lower bounds when `lower`, upper ones otherwise).
fn tighter(
    order: &KeyOrder,
    limit: &Bound<UserKey>,
    bound: Bound<UserKey>,
    lower: bool,
) -> Bound<UserKey> {
    let (Bound::Included(key) | Bound::Excluded(key)) = &bound else {
        return limit.clone();
    };
    let (Bound::Included(limit_key) | Bound::Excluded(limit_key)) = limit else {
        return bound;
    };
    let ordering = order.cmp(key, limit_key);
    let bound_tighter = match ordering {
        std::cmp::Ordering::Equal => matches!(bound, Bound::Excluded(_)),
        std::cmp::Ordering::Greater => lower,
        std::cmp::Ordering::Less => !lower,
    };
    if bound_tighter { bound } else { limit.clone() }
}

impl Iterator for RunIter {
    type Item = Result<InternalEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((_, iter)) = &mut self.front {
                if let Some(item) = iter.next() {
                    return Some(item);
                }
                self.front = None;
            }
            if self.unopened.is_empty() {
                // The back's table is all that is left.
                return self.back.as_mut()?.1.next();
            }
            let idx = self.unopened.start;
            self.unopened.start += 1;
            if self.skipped.contains(&idx) {
                continue;
            }
            let iter = self.open(idx);
            self.front = Some((idx, iter));
        }
    }
}

impl DoubleEndedIterator for RunIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((_, iter)) = &mut self.back {
                if let Some(item) = iter.next_back() {
                    return Some(item);
                }
                self.back = None;
            }
            if self.unopened.is_empty() {
                return self.front.as_mut()?.1.next_back();
            }
            self.unopened.end -= 1;
            let idx = self.unopened.end;
            if self.skipped.contains(&idx) {
                continue;
            }
            let iter = self.open(idx);
            self.back = Some((idx, iter));
        }
    }
}
