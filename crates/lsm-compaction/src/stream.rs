//! [`CompactionStream`]: what a merge keeps of each key's versions.
//!
//! Input is the merged stream of the chosen tables in internal-key order (a key's
//! versions together, newest first). Per user key:
//!
//! - every version at or above the GC watermark is kept (a snapshot may read it);
//! - of the versions below the watermark, the newest is what reads at the watermark see,
//!   so it is kept, and the older ones are dropped;
//! - that newest version, when it is a tombstone, is dropped as well at the bottom (no
//!   table below the output can hold an older version for it to hide);
//! - when that newest version is a value and the version right below it a tombstone or
//!   a weak tombstone, above the bottom, that one is kept as a tombstone: it records
//!   that the value was written after a delete, so that a weak tombstone annihilating
//!   the value later cannot uncover an older value in a table below the merge (a weak
//!   delete promises one value since the last delete, not one value in all);
//! - a weak tombstone below the watermark followed by an older value annihilates with
//!   it: both are dropped (a weak tombstone deletes exactly one value), and the next
//!   older version, if any, is decided as the newest below the watermark in their place;
//! - at the bottom, the kept version below the watermark gets seqno 0, which encodes in
//!   one byte and changes no read at or above the watermark.
//!
//! An optional [`ItemFilter`] (the user's compaction filter) decides about that newest
//! version below the watermark when it is a value: keep it, replace its value, turn it
//! into a tombstone or a weak tombstone, or destroy it together with the older versions
//! in the merge (no tombstone is left). Versions at or above the watermark never reach
//! it: a snapshot may still read them. Its error aborts the merge.
//!
//! When that newest version below the watermark is a merge operand and a merge function
//! is set ([`CompactionStream::with_merge`]), the operands below the watermark fold onto
//! the next value (the base) or tombstone (no base) into one value, which hides the rest;
//! when the merge holds neither and is not at the bottom, older versions may exist below
//! it, so the operands stay as they are. Without a merge function, operands are kept and
//! the next non-operand version is decided as the newest below the watermark.
//!
//! Range tombstones given with [`CompactionStream::with_range_tombstones`] drop every
//! version they hide from all reads at or above the watermark (a tombstone below the
//! watermark, newer than the version); a fold stops at such a version as at a tombstone.
//! Which tombstones the output keeps is [`surviving_tombstones`].
//!
//! With watermark 0 nothing is below it: every version passes.

use lsm_core::mvcc::{MergeFn, ResolveFn};
use lsm_core::{InternalEntry, KeyOrder, RangeTombstone, SeqNo, UserKey, UserValue, ValueType};

/// Whether nothing below the output can hold the keys being merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bottom {
    /// Older versions may exist below the output.
    No,
    /// The output is the oldest data of its keys.
    Yes,
}

/// What an [`ItemFilter`] decides about a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterDecision {
    /// Keep it.
    Keep,
    /// Replace it with a tombstone at its seqno.
    Remove,
    /// Replace it with a weak tombstone at its seqno.
    RemoveWeak,
    /// Keep it with this value instead.
    Replace(UserValue),
    /// Drop it and the older versions in the merge, leaving no tombstone.
    Destroy,
}

/// Decides about the newest value of a key below the watermark during a merge.
pub trait ItemFilter<E> {
    /// The decision for `entry` (a value).
    ///
    /// # Errors
    /// Any error aborts the merge.
    fn decide(&mut self, entry: &InternalEntry) -> Result<FilterDecision, E>;
}

/// Whether an entry of this type is a value (inline or in a blob file).
fn is_value(value_type: ValueType) -> bool {
    matches!(value_type, ValueType::Value | ValueType::Indirection)
}

