//! [`TableIter`]: a double-ended scan of a table's entries in a key range, and the
//! [`Table`] methods that make one.
//!
//! The index yields the data blocks of the range (through its partitions when it has
//! them); each block is read when an end reaches it. Bounds are applied where they can
//! cut: the lower bound seeks inside blocks, the upper bound inside any block whose last
//! key lies beyond it, and index partitions are bounded the same way.
#![deny(clippy::indexing_slicing)]

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use lsm_codec::{BlockIter, IndexBlock, IndexEntry};
use lsm_core::{InternalEntry, InternalKey, KeyOrder, SeqNo, UserKey, ValueType};

use crate::reader::{Readahead, TableInner, block_error};
use crate::two_level::TwoLevelIter;
use crate::{Result, Table};

impl Table {
    /// A double-ended iterator over the entries with user keys in `range` and seqnos below
    /// `read_seqno`, in internal-key order (every visible version, tombstones included).
    /// Blocks are read lazily.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        read_seqno: SeqNo,
    ) -> TableIter {
        TableIter::new(&self.inner, range, read_seqno)
    }

    /// Every entry with a seqno below `read_seqno`, from both ends.
    pub fn iter(&self, read_seqno: SeqNo) -> TableIter {
        self.range::<&[u8], _>(.., read_seqno)
    }

    /// The entries with a seqno at or after `target`, in internal-key order (every
    /// version, tombstones included). With `trust_bounds`, data blocks whose recorded
    /// seqno bounds lie below the target are not read (a table without the bounds is
    /// read whole).
    ///
    /// # Errors
    /// A damaged seqno-bounds block (the items carry the errors of damaged data blocks).
    pub fn scan_since(
        &self,
        target: SeqNo,
        trust_bounds: bool,
    ) -> Result<impl Iterator<Item = Result<InternalEntry>> + Send + use<>> {
        let table = Arc::clone(&self.inner);
        if let Some(global) = table.global_seqno {
            // One seqno for every entry: all of them are changes since `target`, or none.
            let entries: EntryIter = if global >= target {
                scan(&table, &Bounds::default(), SeqNo::MAX)
            } else {
                Box::new(std::iter::empty())
            };
            return Ok(entries as Box<dyn Iterator<Item = _> + Send>);
        }
        let bounds = if trust_bounds {
            table.seqno_bounds()?
        } else {
            None
        };
        let skip_all = trust_bounds && table.properties.seqno_max < target
            || table.properties.entry_count == 0;
        // The blocks to read, in order (an index entry per data block, so the n-th entry
        // is the n-th bound).
        let blocks: Vec<Result<IndexEntry>> = if skip_all {
            Vec::new()
        } else {
            index_entries(&table, &None, &None)
                .enumerate()
                .filter(|(ordinal, _)| {
                    bounds.as_ref().is_none_or(|bounds| {
                        bounds.get(*ordinal).is_none_or(|&(_, max)| max >= target)
                    })
                })
                .map(|(_, entry)| entry)
                .collect()
        };
        let data_table = Arc::clone(&table);
        let mut readahead = Readahead::default();
        let data = TwoLevelIter::new(blocks.into_iter(), move |entry: IndexEntry| {
            data_block_iter(&data_table, &entry, &None, &None, &mut readahead)
        });
        Ok(Box::new(data.filter(move |item| {
            item.as_ref()
                .map_or(true, |entry| entry.key.seqno >= target)
        })))
    }

    /// [`Self::range`] without repositioning ([`TableIter::seek`]): the iterator does not
    /// remember what each end yielded, which saves a key's reference count per entry.
    pub fn scan<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
        read_seqno: SeqNo,
    ) -> impl DoubleEndedIterator<Item = Result<InternalEntry>> + Send + use<K, R> {
        scan(&self.inner, &Bounds::of(&range), read_seqno)
    }
}

/// Entries of a table in a key range, visible at a read seqno; see the module docs.
///
/// [`Self::seek`] and [`Self::seek_for_prev`] reposition one end; entries the other end
/// has already yielded are never yielded again.
pub struct TableIter {
    table: Arc<TableInner>,
    read_seqno: SeqNo,
    /// The range given at creation, as internal-key bounds.
    range: Bounds,
    /// The bounds the current scan runs within.
    bounds: Bounds,
    last_front: Option<(UserKey, SeqNo)>,
    last_back: Option<(UserKey, SeqNo)>,
    inner: Scan,
}

