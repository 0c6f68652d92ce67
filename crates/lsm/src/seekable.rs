//! Repositionable range iterators ([`SeekableGuardIter`], from
//! [`crate::AbstractTree::range_seekable`]) and scans of many intervals
//! ([`crate::AbstractTree::batch_range_scan`]).
//!
//! Both read one snapshot: the super-version taken when they are created stays pinned,
//! with its open tables, its memtables and the read seqno, so a seek or the next
//! interval builds only the merge over sources that are already open (no table is
//! opened again, no file looked up), and every position sees the same data.
//!
//! A seek sets the window the iterator runs in, clamped to the range it was created
//! with: [`SeekableGuardIter::seek_to`] makes the window run from the key (or the
//! range's start, if that is later) to the range's end, so that the next `next()` is the
//! first key at or after it; [`SeekableGuardIter::seek_to_for_prev`] from the range's
//! start to the key (or the range's end, if that is earlier), so that the next
//! `next_back()` is the last key at or before it. Both ends restart in the new window.
//! Keys compare in the tree's key order.
//!
//! ```
//! use lsm::{AbstractTree, AnyTree, Config, Guard, SeekableGuardIter, SeqNo, SequenceNumberCounter};
//!
//! let dir = tempfile::tempdir()?;
//! let tree = Config::new(dir.path(), SequenceNumberCounter::default(), SequenceNumberCounter::default())
//!     .open()?;
//! for (seqno, key) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
//!     tree.insert(key, "v", seqno as u64);
//! }
//! let mut iter = tree.range_seekable("b"..="d", SeqNo::MAX, None);
//! assert_eq!(&*iter.peek_key().unwrap()?, b"b");
//! iter.seek_to(b"c");
//! assert_eq!(&*iter.next().unwrap().key()?, b"c");
//! iter.seek_to_for_prev(b"z"); // clamped to the range: "d" is the last key
//! assert_eq!(&*iter.next_back().unwrap().key()?, b"d");
//!
//! // Intervals, one after the other, over one snapshot.
//! let keys: Vec<_> = tree
//!     .batch_range_scan(vec!["a".."b", "d".."f"], SeqNo::MAX, None)
//!     .map(|item| item.key())
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(keys, ["a", "d", "e"]);
//! # Ok::<(), lsm::Error>(())
//! ```

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use lsm_core::mvcc::MergeFn;
use lsm_core::{SeqNo, UserKey};
use lsm_table::ReadOptions;

use crate::error::{Error, Result};
use crate::guard::IterGuardImpl;
use crate::read::{self, Index, IterBox, OwnedBounds};
use crate::super_version::SuperVersion;

/// A range iterator that repositions in place; see the module docs.
pub trait SeekableGuardIter: DoubleEndedIterator<Item = IterGuardImpl> + Send {
    /// Repositions so that the next [`Iterator::next`] yields the first key at or after
    /// `key` (within the range the iterator was created with).
    fn seek_to(&mut self, key: &[u8]);

    /// Repositions so that the next [`DoubleEndedIterator::next_back`] yields the last
    /// key at or before `key` (within the range the iterator was created with).
    fn seek_to_for_prev(&mut self, key: &[u8]);

    /// The key the next [`Iterator::next`] yields, without consuming it; `None` once
    /// the window is exhausted. An item that failed to read gives its error here once
    /// and is consumed by it.
    fn peek_key(&mut self) -> Option<Result<UserKey>>;
}

/// What every scan of one snapshot shares: the pinned super-version and the read.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub(crate) super_version: Arc<SuperVersion>,
    pub(crate) read_seqno: SeqNo,
    pub(crate) index: Index,
    pub(crate) merge: Option<MergeFn<Error>>,
    pub(crate) read_options: ReadOptions,
}

impl Snapshot {
    /// A scan of `bounds` over the snapshot.
    pub(crate) fn scan(&self, bounds: OwnedBounds) -> IterBox {
        read::scan_bounds(
            Arc::clone(&self.super_version),
            bounds,
            self.read_seqno,
            self.index.clone(),
            self.merge.clone(),
            &self.read_options,
        )
    }

    /// `key` as an inclusive bound on one side of the range, unless `limit` (the
    /// range's bound on that side) is tighter: `past` is where `key` lies from a limit
    /// that stays (`Less` for a start, `Greater` for an end).
    fn clamp(&self, limit: &Bound<UserKey>, key: &[u8], past: Ordering) -> Bound<UserKey> {
        let order = self.super_version.version.order();
        match limit {
            Bound::Included(bound) if order.cmp(key, bound) == past => limit.clone(),
            Bound::Excluded(bound) if order.cmp(key, bound) != past.reverse() => limit.clone(),
            _ => Bound::Included(UserKey::new(key)),
        }
    }
}

/// [`SeekableGuardIter`] over a [`Snapshot`].
pub(crate) struct Seekable {
    snapshot: Snapshot,
    /// The range the iterator was created with.
    range: OwnedBounds,
    current: IterBox,
    /// An item [`SeekableGuardIter::peek_key`] read ahead.
    peeked: Option<IterGuardImpl>,
}

impl Seekable {
    pub(crate) fn new(snapshot: Snapshot, range: OwnedBounds) -> Self {
        let current = snapshot.scan(range.clone());
        Self {
            snapshot,
            range,
            current,
            peeked: None,
        }
    }

    fn reposition(&mut self, bounds: OwnedBounds) {
        self.peeked = None;
        self.current = self.snapshot.scan(bounds);
    }
}

impl Iterator for Seekable {
    type Item = IterGuardImpl;

    fn next(&mut self) -> Option<IterGuardImpl> {
        self.peeked.take().or_else(|| self.current.next())
    }
}

impl DoubleEndedIterator for Seekable {
    fn next_back(&mut self) -> Option<IterGuardImpl> {
        // The back end may reach the item peeked at the front: it is the last one left.
        self.current.next_back().or_else(|| self.peeked.take())
    }
}

impl SeekableGuardIter for Seekable {
    fn seek_to(&mut self, key: &[u8]) {
        let start = self.snapshot.clamp(&self.range.0, key, Ordering::Less);
        self.reposition((start, self.range.1.clone()));
    }

    fn seek_to_for_prev(&mut self, key: &[u8]) {
        let end = self.snapshot.clamp(&self.range.1, key, Ordering::Greater);
        self.reposition((self.range.0.clone(), end));
    }

    fn peek_key(&mut self) -> Option<Result<UserKey>> {
        if self.peeked.is_none() {
            self.peeked = Some(self.current.next()?);
        }
        match self.peeked.as_ref()?.peek_key() {
            Some(key) => Some(Ok(key)),
            None => self.peeked.take().map(crate::Guard::key),
        }
    }
}

/// The items of every interval of `intervals`, in the order given, over `snapshot`.
pub(crate) fn batch_scan(
    snapshot: Snapshot,
    intervals: impl Iterator<Item = OwnedBounds> + Send + 'static,
) -> Box<dyn Iterator<Item = IterGuardImpl> + Send + 'static> {
    Box::new(intervals.flat_map(move |bounds| snapshot.scan(bounds)))
}