/// Whether a tombstone below `watermark` hides `entry` from every read at or above it.
fn covered(
    order: &KeyOrder,
    tombstones: &[RangeTombstone],
    watermark: SeqNo,
    entry: &InternalEntry,
) -> bool {
    tombstones.iter().any(|tombstone| {
        tombstone.seqno < watermark
            && tombstone.hides(order, &entry.key.user_key, entry.key.seqno, SeqNo::MAX)
    })
}

/// The range tombstones a merge's output keeps: all of them, but at the bottom only
/// those at or above the watermark (the ones below it hid only versions the merge
/// dropped, and nothing older lies below).
#[must_use]
pub fn surviving_tombstones(
    order: &KeyOrder,
    mut tombstones: Vec<RangeTombstone>,
    watermark: SeqNo,
    bottom: Bottom,
) -> Vec<RangeTombstone> {
    if bottom == Bottom::Yes {
        tombstones.retain(|tombstone| tombstone.seqno >= watermark);
    }
    tombstones.sort_by(|left, right| left.cmp_in(order, right));
    tombstones.dedup();
    tombstones
}

/// Counts of what a [`CompactionStream`] dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Versions shadowed below the watermark.
    pub shadowed: u64,
    /// Tombstones dropped at the bottom.
    pub tombstones: u64,
    /// Weak tombstones annihilated with their value (each counts once).
    pub weak_pairs: u64,
    /// Values a filter removed, weakly removed, replaced or destroyed.
    pub filtered: u64,
}

/// What a merge keeps; see the module docs.
pub struct CompactionStream<'f, I: Iterator, E> {
    inner: std::iter::Peekable<I>,
    filter: Option<&'f mut dyn ItemFilter<E>>,
    merge: Option<MergeFn<E>>,
    resolve: Option<ResolveFn<E>>,
    range_tombstones: Vec<RangeTombstone>,
    /// The key order the range tombstones are compared in.
    order: KeyOrder,
    watermark: SeqNo,
    bottom: Bottom,
    /// The user key being passed, and whether its newest version below the watermark
    /// has been decided.
    current: Option<(UserKey, bool)>,
    /// The newest version below the watermark of the current key was emitted as a
    /// value above the bottom: a delete right below it is kept (see the module docs).
    keep_delete_below: bool,
    drops: DropCounts,
    /// Operands taken out of the input by a fold that could not happen, to be emitted
    /// unchanged before anything else.
    pending: std::collections::VecDeque<InternalEntry>,
}