/// A table iterator's scan: of the stored entries (which can hand the data blocks its
/// ends hold to the next position), or of an ingested table's entries at its global
/// seqno.
#[expect(
    clippy::large_enum_variant,
    reason = "one per table iterator, held in place for its life: boxing would add a pointer hop per entry"
)]
enum Scan {
    Stored(StoredScan),
    Other(EntryIter),
}

impl Scan {
    fn new(table: &Arc<TableInner>, bounds: &Bounds, read_seqno: SeqNo) -> Self {
        match table.global_seqno {
            Some(global) => Self::Other(scan_at_global_seqno(table, bounds, read_seqno, global)),
            None => Self::Stored(StoredScan::new(table, bounds, read_seqno)),
        }
    }
}

impl Iterator for Scan {
    type Item = Result<InternalEntry>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Stored(scan) => scan.next(),
            Self::Other(scan) => scan.next(),
        }
    }
}

impl DoubleEndedIterator for Scan {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Stored(scan) => scan.next_back(),
            Self::Other(scan) => scan.next_back(),
        }
    }
}

/// A seek target: (user key, seqno) in internal-key order.
type Target = Option<(UserKey, SeqNo)>;

/// Internal-key bounds: entries at or after `lower`, at or before `upper`, except
/// exactly `excluded` (how an exclusive bound after a key's last version is written).
#[derive(Clone, Debug, Default)]
struct Bounds {
    lower: Target,
    upper: Target,
    excluded: Option<(UserKey, SeqNo)>,
}

impl TableIter {
    pub(crate) fn new<K: AsRef<[u8]>, R: RangeBounds<K>>(
        table: &Arc<TableInner>,
        range: R,
        read_seqno: SeqNo,
    ) -> Self {
        let range = Bounds::of(&range);
        Self::with_bounds(table, range.clone(), range, read_seqno)
    }

    /// Moves the front to the first entry whose user key is at least `user_key` (within
    /// the range, and before anything the back has yielded).
    pub fn seek(&mut self, user_key: &[u8]) {
        let target = (UserKey::new(user_key), SeqNo::MAX);
        let range_lower = self.range.lower.clone();
        let use_range = range_lower
            .as_ref()
            .is_some_and(|lower| compare(&self.table.order, lower, &target).is_ge());
        self.bounds.lower = if use_range { range_lower } else { Some(target) };
        self.bounds.excluded = if use_range {
            self.range.excluded.clone()
        } else {
            None
        };
        self.last_front = None;
        self.rebuild();
    }

    /// Moves the back to the last entry whose user key is at most `user_key` (within the
    /// range, and after anything the front has yielded).
    pub fn seek_for_prev(&mut self, user_key: &[u8]) {
        let target = (UserKey::new(user_key), 0);
        let range_upper = self.range.upper.clone();
        let use_range = range_upper
            .as_ref()
            .is_some_and(|upper| compare(&self.table.order, upper, &target).is_le());
        self.bounds.upper = if use_range { range_upper } else { Some(target) };
        self.last_back = None;
        self.rebuild();
    }

    /// Restarts both ends within `window` (cut to the range the iterator was created
    /// with), as a new iterator over the window would, forgetting what either end
    /// yielded. The data blocks the ends hold stay in use: a window that starts (or
    /// ends) in the block an end stands in is positioned there without reading it again.
    pub fn reposition<K: AsRef<[u8]>, R: RangeBounds<K>>(&mut self, window: R) {
        self.bounds = self.range.within(&self.table.order, Bounds::of(&window));
        self.last_front = None;
        self.last_back = None;
        self.rebuild();
    }

    /// An iterator over `range` positioned as [`Self::reposition`] to `window` leaves it.
    pub(crate) fn new_within<K, R, W>(
        table: &Arc<TableInner>,
        range: &R,
        window: &W,
        read_seqno: SeqNo,
    ) -> Self
    where
        K: AsRef<[u8]>,
        R: RangeBounds<K>,
        W: RangeBounds<K>,
    {
        let range = Bounds::of(range);
        let bounds = range.within(&table.order, Bounds::of(window));
        Self::with_bounds(table, range, bounds, read_seqno)
    }

    /// An iterator over `range` that starts within `bounds`.
    fn with_bounds(
        table: &Arc<TableInner>,
        range: Bounds,
        bounds: Bounds,
        read_seqno: SeqNo,
    ) -> Self {
        let inner = Scan::new(table, &bounds, read_seqno);
        Self {
            table: Arc::clone(table),
            read_seqno,
            range,
            bounds,
            last_front: None,
            last_back: None,
            inner,
        }
    }

