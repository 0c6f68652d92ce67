//! The read path: point reads and range scans over one super-version.
//!
//! A point read asks the memtables (newest first), then each run of each level (level 0
//! newest run first) for the newest version below the read seqno; the first source that
//! has one answers, because a key's versions in a newer source are newer than any in an
//! older source. Within a run a binary search over key ranges picks the one table that
//! may hold the key, and the table's filter usually answers "no" without a block read.
//!
//! A scan merges one source per memtable and one per run (a run's tables are opened
//! lazily, one after the other, from either end) and keeps the newest visible version
//! of each key ([`MvccStream`]). Range tombstones visible to the read turn the versions
//! they hide into tombstones on the way, and tables they cover whole (and are newer
//! than) are left out, so a deleted range is not read key by key. Sources already filter
//! by the read seqno, so an extra memtable passed by the caller (`index`, an overlay) is
//! read at its own seqno, and so are its range tombstones, which hide versions of every
//! source.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use lsm_core::merge::MergeIter;
use lsm_core::mvcc::{MergeFn, MvccStream};
use lsm_core::{
    InternalEntry, KeyOrder, RangeTombstone, SeqNo, Slice, UserKey, UserValue, ValueType,
};
use lsm_memtable::Memtable;
use lsm_table::{ReadOptions, Table};

use crate::error::{Error, Result};
use crate::guard::IterGuardImpl;
use crate::live_table::LiveTable;
use crate::super_version::SuperVersion;

/// A source of a scan.
type EntryIter = Box<dyn DoubleEndedIterator<Item = Result<InternalEntry>> + Send>;

/// A tree iterator: double-ended, `'static`, pinned to its snapshot.
pub type IterBox = Box<dyn DoubleEndedIterator<Item = IterGuardImpl> + Send + 'static>;

/// An extra memtable merged into a read at its own seqno. It must be in the tree's key
/// order ([`Memtable::new`] for the default one, [`Memtable::new_in`] for a custom one):
/// a read given an overlay of another order yields one `ComparatorMismatch` error.
pub type Index = Option<(Arc<Memtable>, SeqNo)>;

/// Owned bounds of a scan.
pub(crate) type OwnedBounds = (Bound<UserKey>, Bound<UserKey>);

/// The newest version of `user_key` below `read_seqno`, tombstones included.
///
/// # Errors
/// Table read errors.
pub(crate) fn get_entry(
    super_version: &SuperVersion,
    user_key: &[u8],
    read_seqno: SeqNo,
) -> Result<Option<(InternalEntry, Origin)>> {
    for memtable in super_version.memtables() {
        if let Some(entry) = memtable.get(user_key, read_seqno) {
            return Ok(Some((entry, Origin::Memtable)));
        }
    }
    let order = super_version.version.order();
    for level in super_version.version.levels() {
        for run in level.runs() {
            let Some(meta) = run.table_for_key(order, user_key) else {
                continue;
            };
            if meta.seqno_min >= read_seqno {
                continue;
            }
            if let Some(entry) = super_version
                .table(meta.id)
                .table
                .get(user_key, read_seqno)?
            {
                return Ok(Some((entry, Origin::Table)));
            }
        }
    }
    Ok(None)
}

/// One stored version of a key and where it lives (see
/// [`crate::AbstractTree::key_versions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    /// The stored entry (a separated value is its indirection).
    pub entry: InternalEntry,
    /// Where: `active memtable`, `sealed memtable`, or `L<level> table <id>`.
    pub source: String,
}

/// Every stored version of `user_key`, newest source first and newest version first
/// within a source (range tombstones not applied).
pub(crate) fn key_versions(
    super_version: &SuperVersion,
    user_key: &[u8],
) -> Result<Vec<KeyVersion>> {
    let mut versions = Vec::new();
    let bounds = user_key..=user_key;
    for (idx, memtable) in super_version.memtables().enumerate() {
        let source = if idx == 0 {
            "active memtable"
        } else {
            "sealed memtable"
        };
        versions.extend(
            memtable
                .range(bounds.clone(), SeqNo::MAX)
                .map(|entry| KeyVersion {
                    entry,
                    source: source.to_owned(),
                }),
        );
    }
    let order = super_version.version.order();
    for (level_idx, level) in super_version.version.levels().iter().enumerate() {
        for run in level.runs() {
            let Some(meta) = run.table_for_key(order, user_key) else {
                continue;
            };
            for entry in super_version
                .table(meta.id)
                .table
                .scan(bounds.clone(), SeqNo::MAX)
            {
                versions.push(KeyVersion {
                    entry: entry?,
                    source: format!("L{level_idx} table {}", meta.id),
                });
            }
        }
    }
    Ok(versions)
}

