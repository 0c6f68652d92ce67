//! Repositionable range iterators ([`SeekableGuardIter`], from
//! [`crate::AbstractTree::range_seekable`]) and scans of many intervals
//! ([`crate::AbstractTree::batch_range_scan`]).
//!
//! Both read one snapshot: the super-version taken when they are created stays pinned,
//! with its open tables, its memtables and the read seqno, and every position sees the
//! same data. The sources are built once, one per memtable and one per run of tables,
//! and repositioned in place: a seek (or the next interval) restarts each source in the
//! new window, and a run keeps the tables its ends stand in and the data blocks they
//! hold, so a seek that lands in a block the iterator already holds reads nothing (no
//! table is opened again, no file looked up, no block fetched from the cache). A window
//! within one prefix of the tree's prefix extractor leaves out the tables whose prefix
//! filter proves that prefix absent, as a range read does.
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

use lsm_core::merge::MergeIter;
use lsm_core::mvcc::{MergeFn, MvccStream};
use lsm_core::{InternalEntry, KeyOrder, RangeTombstone, SeqNo, UserKey};
use lsm_memtable::{Memtable, MemtableIter};
use lsm_table::{ReadOptions, RunIter};

use crate::error::{Error, Result};
use crate::guard::IterGuardImpl;
use crate::read::{self, Index, OwnedBounds, Pinned, PrefixProbe};
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
    /// The tree's read options: their prefix extractor lets a window within one prefix
    /// leave out the tables whose prefix filter proves it absent.
    pub(crate) read_options: ReadOptions,
}

impl Snapshot {
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

    /// The sources of a scan of `range`: the overlay, each memtable with entries, and
    /// each run with tables that may hold keys in the range and versions below the read
    /// seqno.
    fn sources(&self, range: &OwnedBounds) -> Vec<Source> {
        let super_version = &self.super_version;
        let order = super_version.version.order();
        let mut sources = Vec::new();
        if let Some((memtable, index_seqno)) = &self.index {
            sources.push(Source::memtable(memtable, *index_seqno, range));
        }
        for memtable in super_version.memtables() {
            if memtable.has_entries() {
                sources.push(Source::memtable(memtable, self.read_seqno, range));
            }
        }
        for level in super_version.version.levels() {
            for run in level.runs() {
                let tables: Vec<_> = run
                    .tables()
                    .iter()
                    .filter(|meta| {
                        meta.seqno_min < self.read_seqno
                            && read::overlaps(
                                order,
                                range,
                                meta.key_range.min(),
                                meta.key_range.max(),
                            )
                    })
                    .map(|meta| super_version.table(meta.id).table.clone())
                    .collect();
                if !tables.is_empty() {
                    sources.push(Source::Run(RunIter::new(
                        tables,
                        range.clone(),
                        self.read_seqno,
                    )));
                }
            }
        }
        sources
    }
}

/// A source of a repositionable scan.
#[expect(
    clippy::large_enum_variant,
    reason = "one per source, held in place for the iterator's life"
)]
enum Source {
    /// A memtable read at a seqno; a reposition asks the skiplist again (it holds no
    /// block to keep).
    Memtable {
        memtable: Arc<Memtable>,
        read_seqno: SeqNo,
        entries: MemtableIter,
    },
    /// A run of tables, repositioned in place.
    Run(RunIter),
}

impl Source {
    fn memtable(memtable: &Arc<Memtable>, read_seqno: SeqNo, window: &OwnedBounds) -> Self {
        Self::Memtable {
            entries: memtable.range(window.clone(), read_seqno),
            memtable: Arc::clone(memtable),
            read_seqno,
        }
    }

    /// Restarts both ends within `window`; a run leaves out the tables `probe` (the
    /// window's prefix, when it has one) proves hold nothing for it.
    fn reposition(&mut self, window: &OwnedBounds, probe: Option<&PrefixProbe<'_>>) {
        match self {
            Self::Memtable {
                memtable,
                read_seqno,
                entries,
            } => *entries = memtable.range(window.clone(), *read_seqno),
            Self::Run(run) => run.reposition_skipping(window.clone(), |table| {
                probe.is_some_and(|probe| !probe.may_match(table))
            }),
        }
    }
}

impl Iterator for Source {
    type Item = Result<InternalEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Memtable { entries, .. } => entries.next().map(Ok),
            Self::Run(run) => run.next().map(|item| item.map_err(Error::from)),
        }
    }
}

impl DoubleEndedIterator for Source {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Memtable { entries, .. } => entries.next_back().map(Ok),
            Self::Run(run) => run.next_back().map(|item| item.map_err(Error::from)),
        }
    }
}

/// The merged sources with the range tombstones of the window applied (see
/// [`read::masked`]).
struct Masked {
    merged: MergeIter<Source>,
    order: KeyOrder,
    tombstones: Vec<RangeTombstone>,
}

impl Iterator for Masked {
    type Item = Result<InternalEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.merged.next()?;
        Some(item.map(|entry| read::masked(&self.order, &self.tombstones, entry)))
    }
}

impl DoubleEndedIterator for Masked {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.merged.next_back()?;
        Some(item.map(|entry| read::masked(&self.order, &self.tombstones, entry)))
    }
}

/// What a repositionable scan reads from: its stack of sources, or the one error a
/// read with an overlay in another key order gives (again after each reposition).
#[expect(
    clippy::large_enum_variant,
    reason = "one per iterator, held in place for its life"
)]
enum Reader {
    Stack(Pinned<MvccStream<Masked, Error>>),
    Refused(Option<Error>),
}