    /// Restarts the scan within the bounds, minus what either end already yielded,
    /// keeping the data blocks the ends hold for the new scan.
    fn rebuild(&mut self) {
        if let Some((key, seqno)) = self.last_front.clone() {
            self.bounds.set_after(key, seqno);
        }
        if let Some((key, seqno)) = self.last_back.clone() {
            // Entries before (key, seqno) are those at or before (key, seqno + 1).
            self.bounds.upper = Some((key, seqno + 1));
        }
        match &mut self.inner {
            Scan::Stored(scan) => scan.restart(&self.bounds),
            Scan::Other(_) => self.inner = Scan::new(&self.table, &self.bounds, self.read_seqno),
        }
    }

    fn note(slot: &mut Option<(UserKey, SeqNo)>, item: Option<&Result<InternalEntry>>) {
        if let Some(Ok(entry)) = item {
            *slot = Some((entry.key.user_key.clone(), entry.key.seqno));
        }
    }
}

impl Bounds {
    /// The internal-key bounds of a user-key range.
    fn of<K: AsRef<[u8]>, R: RangeBounds<K>>(range: &R) -> Self {
        let mut bounds = Self::default();
        match range.start_bound() {
            Bound::Included(key) => bounds.lower = Some((UserKey::new(key.as_ref()), SeqNo::MAX)),
            Bound::Excluded(key) => bounds.set_after(UserKey::new(key.as_ref()), 0),
            Bound::Unbounded => {}
        }
        bounds.upper = match range.end_bound() {
            Bound::Included(key) => Some((UserKey::new(key.as_ref()), 0)),
            Bound::Excluded(key) => Some((UserKey::new(key.as_ref()), SeqNo::MAX)),
            Bound::Unbounded => None,
        };
        bounds
    }

    /// These bounds cut to `window` where it is tighter.
    fn within(&self, order: &KeyOrder, window: Self) -> Self {
        let mut bounds = self.clone();
        let lower_tighter = match (&window.lower, &self.lower) {
            (Some(lower), Some(range_lower)) => compare(order, lower, range_lower).is_gt(),
            (lower, _) => lower.is_some(),
        };
        if lower_tighter {
            bounds.lower = window.lower;
            bounds.excluded = window.excluded;
        }
        let upper_tighter = match (&window.upper, &self.upper) {
            (Some(upper), Some(range_upper)) => compare(order, upper, range_upper).is_lt(),
            (upper, _) => upper.is_some(),
        };
        if upper_tighter {
            bounds.upper = window.upper;
        }
        bounds
    }

    /// Whether no entry of `table` can lie within these bounds: the table holds only
    /// range tombstones, or the bounds are past each other.
    fn hold_nothing_of(&self, table: &TableInner) -> bool {
        table.properties.entry_count == 0
            || matches!((&self.lower, &self.upper), (Some(lower), Some(upper))
                if compare(&table.order, lower, upper).is_gt())
    }

    /// Whether every entry of `table` within the bounds is one a read at `read_seqno`
    /// yields: nothing to test entry by entry.
    fn admit_all_of(&self, table: &TableInner, read_seqno: SeqNo) -> bool {
        self.excluded.is_none() && table.properties.seqno_max < read_seqno
    }

    /// Whether `entry` (within the bounds) is visible at `read_seqno` and not the
    /// excluded entry.
    fn admits(&self, entry: &InternalEntry, read_seqno: SeqNo) -> bool {
        entry.key.seqno < read_seqno
            && self
                .excluded
                .as_ref()
                .is_none_or(|(key, seqno)| entry.key.seqno != *seqno || entry.key.user_key != *key)
    }

    /// Starts after `(key, seqno)`.
    fn set_after(&mut self, key: UserKey, seqno: SeqNo) {
        if seqno > 0 {
            self.lower = Some((key, seqno - 1));
            self.excluded = None;
        } else {
            // Nothing sorts between (key, 0) and the next user key: start at (key, 0)
            // and skip exactly that entry.
            self.lower = Some((key.clone(), 0));
            self.excluded = Some((key, 0));
        }
    }
}

fn compare(
    order: &KeyOrder,
    left: &(UserKey, SeqNo),
    right: &(UserKey, SeqNo),
) -> std::cmp::Ordering {
    order.cmp_parts(
        (&left.0, left.1, ValueType::Value),
        (&right.0, right.1, ValueType::Value),
    )
}

