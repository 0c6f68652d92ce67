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
//! With watermark 0 nothing is below it: every version passes.

use lsm_core::{InternalEntry, SeqNo, UserKey, UserValue, ValueType};

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
    watermark: SeqNo,
    bottom: Bottom,
    /// The user key being passed, and whether its newest version below the watermark
    /// has been decided.
    current: Option<(UserKey, bool)>,
    drops: DropCounts,
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
            watermark,
            bottom,
            current: None,
            drops: DropCounts::default(),
        }
    }

    /// Lets `filter` decide about each key's newest value below the watermark.
    #[must_use]
    pub fn with_filter(mut self, filter: &'f mut dyn ItemFilter<E>) -> Self {
        self.filter = Some(filter);
        self
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
        if entry.key.value_type == ValueType::Value
            && let Some(filter) = self.filter.as_mut()
        {
            match filter.decide(&entry) {
                Err(error) => return Some(Err(error)),
                Ok(FilterDecision::Keep) => {}
                Ok(FilterDecision::Replace(value)) => {
                    self.drops.filtered += 1;
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
                        && next.key.value_type == ValueType::Value
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
                } else if at_bottom {
                    self.drops.tombstones += 1;
                    None
                } else {
                    Some(Ok(entry))
                }
            }
            // TODO(issue 7): fold merge operands onto the versions below them instead of
            // keeping the newest operand alone.
            _ => {
                if at_bottom && !entry.key.value_type.is_tombstone() {
                    entry.key.seqno = 0;
                }
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
        loop {
            let entry = match self.inner.next()? {
                Ok(entry) => entry,
                Err(error) => return Some(Err(error)),
            };
            let same_key = self
                .current
                .as_ref()
                .is_some_and(|(user_key, _)| *user_key == entry.key.user_key);
            if !same_key {
                self.current = Some((entry.key.user_key.clone(), false));
            }
            if entry.key.seqno >= self.watermark {
                return Some(Ok(entry));
            }
            let decided = self.current.as_ref().is_some_and(|(_, decided)| *decided);
            if decided {
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
}