/// [`SeekableGuardIter`] over a [`Snapshot`].
pub(crate) struct Seekable {
    snapshot: Snapshot,
    /// The range the iterator was created with.
    range: OwnedBounds,
    /// The range tombstones a scan of the range applies (a window applies those that
    /// meet it).
    tombstones: Vec<RangeTombstone>,
    reader: Reader,
    /// An item [`SeekableGuardIter::peek_key`] read ahead.
    peeked: Option<IterGuardImpl>,
}

impl Seekable {
    pub(crate) fn new(snapshot: Snapshot, range: OwnedBounds) -> Self {
        let super_version = &snapshot.super_version;
        let order = super_version.version.order().clone();
        let tombstones =
            read::window_tombstones(super_version, &range, snapshot.read_seqno, &snapshot.index);
        let reader = match read::overlay_refusal(&order, &snapshot.index) {
            Some(refusal) => Reader::Refused(Some(refusal)),
            None => {
                let masked = Masked {
                    merged: MergeIter::new(order.clone(), snapshot.sources(&range)),
                    tombstones: tombstones.clone(),
                    order,
                };
                // Sources hold the read seqno themselves; the stream only picks the
                // newest version.
                let mut stream = MvccStream::new(masked, SeqNo::MAX);
                if let Some(merge) = &snapshot.merge {
                    stream = stream.with_merge(Arc::clone(merge));
                }
                if !super_version.blob_files.is_empty() {
                    stream = stream.with_resolver(crate::blobs::resolver(Arc::clone(
                        &super_version.blob_files,
                    )));
                }
                Reader::Stack(Pinned::new(Arc::clone(super_version), stream))
            }
        };
        let mut seekable = Self {
            snapshot,
            range,
            tombstones,
            reader,
            peeked: None,
        };
        if PrefixProbe::for_bounds(&seekable.snapshot.read_options, &seekable.range).is_some() {
            // A range within one prefix: start as a reposition there does, asking the
            // prefix filters.
            seekable.reposition(seekable.range.clone());
        }
        seekable
    }

    /// Restarts both ends within `window`.
    fn reposition(&mut self, window: OwnedBounds) {
        self.peeked = None;
        let snapshot = &self.snapshot;
        match &mut self.reader {
            Reader::Stack(pinned) => {
                let order = snapshot.super_version.version.order();
                let probe = PrefixProbe::for_bounds(&snapshot.read_options, &window);
                pinned.stream_mut().restart(|masked| {
                    masked.tombstones.clear();
                    masked.tombstones.extend(
                        self.tombstones
                            .iter()
                            .filter(|t| {
                                read::overlaps(order, &window, t.start.as_bytes(), t.end.as_bytes())
                            })
                            .cloned(),
                    );
                    masked
                        .merged
                        .restart(|source| source.reposition(&window, probe.as_ref()));
                });
            }
            Reader::Refused(refusal) => {
                let order = snapshot.super_version.version.order();
                *refusal = read::overlay_refusal(order, &snapshot.index);
            }
        }
    }

    fn next_item(&mut self) -> Option<IterGuardImpl> {
        match &mut self.reader {
            Reader::Stack(pinned) => pinned.next(),
            Reader::Refused(refusal) => refusal.take().map(|error| IterGuardImpl::new(Err(error))),
        }
    }
}

impl Iterator for Seekable {
    type Item = IterGuardImpl;

    fn next(&mut self) -> Option<IterGuardImpl> {
        self.peeked.take().or_else(|| self.next_item())
    }
}

impl DoubleEndedIterator for Seekable {
    fn next_back(&mut self) -> Option<IterGuardImpl> {
        let item = match &mut self.reader {
            Reader::Stack(pinned) => pinned.next_back(),
            Reader::Refused(refusal) => refusal.take().map(|error| IterGuardImpl::new(Err(error))),
        };
        // The back end may reach the item peeked at the front: it is the last one left.
        item.or_else(|| self.peeked.take())
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
            self.peeked = Some(self.next_item()?);
        }
        match self.peeked.as_ref()?.peek_key() {
            Some(key) => Some(Ok(key)),
            None => self.peeked.take().map(crate::Guard::key),
        }
    }
}

/// The items of every interval of `intervals`, in the order given, over `snapshot`: one
/// stack of sources over the whole key space, repositioned to each interval in turn.
pub(crate) fn batch_scan(
    snapshot: Snapshot,
    intervals: impl Iterator<Item = OwnedBounds> + Send + 'static,
) -> Box<dyn Iterator<Item = IterGuardImpl> + Send + 'static> {
    Box::new(BatchScan {
        scan: Seekable::new(snapshot, (Bound::Unbounded, Bound::Unbounded)),
        intervals,
        started: false,
    })
}

/// See [`batch_scan`].
struct BatchScan<I> {
    scan: Seekable,
    intervals: I,
    /// Whether the scan stands in an interval (before the first, it stands nowhere).
    started: bool,
}

impl<I: Iterator<Item = OwnedBounds>> Iterator for BatchScan<I> {
    type Item = IterGuardImpl;

    fn next(&mut self) -> Option<IterGuardImpl> {
        loop {
            if self.started
                && let Some(item) = self.scan.next()
            {
                return Some(item);
            }
            let interval = self.intervals.next()?;
            self.scan.reposition(interval);
            self.started = true;
        }
    }
}