type EntryIter = Box<dyn DoubleEndedIterator<Item = Result<InternalEntry>> + Send>;

/// The entries within `bounds` visible at `read_seqno`.
fn scan(table: &Arc<TableInner>, bounds: &Bounds, read_seqno: SeqNo) -> EntryIter {
    match table.global_seqno {
        Some(global) => scan_at_global_seqno(table, bounds, read_seqno, global),
        None => scan_stored(table, bounds, read_seqno),
    }
}

/// [`scan`] of an ingested table whose entries read at `global` (each user key once,
/// stored at seqno 0): the stored scan covers whole user keys, and a bound that cuts
/// within a key's versions is applied to the key at `global` after.
fn scan_at_global_seqno(
    table: &Arc<TableInner>,
    bounds: &Bounds,
    read_seqno: SeqNo,
    global: SeqNo,
) -> EntryIter {
    if read_seqno <= global {
        return Box::new(std::iter::empty());
    }
    let whole_keys = Bounds {
        lower: bounds.lower.clone().map(|(key, _)| (key, SeqNo::MAX)),
        upper: bounds.upper.clone().map(|(key, _)| (key, 0)),
        excluded: None,
    };
    let entries = scan_stored(table, &whole_keys, SeqNo::MAX)
        .map(move |item| item.map(|entry| crate::reader::with_seqno(entry, global)));
    let cuts = bounds
        .lower
        .as_ref()
        .is_some_and(|(_, seqno)| *seqno != SeqNo::MAX)
        || bounds.upper.as_ref().is_some_and(|(_, seqno)| *seqno != 0)
        || bounds.excluded.is_some();
    if !cuts {
        return Box::new(entries);
    }
    let (order, bounds) = (table.order.clone(), bounds.clone());
    Box::new(entries.filter(move |item| {
        let Ok(entry) = item else { return true };
        let at = (entry.key.user_key.clone(), global);
        bounds
            .lower
            .as_ref()
            .is_none_or(|lower| compare(&order, &at, lower).is_ge())
            && bounds
                .upper
                .as_ref()
                .is_none_or(|upper| compare(&order, &at, upper).is_le())
            && bounds.excluded.as_ref() != Some(&at)
    }))
}

/// [`scan`] on the seqnos as stored, for a scan that never repositions: the index's
/// blocks through the generic two-level iterator, and no visibility test when every
/// entry is visible. (A [`StoredScan`] does the same work and can restart in place; the
/// one-shot scans of the tree, a seek with a few steps above all, are about 5% faster
/// without its bookkeeping.)
fn scan_stored(table: &Arc<TableInner>, bounds: &Bounds, read_seqno: SeqNo) -> EntryIter {
    if bounds.hold_nothing_of(table) {
        return Box::new(std::iter::empty());
    }
    let (lower, upper) = (bounds.lower.clone(), bounds.upper.clone());
    let index = index_entries(table, &lower, &upper);
    let data_table = Arc::clone(table);
    let mut readahead = Readahead::default();
    let data = TwoLevelIter::new(index, move |entry: IndexEntry| {
        data_block_iter(&data_table, &entry, &lower, &upper, &mut readahead)
    });
    if bounds.admit_all_of(table, read_seqno) {
        // No filter to pass through.
        return Box::new(data);
    }
    let bounds = bounds.clone();
    Box::new(data.filter(move |item| {
        item.as_ref()
            .map_or(true, |entry| bounds.admits(entry, read_seqno))
    }))
}

/// A data block an end of a [`StoredScan`] holds, with its offset in the file.
struct Held {
    offset: u64,
    entries: BlockIter,
}

impl Held {
    /// The next entry from the front, its error naming the block.
    fn next(&mut self, file_id: u64) -> Option<Result<InternalEntry>> {
        let item = self.entries.next()?;
        Some(item.map_err(|error| block_error(file_id, self.offset, error.into())))
    }

    /// The next entry from the back, its error naming the block.
    fn next_back(&mut self, file_id: u64) -> Option<Result<InternalEntry>> {
        let item = self.entries.next_back()?;
        Some(item.map_err(|error| block_error(file_id, self.offset, error.into())))
    }
}