/// Where a point read found its newest version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A memtable: the value is owned by the result.
    Memtable,
    /// A table block (shared with the block cache).
    Table,
    /// A blob file: the value was read into its own buffer.
    Blob,
}

/// The value of `user_key` at `read_seqno`: the newest version, or, when that is a merge
/// operand and an operator is set, the operands folded onto their base.
///
/// # Errors
/// Table and blob read errors; the merge operator's errors.
pub(crate) fn get_value(
    super_version: &Arc<SuperVersion>,
    user_key: &[u8],
    read_seqno: SeqNo,
    merge: Option<MergeFn<Error>>,
) -> Result<Option<(UserValue, Origin)>> {
    let Some((entry, origin)) = get_entry(super_version, user_key, read_seqno)? else {
        return Ok(None);
    };
    if hidden_by_range_tombstone(super_version, &entry, read_seqno) {
        return Ok(None);
    }
    if entry.key.value_type == ValueType::Indirection {
        let value = crate::blobs::read_value(&super_version.blob_files, &entry)?;
        return Ok(Some((value, Origin::Blob)));
    }
    if entry.key.value_type != ValueType::MergeOperand || merge.is_none() {
        return Ok(resolve(entry).map(|value| (value, origin)));
    }
    // The rare path: fold the key's versions from every source, as a scan does.
    let key = Slice::new(user_key);
    let bounds = (Bound::Included(key.clone()), Bound::Included(key));
    match scan(
        Arc::clone(super_version),
        Shape::bounds(bounds),
        read_seqno,
        None,
        merge,
        None,
    )
    .next()
    {
        Some(item) => crate::Guard::value(item).map(|value| Some((value, origin))),
        None => Ok(None),
    }
}

/// Whether a range tombstone of any memtable, or of a table that may hold the key, hides
/// `entry` from a read at `read_seqno`.
fn hidden_by_range_tombstone(
    super_version: &SuperVersion,
    entry: &InternalEntry,
    read_seqno: SeqNo,
) -> bool {
    let key = entry.key.user_key.as_bytes();
    let seqno = entry.key.seqno;
    let order = super_version.version.order();
    if super_version
        .memtables()
        .any(|memtable| memtable.hiding_seqno(key, seqno, read_seqno).is_some())
    {
        return true;
    }
    super_version.tables_have_range_tombstones
        && super_version
            .version
            .levels()
            .iter()
            .flat_map(|level| level.runs())
            .filter_map(|run| run.table_for_key(order, key))
            .filter(|meta| meta.seqno_max > seqno)
            .any(|meta| {
                let tombstones = super_version.table(meta.id).table.range_tombstones();
                lsm_core::range_tombstone::hiding_seqno(order, tombstones, key, seqno, read_seqno)
                    .is_some()
            })
}

/// The value an inline entry gives a reader: `None` for a tombstone (indirections are
/// read by the caller).
fn resolve(entry: InternalEntry) -> Option<UserValue> {
    match entry.key.value_type {
        // Without a merge operator, the newest operand is the value.
        ValueType::Value | ValueType::MergeOperand | ValueType::Indirection => Some(entry.value),
        ValueType::Tombstone | ValueType::WeakTombstone => None,
    }
}

/// The length of `user_key`'s value at `read_seqno`; a value in a blob file is not read.
///
/// # Errors
/// As [`get_value`].
pub(crate) fn size_of(
    super_version: &Arc<SuperVersion>,
    user_key: &[u8],
    read_seqno: SeqNo,
    merge: Option<MergeFn<Error>>,
) -> Result<Option<u32>> {
    if let Some((entry, _)) = get_entry(super_version, user_key, read_seqno)?
        && entry.key.value_type == ValueType::Indirection
    {
        if hidden_by_range_tombstone(super_version, &entry, read_seqno) {
            return Ok(None);
        }
        return crate::blobs::value_len(&entry).map(Some);
    }
    Ok(get_value(super_version, user_key, read_seqno, merge)?
        .map(|(value, _)| crate::guard::value_len(&value)))
}

/// Owned copies of `range`'s bounds.
pub(crate) fn owned_bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(range: &R) -> OwnedBounds {
    let own = |bound: Bound<&K>| match bound {
        Bound::Included(key) => Bound::Included(Slice::new(key.as_ref())),
        Bound::Excluded(key) => Bound::Excluded(Slice::new(key.as_ref())),
        Bound::Unbounded => Bound::Unbounded,
    };
    (own(range.start_bound()), own(range.end_bound()))
}