impl<'f, I, E> CompactionStream<'f, I, E>
where
    I: Iterator<Item = Result<InternalEntry, E>>,
{
    /// The versions of `inner` a merge keeps at `watermark`.
    pub fn new(inner: I, watermark: SeqNo, bottom: Bottom) -> Self {
        Self {
            inner: inner.peekable(),
            filter: None,
            merge: None,
            resolve: None,
            range_tombstones: Vec::new(),
            order: KeyOrder::lexicographic(),
            watermark,
            bottom,
            current: None,
            keep_delete_below: false,
            drops: DropCounts::default(),
            pending: std::collections::VecDeque::new(),
        }
    }

    /// Lets `filter` decide about each key's newest value below the watermark.
    #[must_use]
    pub fn with_filter(mut self, filter: &'f mut dyn ItemFilter<E>) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Applies `tombstones`, whose keys are in `order` (see the module docs).
    #[must_use]
    pub fn with_range_tombstones(
        mut self,
        order: &KeyOrder,
        tombstones: Vec<RangeTombstone>,
    ) -> Self {
        self.order = order.clone();
        self.range_tombstones = tombstones;
        self
    }

    /// Folds merge operands below the watermark with `merge`.
    #[must_use]
    pub fn with_merge(mut self, merge: MergeFn<E>) -> Self {
        self.merge = Some(merge);
        self
    }

    /// Reads values held in blob files with `resolve` where a merge folds onto one.
    /// Indirections are values to the stream: the filter sees them, weak tombstones
    /// annihilate with them, and they are kept or dropped like values.
    #[must_use]
    pub fn with_resolver(mut self, resolve: ResolveFn<E>) -> Self {
        self.resolve = Some(resolve);
        self
    }

    /// Folds the operand `newest` with the older versions of its key in the merge: the
    /// folded value, or `None` when it cannot fold (no merge function, or neither base
    /// nor bottom in reach).
    fn fold(&mut self, newest: &InternalEntry) -> Option<Result<InternalEntry, E>> {
        let merge = self.merge.clone()?;
        let same_key = |entry: &InternalEntry| entry.key.user_key == newest.key.user_key;
        let mut chain = vec![newest.clone()];
        while let Some(Ok(next)) = self.inner.peek() {
            if !same_key(next)
                || next.key.value_type != ValueType::MergeOperand
                || covered(&self.order, &self.range_tombstones, self.watermark, next)
            {
                break;
            }
            if let Some(Ok(operand)) = self.inner.next() {
                chain.push(operand);
            }
        }
        let covered_next = matches!(self.inner.peek(), Some(Ok(next)) if same_key(next) && covered(&self.order, &self.range_tombstones, self.watermark, next));
        let base = match self.inner.peek() {
            // A range tombstone ends the chain: fold onto nothing; the covered versions
            // are dropped as they come.
            _ if covered_next => None,
            Some(Ok(next)) if same_key(next) && next.key.value_type == ValueType::Value => {
                Some(next.value.clone())
            }
            Some(Ok(next))
                if same_key(next)
                    && next.key.value_type == ValueType::Indirection
                    && self.resolve.is_some() =>
            {
                let resolve = self.resolve.as_ref()?;
                match resolve(next) {
                    Ok(value) => Some(value),
                    Err(error) => return Some(Err(error)),
                }
            }
            Some(Ok(next)) if same_key(next) && next.key.value_type.is_tombstone() => None,
            // An indirection with no resolver to read it: the operands stay.
            Some(Ok(next)) if same_key(next) => return self.unfolded(chain),
            _ if self.bottom == Bottom::Yes => None,
            // Older versions may be below this merge: the operands stay.
            _ => return self.unfolded(chain),
        };
        if !covered_next && matches!(self.inner.peek(), Some(Ok(next)) if same_key(next)) {
            // The base (or the tombstone) is folded in: it goes with the operands.
            let _ = self.inner.next();
        }
        self.drops.shadowed += chain.len() as u64 - 1;
        let operands: Vec<&[u8]> = chain
            .iter()
            .rev()
            .map(|entry| entry.value.as_bytes())
            .collect();
        let folded = merge(newest.key.user_key.as_bytes(), base.as_deref(), &operands);
        Some(folded.map(|value| {
            let mut entry = newest.clone();
            entry.key.value_type = ValueType::Value;
            entry.value = value;
            entry
        }))
    }

    /// Operands that cannot fold: the newest is emitted now and the others follow as
    /// they are, each decided anew.
    fn unfolded(&mut self, chain: Vec<InternalEntry>) -> Option<Result<InternalEntry, E>> {
        self.pending.extend(chain.into_iter().skip(1));
        if let Some((_, decided)) = &mut self.current {
            *decided = false;
        }
        None
    }

    /// What was dropped so far.
    #[must_use]
    pub fn drops(&self) -> DropCounts {
        self.drops
    }

    /// Decides the newest version below the watermark: `Some` to emit.
    fn decide_newest_below(
        &mut self,
        mut entry: InternalEntry,
    ) -> Option<Result<InternalEntry, E>> {
        let at_bottom = self.bottom == Bottom::Yes;
        if entry.key.value_type == ValueType::MergeOperand {
            match self.fold(&entry) {
                Some(Ok(folded)) => entry = folded,
                Some(Err(error)) => return Some(Err(error)),
                None => {
                    // Not folded: the operand stays, and the next version is decided anew.
                    if let Some((_, decided)) = &mut self.current {
                        *decided = false;
                    }
                    return Some(Ok(entry));
                }
            }
        }
        if is_value(entry.key.value_type)
            && let Some(filter) = self.filter.as_mut()
        {
            match filter.decide(&entry) {
                Err(error) => return Some(Err(error)),
                Ok(FilterDecision::Keep) => {}
                Ok(FilterDecision::Replace(value)) => {
                    self.drops.filtered += 1;
                    entry.key.value_type = ValueType::Value;
                    entry.value = value;
                }
                Ok(FilterDecision::Remove) => {
                    self.drops.filtered += 1;
                    entry.key.value_type = ValueType::Tombstone;
                    entry.value = UserValue::empty();
                }
                Ok(FilterDecision::RemoveWeak) => {
                    // The weak tombstone stands for this value: it takes no older one.
                    self.drops.filtered += 1;
                    entry.key.value_type = ValueType::WeakTombstone;
                    entry.value = UserValue::empty();
                    return (!at_bottom).then_some(Ok(entry));
                }
                Ok(FilterDecision::Destroy) => {
                    self.drops.filtered += 1;
                    return None;
                }
            }
        }
        match entry.key.value_type {
            ValueType::Tombstone if at_bottom => {
                self.drops.tombstones += 1;
                None
            }
            ValueType::WeakTombstone => {
                let next_is_its_value = matches!(
                    self.inner.peek(),
                    Some(Ok(next)) if next.key.user_key == entry.key.user_key
                        && is_value(next.key.value_type)
                        && !covered(&self.order, &self.range_tombstones, self.watermark, next)
                );
                let next_is_tombstone = matches!(
                    self.inner.peek(),
                    Some(Ok(next)) if next.key.user_key == entry.key.user_key
                        && next.key.value_type == ValueType::Tombstone
                );
                if next_is_its_value {
                    // Consume the value: the pair cancels out, and the next older version
                    // (if any) is now the newest below the watermark, to be decided anew.
                    let _ = self.inner.next();
                    self.drops.weak_pairs += 1;
                    if let Some((_, decided)) = &mut self.current {
                        *decided = false;
                    }
                    None
                } else if next_is_tombstone && !at_bottom {
                    // The tombstone below goes as shadowed, yet it hides every older
                    // version in other tables: the weak one takes over as a tombstone (kept
                    // weak, it would later cancel one older value and uncover the rest).
                    entry.key.value_type = ValueType::Tombstone;
                    Some(Ok(entry))
                } else if at_bottom {
                    self.drops.tombstones += 1;
                    None
                } else {
                    Some(Ok(entry))
                }
            }
            // Values (folded operands included). Zeroing is safe under range tombstones:
            // those below the watermark are gone at the bottom, and those at or above it
            // are newer than every version below it.
            _ => {
                if at_bottom && !entry.key.value_type.is_tombstone() {
                    entry.key.seqno = 0;
                }
                self.keep_delete_below = !at_bottom && is_value(entry.key.value_type);
                Some(Ok(entry))
            }
        }
    }
}

impl<I, E> Iterator for CompactionStream<'_, I, E>
where
    I: Iterator<Item = Result<InternalEntry, E>>,
{
    type Item = Result<InternalEntry, E>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(operand) = self.pending.pop_front() {
            return Some(Ok(operand));
        }
        loop {
            let entry = match self.inner.next()? {
                Ok(entry) => entry,
                Err(error) => return Some(Err(error)),
            };
            if covered(&self.order, &self.range_tombstones, self.watermark, &entry) {
                self.drops.shadowed += 1;
                continue;
            }
            let same_key = self
                .current
                .as_ref()
                .is_some_and(|(user_key, _)| *user_key == entry.key.user_key);
            if !same_key {
                self.current = Some((entry.key.user_key.clone(), false));
                self.keep_delete_below = false;
            }
            if entry.key.seqno >= self.watermark {
                return Some(Ok(entry));
            }
            let decided = self.current.as_ref().is_some_and(|(_, decided)| *decided);
            if decided {
                if std::mem::take(&mut self.keep_delete_below)
                    && entry.key.value_type.is_tombstone()
                {
                    let mut entry = entry;
                    entry.key.value_type = ValueType::Tombstone;
                    entry.value = UserValue::empty();
                    return Some(Ok(entry));
                }
                self.drops.shadowed += 1;
                continue;
            }
            if let Some((_, decided)) = &mut self.current {
                *decided = true;
            }
            if let Some(decided) = self.decide_newest_below(entry) {
                return Some(decided);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn run(
        entries: &[InternalEntry],
        watermark: SeqNo,
        bottom: Bottom,
    ) -> Vec<(String, SeqNo, ValueType)> {
        CompactionStream::new(entries.iter().cloned().map(Ok::<_, ()>), watermark, bottom)
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    String::from_utf8(entry.key.user_key.to_vec()).unwrap(),
                    entry.key.seqno,
                    entry.key.value_type,
                )
            })
            .collect()
    }

    fn value(key: &str, seqno: SeqNo) -> InternalEntry {
        InternalEntry::new(key, "v", seqno, ValueType::Value)
    }

    #[test]
    fn tombstones_drop_only_at_the_bottom() {
        let entries = [
            value("a", 9),
            InternalEntry::tombstone("a", 5),
            value("a", 2),
            InternalEntry::tombstone("b", 3),
        ];
        assert_eq!(
            run(&entries, 6, Bottom::No),
            [
                ("a".into(), 9, ValueType::Value),
                ("a".into(), 5, ValueType::Tombstone),
                ("b".into(), 3, ValueType::Tombstone)
            ]
        );
        assert_eq!(
            run(&entries, 6, Bottom::Yes),
            [("a".into(), 9, ValueType::Value)]
        );
        assert_eq!(
            run(&entries, 0, Bottom::Yes).len(),
            entries.len(),
            "watermark 0 keeps all"
        );
    }

    #[test]
    fn a_weak_tombstone_takes_exactly_one_value_with_it() {
        let weak = InternalEntry::new("a", "", 5, ValueType::WeakTombstone);
        let entries = [weak.clone(), value("a", 3), value("b", 1)];
        assert_eq!(
            run(&entries, 10, Bottom::No),
            [("b".into(), 1, ValueType::Value)]
        );
        // Without its value in the merge, the weak tombstone stays (above the bottom).
        assert_eq!(run(std::slice::from_ref(&weak), 10, Bottom::No).len(), 1);
        assert_eq!(run(&[weak], 10, Bottom::Yes).len(), 0);
    }

    #[test]
    fn after_an_annihilated_pair_the_next_version_still_hides_what_is_below() {
        let entries = [
            InternalEntry::new("a", "", 4, ValueType::WeakTombstone),
            value("a", 3),
            InternalEntry::tombstone("a", 2),
            value("a", 1),
        ];
        assert_eq!(
            run(&entries, 10, Bottom::No),
            [("a".into(), 2, ValueType::Tombstone)]
        );
        assert_eq!(run(&entries, 10, Bottom::Yes), []);
    }

    #[test]
    fn a_value_written_after_a_delete_keeps_the_delete_below_it_above_the_bottom() {
        // put, weak delete, put: the first value may sit in a table below the merge.
        let entries = [
            value("a", 3),
            InternalEntry::new("a", "", 2, ValueType::WeakTombstone),
            value("a", 1),
            value("b", 2),
            value("b", 1),
        ];
        assert_eq!(
            run(&entries[..2], 10, Bottom::No),
            [
                ("a".into(), 3, ValueType::Value),
                ("a".into(), 2, ValueType::Tombstone)
            ]
        );
        // With its value in the merge too the delete is still kept: it hides the rest.
        assert_eq!(run(&entries, 10, Bottom::No).len(), 3);
        // A value over a value keeps only the newest; at the bottom nothing below stays.
        assert_eq!(
            run(&entries[3..], 10, Bottom::No),
            [("b".into(), 2, ValueType::Value)]
        );
        assert_eq!(
            run(&entries, 10, Bottom::Yes),
            [
                ("a".into(), 0, ValueType::Value),
                ("b".into(), 0, ValueType::Value)
            ]
        );
        // A later weak delete of the value then takes it alone, and the kept delete
        // hides what is below.
        let later = [
            InternalEntry::new("a", "", 4, ValueType::WeakTombstone),
            value("a", 3),
            InternalEntry::tombstone("a", 2),
        ];
        assert_eq!(
            run(&later, 10, Bottom::No),
            [("a".into(), 2, ValueType::Tombstone)]
        );
    }

    #[test]
    fn a_weak_tombstone_over_a_tombstone_becomes_one() {
        // The values below are in tables outside the merge: the tombstone that hid
        // them all is dropped as shadowed, so the weak one must hide them all too.
        let entries = [
            InternalEntry::new("a", "", 5, ValueType::WeakTombstone),
            InternalEntry::tombstone("a", 4),
        ];
        assert_eq!(
            run(&entries, 10, Bottom::No),
            [("a".into(), 5, ValueType::Tombstone)]
        );
        assert_eq!(run(&entries, 10, Bottom::Yes), []);
        // At or above the watermark nothing is collapsed.
        assert_eq!(run(&entries, 5, Bottom::No).len(), 2);
    }

    /// Removes "r*", weakly removes "w*", destroys "d*", replaces "x*", fails on "e*".
    struct ByPrefix;

    impl ItemFilter<()> for ByPrefix {
        fn decide(&mut self, entry: &InternalEntry) -> Result<FilterDecision, ()> {
            Ok(match entry.key.user_key.first() {
                Some(b'r') => FilterDecision::Remove,
                Some(b'w') => FilterDecision::RemoveWeak,
                Some(b'd') => FilterDecision::Destroy,
                Some(b'x') => FilterDecision::Replace("new".into()),
                Some(b'e') => return Err(()),
                _ => FilterDecision::Keep,
            })
        }
    }

    #[test]
    fn a_filter_decides_about_the_newest_value_below_the_watermark() {
        let entries = [
            value("d", 9),
            value("d", 2),
            value("d", 1),
            value("k", 3),
            value("r", 2),
            value("r", 1),
            value("w", 2),
            value("w", 1),
            value("x", 7),
            value("x", 2),
        ];
        let mut filter = ByPrefix;
        let kept: Vec<_> = CompactionStream::new(entries.iter().cloned().map(Ok), 5, Bottom::No)
            .with_filter(&mut filter)
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    entry.key.user_key.to_vec(),
                    entry.key.seqno,
                    entry.key.value_type,
                    entry.value.to_vec(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            [
                // At or above the watermark: untouched; below it, destroyed without a trace.
                (b"d".to_vec(), 9, ValueType::Value, b"v".to_vec()),
                (b"k".to_vec(), 3, ValueType::Value, b"v".to_vec()),
                (b"r".to_vec(), 2, ValueType::Tombstone, vec![]),
                (b"w".to_vec(), 2, ValueType::WeakTombstone, vec![]),
                (b"x".to_vec(), 7, ValueType::Value, b"v".to_vec()),
                (b"x".to_vec(), 2, ValueType::Value, b"new".to_vec()),
            ]
        );
        let mut filter = ByPrefix;
        let failed: Vec<_> = CompactionStream::new([Ok(value("e", 1))].into_iter(), 5, Bottom::No)
            .with_filter(&mut filter)
            .collect();
        assert_eq!(failed, [Err(())]);
    }

    fn concat() -> MergeFn<()> {
        std::sync::Arc::new(|_key: &[u8], base: Option<&[u8]>, operands: &[&[u8]]| {
            let mut out = base.unwrap_or(b"_").to_vec();
            for operand in operands {
                out.push(b'+');
                out.extend_from_slice(operand);
            }
            Ok(UserValue::from(out))
        })
    }

    fn folded(
        entries: &[InternalEntry],
        watermark: SeqNo,
        bottom: Bottom,
    ) -> Vec<(String, SeqNo, ValueType, String)> {
        CompactionStream::new(entries.iter().cloned().map(Ok::<_, ()>), watermark, bottom)
            .with_merge(concat())
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    String::from_utf8(entry.key.user_key.to_vec()).unwrap(),
                    entry.key.seqno,
                    entry.key.value_type,
                    String::from_utf8(entry.value.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn operand(key: &str, seqno: SeqNo, value: &str) -> InternalEntry {
        InternalEntry::new(key, value, seqno, ValueType::MergeOperand)
    }

    #[test]
    fn operands_below_the_watermark_fold_onto_their_base() {
        let entries = [
            operand("a", 9, "o9"),
            operand("a", 4, "o4"),
            operand("a", 3, "o3"),
            InternalEntry::new("a", "base", 2, ValueType::Value),
            value("a", 1),
            operand("b", 4, "o4"),
            InternalEntry::tombstone("b", 3),
            value("b", 1),
            operand("c", 2, "o2"),
        ];
        assert_eq!(
            folded(&entries, 5, Bottom::No),
            [
                ("a".into(), 9, ValueType::MergeOperand, "o9".into()),
                ("a".into(), 4, ValueType::Value, "base+o3+o4".into()),
                ("b".into(), 4, ValueType::Value, "_+o4".into()),
                // No base in reach above the bottom: the operand stays.
                ("c".into(), 2, ValueType::MergeOperand, "o2".into()),
            ]
        );
        let at_bottom = folded(&entries, 5, Bottom::Yes);
        assert_eq!(
            at_bottom.last().unwrap(),
            &("c".into(), 0, ValueType::Value, "_+o2".into())
        );
        // Without a merge function nothing folds and nothing below an operand is lost.
        let raw = run(&entries, 5, Bottom::No);
        assert_eq!(raw.len(), 7, "{raw:?}");
    }

    #[test]
    fn the_bottom_zeroes_seqnos_below_the_watermark() {
        let entries = [value("a", 9), value("a", 4), value("a", 1)];
        assert_eq!(
            run(&entries, 5, Bottom::Yes),
            [
                ("a".into(), 9, ValueType::Value),
                ("a".into(), 0, ValueType::Value)
            ]
        );
    }

    #[test]
    fn indirections_are_values_folded_through_the_resolver() {
        let pointer =
            |key: &str, seqno| InternalEntry::new(key, "@blob", seqno, ValueType::Indirection);
        let entries = [
            operand("a", 4, "o4"),
            pointer("a", 2),
            InternalEntry::new("b", "", 3, ValueType::WeakTombstone),
            pointer("b", 1),
        ];
        let resolved: Vec<_> =
            CompactionStream::new(entries.iter().cloned().map(Ok::<_, ()>), 5, Bottom::No)
                .with_merge(concat())
                .with_resolver(std::sync::Arc::new(|entry: &InternalEntry| {
                    assert_eq!(entry.key.value_type, ValueType::Indirection);
                    Ok(UserValue::from("big"))
                }))
                .map(|entry| {
                    let entry = entry.unwrap();
                    (entry.key.value_type, entry.value.to_vec())
                })
                .collect();
        // The operand folds onto the blob's value; the weak tombstone takes the pointer.
        assert_eq!(resolved, [(ValueType::Value, b"big+o4".to_vec())]);
        // With no resolver the operand cannot fold and stays above the pointer.
        let raw = folded(&entries[..2], 5, Bottom::No);
        assert_eq!(raw.len(), 2, "{raw:?}");
    }
}