/// The stored entries of a [`TableIter`]: the index yields the data blocks of the bounds,
/// each end reads its block when it reaches it, and when the index runs dry from one
/// end the block the other end holds is the only one left (so the ends meet without
/// yielding an entry twice). A restart hands the blocks the ends hold to the new
/// position, which uses them instead of reading them when the index names them again.
struct StoredScan {
    table: Arc<TableInner>,
    read_seqno: SeqNo,
    bounds: Bounds,
    /// Every entry is visible and none is skipped: no entry to test.
    admits_all: bool,
    index: IndexIter,
    front: Option<Held>,
    back: Option<Held>,
    readahead: Readahead,
    /// Blocks the ends held before the last restart, not named again yet (empty but
    /// for a repositioned scan, so a scan that never restarts carries no slots for them).
    handed_over: Vec<Held>,
}

impl StoredScan {
    fn new(table: &Arc<TableInner>, bounds: &Bounds, read_seqno: SeqNo) -> Self {
        let mut scan = Self {
            table: Arc::clone(table),
            read_seqno,
            bounds: Bounds::default(),
            admits_all: false,
            index: Box::new(std::iter::empty()),
            front: None,
            back: None,
            readahead: Readahead::default(),
            handed_over: Vec::new(),
        };
        scan.set_bounds(bounds);
        scan
    }

    /// Restarts both ends within `bounds`, handing the blocks they hold to the new
    /// position (and, when neither holds one, the blocks handed over before).
    fn restart(&mut self, bounds: &Bounds) {
        if self.front.is_some() || self.back.is_some() {
            self.handed_over.clear();
            self.handed_over.extend(self.front.take());
            self.handed_over.extend(self.back.take());
        }
        self.readahead = Readahead::default();
        self.set_bounds(bounds);
    }

    fn set_bounds(&mut self, bounds: &Bounds) {
        self.bounds.clone_from(bounds);
        self.admits_all = bounds.admit_all_of(&self.table, self.read_seqno);
        self.index = if bounds.hold_nothing_of(&self.table) {
            Box::new(std::iter::empty())
        } else {
            index_entries(&self.table, &bounds.lower, &bounds.upper)
        };
    }

    /// Whether `item` is within the read (errors pass).
    fn keeps(&self, item: &Result<InternalEntry>) -> bool {
        self.admits_all
            || item
                .as_ref()
                .map_or(true, |entry| self.bounds.admits(entry, self.read_seqno))
    }

    /// The block `entry` names, cut to the bounds: one handed over if it is that block,
    /// read otherwise.
    fn open(&mut self, entry: &IndexEntry) -> Result<Held> {
        let offset = entry.handle.offset;
        let file_id = self.table.file_id;
        let handed = self
            .handed_over
            .iter()
            .position(|held| held.offset == offset);
        let mut entries = match handed {
            Some(at) => {
                let mut entries = self.handed_over.swap_remove(at).entries;
                entries.rewind();
                entries
            }
            None => self
                .table
                .data_block_ahead(entry.handle, &mut self.readahead)?
                .iter(),
        };
        cut_to_bounds(
            &mut entries,
            &self.table.order,
            entry,
            &self.bounds.lower,
            &self.bounds.upper,
        )
        .map_err(|error| block_error(file_id, offset, error.into()))?;
        Ok(Held { offset, entries })
    }

    fn next_stored(&mut self) -> Option<Result<InternalEntry>> {
        let file_id = self.table.file_id;
        loop {
            if let Some(held) = &mut self.front {
                if let Some(item) = held.next(file_id) {
                    return Some(item);
                }
                self.front = None;
            }
            match self.index.next()? {
                Ok(entry) => match self.open(&entry) {
                    Ok(held) => self.front = Some(held),
                    Err(error) => return Some(Err(error)),
                },
                Err(error) => return Some(Err(error)),
            }
        }
    }

    fn next_back_stored(&mut self) -> Option<Result<InternalEntry>> {
        let file_id = self.table.file_id;
        loop {
            if let Some(held) = &mut self.back {
                if let Some(item) = held.next_back(file_id) {
                    return Some(item);
                }
                self.back = None;
            }
            match self.index.next_back()? {
                Ok(entry) => match self.open(&entry) {
                    Ok(held) => self.back = Some(held),
                    Err(error) => return Some(Err(error)),
                },
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl Iterator for StoredScan {
    type Item = Result<InternalEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let item = match self.next_stored() {
                Some(item) => item,
                // The index is dry from the front: the back's block is all that is left.
                None => {
                    let file_id = self.table.file_id;
                    self.back.as_mut()?.next(file_id)?
                }
            };
            if self.keeps(&item) {
                return Some(item);
            }
        }
    }
}

impl DoubleEndedIterator for StoredScan {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            let item = match self.next_back_stored() {
                Some(item) => item,
                None => {
                    let file_id = self.table.file_id;
                    self.front.as_mut()?.next_back(file_id)?
                }
            };
            if self.keeps(&item) {
                return Some(item);
            }
        }
    }
}