/// What a scan reads: the keys within `bounds` and, when `prefix` is set, only those
/// starting with it (a prefix scan in an order that does not keep a prefix's keys
/// together, which reads every key).
pub(crate) struct Shape {
    pub(crate) bounds: OwnedBounds,
    pub(crate) prefix: Option<Vec<u8>>,
}

impl Shape {
    /// The keys within `bounds`.
    pub(crate) fn bounds(bounds: OwnedBounds) -> Self {
        Self {
            bounds,
            prefix: None,
        }
    }

    /// The keys starting with `prefix`, in `order`.
    pub(crate) fn prefix(order: &KeyOrder, prefix: &[u8]) -> Self {
        if order.is_lexicographic() {
            Self::bounds(prefix_bounds(prefix))
        } else {
            Self {
                bounds: (Bound::Unbounded, Bound::Unbounded),
                prefix: Some(prefix.to_vec()),
            }
        }
    }
}

/// The bounds of the keys starting with `prefix`, in the lexicographic order.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> OwnedBounds {
    let start = Bound::Included(Slice::new(prefix));
    // The end is the prefix with its last byte below 0xFF incremented and the rest cut.
    let end = match prefix.iter().rposition(|&byte| byte < u8::MAX) {
        Some(position) => {
            let mut end = prefix[..=position].to_vec();
            end[position] += 1;
            Bound::Excluded(Slice::from(end))
        }
        None => Bound::Unbounded,
    };
    (start, end)
}

/// The positions of the tables of a run (sorted by key, disjoint) that may hold keys
/// within `bounds`, found by binary search.
fn run_span(
    order: &KeyOrder,
    tables: &[Arc<lsm_version::TableMeta>],
    bounds: &OwnedBounds,
) -> std::ops::Range<usize> {
    let start = match &bounds.0 {
        Bound::Included(key) | Bound::Excluded(key) => {
            tables.partition_point(|meta| order.lt(meta.key_range.max(), key))
        }
        Bound::Unbounded => 0,
    };
    let end = match &bounds.1 {
        Bound::Included(key) => tables.partition_point(|meta| order.le(meta.key_range.min(), key)),
        Bound::Excluded(key) => tables.partition_point(|meta| order.lt(meta.key_range.min(), key)),
        Bound::Unbounded => tables.len(),
    };
    start..end.max(start)
}

/// Whether a table with keys in `min..=max` may hold keys within `bounds` (in `order`).
pub(crate) fn overlaps(order: &KeyOrder, bounds: &OwnedBounds, min: &[u8], max: &[u8]) -> bool {
    let after_start = match &bounds.0 {
        Bound::Included(start) => order.le(start, max),
        Bound::Excluded(start) => order.lt(start, max),
        Bound::Unbounded => true,
    };
    let before_end = match &bounds.1 {
        Bound::Included(end) => order.le(min, end),
        Bound::Excluded(end) => order.lt(min, end),
        Bound::Unbounded => true,
    };
    after_start && before_end
}

/// Whether `key` lies within `bounds` (in `order`).
pub(crate) fn contains(order: &KeyOrder, bounds: &OwnedBounds, key: &[u8]) -> bool {
    overlaps(order, bounds, key, key)
}

/// The prefix every key of a scan starts with, and the tree's read options (which hold
/// its prefix extractor) to ask a table's prefix filter about it: tables whose filter
/// proves the prefix absent are not read.
pub(crate) struct PrefixProbe<'a> {
    prefix: Vec<u8>,
    options: &'a ReadOptions,
}

impl<'a> PrefixProbe<'a> {
    /// The probe of a scan over `bounds`: the longest prefix the extractor takes as a
    /// scan boundary that both bounds start with (so every key in them does, in the
    /// lexicographic order); `None` when there is none, no extractor, or another order.
    pub(crate) fn for_bounds(options: &'a ReadOptions, bounds: &OwnedBounds) -> Option<Self> {
        if !options.order.is_lexicographic() {
            return None;
        }
        let extractor = options.prefix_extractor.as_ref()?;
        let (Bound::Included(start) | Bound::Excluded(start)) = &bounds.0 else {
            return None;
        };
        let (Bound::Included(end) | Bound::Excluded(end)) = &bounds.1 else {
            return None;
        };
        let prefix = extractor
            .prefixes(start)
            .filter(|prefix| end.starts_with(prefix) && extractor.is_valid_scan_boundary(prefix))
            .max_by_key(|prefix| prefix.len())?;
        Some(Self {
            prefix: prefix.to_vec(),
            options,
        })
    }

