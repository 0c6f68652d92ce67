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
//! With watermark 0 nothing is below it: every version passes.

use lsm_core::{InternalEntry, SeqNo, UserKey, ValueType};

/// Whether nothing below the output can hold the keys being merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bottom {
    /// Older versions may exist below the output.
    No,
    /// The output is the oldest data of its keys.
    Yes,
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
}

/// What a merge keeps; see the module docs.
pub struct CompactionStream<I: Iterator> {
    inner: std::iter::Peekable<I>,
    watermark: SeqNo,
    bottom: Bottom,
    /// The user key being passed, and whether its newest version below the watermark
    /// has been decided.
    current: Option<(UserKey, bool)>,
    drops: DropCounts,
}

impl<I, E> CompactionStream<I>
where
    I: Iterator<Item = Result<InternalEntry, E>>,
{
    /// The versions of `inner` a merge keeps at `watermark`.
    pub fn new(inner: I, watermark: SeqNo, bottom: Bottom) -> Self {
        Self {
            inner: inner.peekable(),
            watermark,
            bottom,
            current: None,
            drops: DropCounts::default(),
        }
    }

    /// What was dropped so far.
    #[must_use]
    pub fn drops(&self) -> DropCounts {
        self.drops
    }

    /// Decides the newest version below the watermark: `Some` to emit.
    fn decide_newest_below(&mut self, mut entry: InternalEntry) -> Option<InternalEntry> {
        let at_bottom = self.bottom == Bottom::Yes;
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
                    Some(entry)
                }
            }
            // TODO(issue 7): fold merge operands onto the versions below them instead of
            // keeping the newest operand alone.
            _ => {
                if at_bottom {
                    entry.key.seqno = 0;
                }
                Some(entry)
            }
        }
    }
}

impl<I, E> Iterator for CompactionStream<I>
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
            if let Some(entry) = self.decide_newest_below(entry) {
                return Some(Ok(entry));
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