impl Iterator for TableIter {
    type Item = Result<InternalEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next();
        Self::note(&mut self.last_front, item.as_ref());
        item
    }
}

impl DoubleEndedIterator for TableIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.inner.next_back();
        Self::note(&mut self.last_back, item.as_ref());
        item
    }
}

type IndexIter = Box<dyn DoubleEndedIterator<Item = Result<IndexEntry>> + Send>;

/// The index entries of the data blocks that can hold keys in the bounds.
fn index_entries(table: &Arc<TableInner>, lower: &Target, upper: &Target) -> IndexIter {
    let top_offset = table.properties.index_handle.offset;
    let top_index = match table.top_index() {
        Ok(index) => index,
        Err(error) => return Box::new(std::iter::once(Err(error))),
    };
    let top = match bounded_index(&table.order, &top_index, lower, upper) {
        Ok(top) => top,
        Err(error) => {
            return Box::new(std::iter::once(Err(block_error(
                table.file_id,
                top_offset,
                error.into(),
            ))));
        }
    };
    let file_id = table.file_id;
    let top = top.map(move |entry| {
        entry
            .and_then(IndexEntry::try_from)
            .map_err(|error| block_error(file_id, top_offset, error.into()))
    });
    if !table.properties.index_partitioned {
        return Box::new(top);
    }
    let partition_table = Arc::clone(table);
    let (lower, upper) = (lower.clone(), upper.clone());
    Box::new(TwoLevelIter::new(top, move |top_entry: IndexEntry| {
        let offset = top_entry.handle.offset;
        let partition = partition_table.index_partition(top_entry.handle)?;
        let entries = bounded_index(&partition_table.order, &partition, &lower, &upper)
            .map_err(|error| block_error(file_id, offset, error.into()))?;
        Ok(entries.map(move |entry| {
            entry
                .and_then(IndexEntry::try_from)
                .map_err(|error| block_error(file_id, offset, error.into()))
        }))
    }))
}

/// An index block's entries from the first whose last key reaches `lower` through the
/// first whose last key reaches `upper` (that block holds the last keys in bounds).
fn bounded_index(
    order: &KeyOrder,
    index: &IndexBlock,
    lower: &Target,
    upper: &Target,
) -> Result<BlockIter, lsm_core::DecodeError> {
    let mut entries = index.block_iter();
    if let Some((key, seqno)) = lower {
        entries.seek(order, key, *seqno)?;
    }
    if let Some((key, seqno)) = upper {
        let mut probe = index.block_iter();
        probe.seek(order, key, *seqno)?;
        if let Some(last) = probe.next().transpose()? {
            entries.seek_for_prev(order, &last.key.user_key, last.key.seqno)?;
        }
    }
    Ok(entries)
}

/// One data block's entries, cut to the bounds.
fn data_block_iter(
    table: &TableInner,
    entry: &IndexEntry,
    lower: &Target,
    upper: &Target,
    readahead: &mut Readahead,
) -> Result<impl DoubleEndedIterator<Item = Result<InternalEntry>> + Send + use<>> {
    let offset = entry.handle.offset;
    let file_id = table.file_id;
    let block = table.data_block_ahead(entry.handle, readahead)?;
    let mut entries = block.iter();
    cut_to_bounds(&mut entries, &table.order, entry, lower, upper)
        .map_err(|error| block_error(file_id, offset, error.into()))?;
    Ok(entries.map(move |item| item.map_err(|error| block_error(file_id, offset, error.into()))))
}

/// Cuts the entries of the block `entry` names to the bounds: the lower bound seeks,
/// the upper bound cuts the back when the block's last key lies beyond it.
fn cut_to_bounds(
    entries: &mut BlockIter,
    order: &KeyOrder,
    entry: &IndexEntry,
    lower: &Target,
    upper: &Target,
) -> Result<(), lsm_core::DecodeError> {
    if let Some((key, seqno)) = lower {
        entries.seek(order, key, *seqno)?;
    }
    if let Some((key, seqno)) = upper {
        let bound = InternalKey::new(key.clone(), *seqno, ValueType::Value);
        if order.cmp_internal(&entry.last_key, &bound).is_gt() {
            entries.seek_for_prev(order, key, *seqno)?;
        }
    }
    Ok(())
}