    /// The probe of a scan over every key starting with `prefix` (`None` without an
    /// extractor, or when it does not take `prefix` as a scan boundary).
    pub(crate) fn for_prefix(options: &'a ReadOptions, prefix: &[u8]) -> Option<Self> {
        let extractor = options.prefix_extractor.as_ref()?;
        extractor.is_valid_scan_boundary(prefix).then(|| Self {
            prefix: prefix.to_vec(),
            options,
        })
    }

    /// Whether `table` may hold keys with the prefix (a failed filter read says yes: the
    /// table is read, and reports its error there).
    pub(crate) fn may_match(&self, table: &Table) -> bool {
        table
            .may_contain_prefix(&self.prefix, self.options)
            .unwrap_or(true)
    }
}

/// A scan of the keys within `bounds` at `read_seqno` over `super_version`, asking the
/// tables' prefix filters (under `read_options`' extractor) where the bounds share a
/// prefix: what a range read and every repositioned scan run.
pub(crate) fn scan_bounds(
    super_version: Arc<SuperVersion>,
    bounds: OwnedBounds,
    read_seqno: SeqNo,
    index: Index,
    merge: Option<MergeFn<Error>>,
    read_options: &ReadOptions,
) -> IterBox {
    let probe = PrefixProbe::for_bounds(read_options, &bounds);
    scan(
        super_version,
        Shape::bounds(bounds),
        read_seqno,
        index,
        merge,
        probe.as_ref(),
    )
}

/// A scan of `bounds` at `read_seqno` over `super_version`, which it keeps pinned.
pub(crate) fn scan(
    super_version: Arc<SuperVersion>,
    shape: Shape,
    read_seqno: SeqNo,
    index: Index,
    merge: Option<MergeFn<Error>>,
    probe: Option<&PrefixProbe<'_>>,
) -> IterBox {
    let Shape { bounds, prefix } = shape;
    let order = super_version.version.order().clone();
    if let Some(refusal) = overlay_refusal(&order, &index) {
        return Box::new(std::iter::once(IterGuardImpl::new(Err(refusal))));
    }
    let mut sources: Vec<EntryIter> = Vec::new();
    // Whether every source is a run of plain tables (see
    // [`SuperVersion::run_is_plain`]): then the newest-version stream has nothing to do.
    let mut all_plain = true;
    let tombstones = window_tombstones(&super_version, &bounds, read_seqno, &index);
    if let Some((memtable, index_seqno)) = index {
        all_plain = false;
        sources.push(Box::new(
            memtable.range(bounds.clone(), index_seqno).map(Ok),
        ));
    }
    for memtable in super_version.memtables() {
        // An empty memtable adds nothing but a source to ask at every step. (A write at
        // a seqno below this read that lands after this check is a race the caller
        // started: a scan taken a moment earlier would not see it either.)
        if memtable.has_entries() {
            all_plain = false;
            sources.push(Box::new(memtable.range(bounds.clone(), read_seqno).map(Ok)));
        }
    }
    for (level_idx, level) in super_version.version.levels().iter().enumerate() {
        for (run_idx, run) in level.runs().iter().enumerate() {
            let metas = run.tables();
            let span = run_span(&order, metas, &bounds);
            if span.is_empty() {
                continue;
            }
            all_plain &= super_version.run_is_plain(level_idx, run_idx);
            let tables: Box<dyn DoubleEndedIterator<Item = Arc<LiveTable>> + Send> =
                if probe.is_none() && tombstones.is_empty() {
                    // Tables are looked up as the scan reaches them: a seek into a long
                    // run pays for the tables it reads, not for every table after its key.
                    let pinned = Arc::clone(&super_version);
                    Box::new(span.filter_map(move |idx| {
                        let meta =
                            &pinned.version.levels()[level_idx].runs()[run_idx].tables()[idx];
                        (meta.seqno_min < read_seqno).then(|| Arc::clone(pinned.table(meta.id)))
                    }))
                } else {
                    let tables: Vec<_> = metas[span]
                        .iter()
                        .filter(|meta| meta.seqno_min < read_seqno)
                        // A table a range tombstone covers whole, and is newer than, holds
                        // nothing this read can see: it is not read at all.
                        .filter(|meta| {
                            !tombstones.iter().any(|t| {
                                t.seqno > meta.seqno_max
                                    && order.le(&t.start, meta.key_range.min())
                                    && order.lt(meta.key_range.max(), &t.end)
                            })
                        })
                        .map(|meta| Arc::clone(super_version.table(meta.id)))
                        .filter(|live| probe.is_none_or(|probe| probe.may_match(&live.table)))
                        .collect();
                    if tables.is_empty() {
                        continue;
                    }
                    Box::new(tables.into_iter())
                };
            let run_bounds = bounds.clone();
            sources.push(Box::new(
                tables
                    .flat_map(move |live| live.table.scan(run_bounds.clone(), read_seqno))
                    .map(|entry| entry.map_err(Error::from)),
            ));
        }
    }
    if all_plain && sources.len() <= 1 && tombstones.is_empty() {
        // One run of plain values (a compacted tree): its entries are the answer as
        // they come (the tables already hide what the read seqno cannot see).
        let source = sources
            .pop()
            .unwrap_or_else(|| Box::new(std::iter::empty()));
        return pinned(super_version, prefix, Stream::Plain(source));
    }
    let merged: EntryIter = if tombstones.is_empty() {
        Box::new(MergeIter::new(order, sources))
    } else {
        let tombstone_order = order.clone();
        Box::new(
            MergeIter::new(order, sources)
                .map(move |entry| entry.map(|entry| masked(&tombstone_order, &tombstones, entry))),
        )
    };
    // Sources hold the read seqno themselves; the stream only picks the newest version.
    let mut stream = MvccStream::new(merged, SeqNo::MAX);
    if let Some(merge) = merge {
        stream = stream.with_merge(merge);
    }
    if !super_version.blob_files.is_empty() {
        stream = stream.with_resolver(crate::blobs::resolver(Arc::clone(
            &super_version.blob_files,
        )));
    }
    pinned(super_version, prefix, Stream::Mvcc(stream))
}

/// The entries a scan yields: straight from one plain run, or through the
/// newest-version stream.
#[expect(
    clippy::large_enum_variant,
    reason = "one per scan, held in place for its life: boxing would add a pointer hop per entry"
)]
enum Stream {
    Plain(EntryIter),
    Mvcc(MvccStream<EntryIter, Error>),
}

impl Iterator for Stream {
    type Item = Result<InternalEntry>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Plain(source) => source.next(),
            Self::Mvcc(stream) => stream.next(),
        }
    }
}

impl DoubleEndedIterator for Stream {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Plain(source) => source.next_back(),
            Self::Mvcc(stream) => stream.next_back(),
        }
    }
}

/// `stream` with its super-version pinned, keeping only keys that start with `prefix`
/// when set.
fn pinned(super_version: Arc<SuperVersion>, prefix: Option<Vec<u8>>, stream: Stream) -> IterBox {
    match prefix {
        None => Box::new(Pinned::new(super_version, stream)),
        Some(prefix) => Box::new(Pinned::new(
            super_version,
            stream.filter(move |item| match item {
                Ok(entry) => entry.key.user_key.starts_with(&prefix),
                Err(_) => true,
            }),
        )),
    }
}

/// The refusal of a read given an overlay in another key order than the tree's (it
/// would merge wrongly).
pub(crate) fn overlay_refusal(order: &KeyOrder, index: &Index) -> Option<Error> {
    let (memtable, _) = index.as_ref()?;
    (memtable.order() != order).then(|| Error::ComparatorMismatch {
        stored: order.name().to_owned(),
        supplied: memtable.order().name(),
    })
}

/// `entry`, read as a tombstone when one of `tombstones` hides it. A hidden version
/// reads as a tombstone: it hides the key, and ends a merge fold, exactly where the
/// range tombstone does. Every tombstone here is visible to its source's read already,
/// so only the versions' seqnos count.
pub(crate) fn masked(
    order: &KeyOrder,
    tombstones: &[RangeTombstone],
    mut entry: InternalEntry,
) -> InternalEntry {
    if tombstones
        .iter()
        .any(|t| t.hides(order, &entry.key.user_key, entry.key.seqno, SeqNo::MAX))
    {
        entry.key.value_type = ValueType::Tombstone;
        entry.value = UserValue::empty();
    }
    entry
}

/// The range tombstones a scan of `bounds` at `read_seqno` applies: those of the tree
/// visible at `read_seqno`, and the overlay's, which hide versions of every source and
/// are visible at the overlay's own seqno as its entries are.
pub(crate) fn window_tombstones(
    super_version: &SuperVersion,
    bounds: &OwnedBounds,
    read_seqno: SeqNo,
    index: &Index,
) -> Vec<RangeTombstone> {
    let mut tombstones = scan_tombstones(super_version, bounds, read_seqno);
    if let Some((memtable, index_seqno)) = index {
        let order = super_version.version.order();
        tombstones.extend(
            memtable
                .range_tombstones()
                .into_iter()
                .filter(|tombstone| visible_within(order, tombstone, bounds, *index_seqno)),
        );
    }
    tombstones
}

/// The range tombstones visible at `read_seqno` that may cover keys within `bounds`.
fn scan_tombstones(
    super_version: &SuperVersion,
    bounds: &OwnedBounds,
    read_seqno: SeqNo,
) -> Vec<RangeTombstone> {
    let order = super_version.version.order();
    let overlapping =
        |tombstone: &RangeTombstone| visible_within(order, tombstone, bounds, read_seqno);
    let mut tombstones: Vec<RangeTombstone> = super_version
        .memtables()
        .flat_map(|memtable| memtable.range_tombstones())
        .filter(overlapping)
        .collect();
    for meta in super_version.version.tables() {
        let table = &super_version.table(meta.id).table;
        if table.properties().range_tombstone_count > 0
            && overlaps(order, bounds, meta.key_range.min(), meta.key_range.max())
        {
            tombstones.extend(
                table
                    .range_tombstones()
                    .iter()
                    .filter(|t| overlapping(t))
                    .cloned(),
            );
        }
    }
    tombstones
}

/// Whether `tombstone` is visible at `read_seqno` and may cover keys within `bounds`.
fn visible_within(
    order: &KeyOrder,
    tombstone: &RangeTombstone,
    bounds: &OwnedBounds,
    read_seqno: SeqNo,
) -> bool {
    tombstone.seqno < read_seqno
        && overlaps(
            order,
            bounds,
            tombstone.start.as_bytes(),
            tombstone.end.as_bytes(),
        )
}

/// A scan together with the super-version its tables and blob files belong to, so that
/// no file is deleted while the scan may still read it.
pub(crate) struct Pinned<S> {
    _super_version: Arc<SuperVersion>,
    /// The blob files items read their separated values from (lazily).
    blob_files: crate::blobs::BlobFiles,
    stream: S,
}

impl<S> Pinned<S> {
    pub(crate) fn new(super_version: Arc<SuperVersion>, stream: S) -> Self {
        Self {
            blob_files: Arc::clone(&super_version.blob_files),
            _super_version: super_version,
            stream,
        }
    }

    /// The stream, to reposition.
    pub(crate) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    fn guard(&self, item: Result<InternalEntry>) -> IterGuardImpl {
        match &item {
            Ok(entry) if entry.key.value_type == ValueType::Indirection => {
                IterGuardImpl::separated(item, Arc::clone(&self.blob_files))
            }
            _ => IterGuardImpl::new(item),
        }
    }
}

impl<S> Iterator for Pinned<S>
where
    S: Iterator<Item = Result<InternalEntry>>,
{
    type Item = IterGuardImpl;

    fn next(&mut self) -> Option<IterGuardImpl> {
        let item = self.stream.next()?;
        Some(self.guard(item))
    }
}

impl<S> DoubleEndedIterator for Pinned<S>
where
    S: DoubleEndedIterator<Item = Result<InternalEntry>>,
{
    fn next_back(&mut self) -> Option<IterGuardImpl> {
        let item = self.stream.next_back()?;
        Some(self.guard(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_end_after_every_key_with_the_prefix() {
        let (_, end) = prefix_bounds(b"ab");
        assert_eq!(end, Bound::Excluded(Slice::from("ac")));
        let (_, end) = prefix_bounds(&[b'a', 0xFF, 0xFF]);
        assert_eq!(end, Bound::Excluded(Slice::from("b")));
        let (_, end) = prefix_bounds(&[0xFF]);
        assert_eq!(end, Bound::Unbounded);
    }

    #[test]
    fn overlap_respects_bound_kinds() {
        let bounds: OwnedBounds = (Bound::Excluded("c".into()), Bound::Excluded("f".into()));
        let order = KeyOrder::lexicographic();
        assert!(!overlaps(&order, &bounds, b"a", b"c"));
        assert!(overlaps(&order, &bounds, b"a", b"d"));
        assert!(!overlaps(&order, &bounds, b"f", b"g"));
        assert!(overlaps(&order, &bounds, b"e", b"g"));
    }
}
