//! [`GcStream`]: drops the versions no read at or above a watermark can see.
//!
//! Input is a merged stream in internal-key order (a user key's versions together,
//! newest first). Per user key the stream keeps every version with a seqno at or above
//! the watermark, and the newest version below it, which is what a read at the
//! watermark sees; older versions below the watermark are shadowed for every read at or
//! above it and are dropped. Tombstones are kept like values: a layer that is not the
//! last one cannot tell whether something older below it still needs hiding.
//!
//! With watermark 0 nothing is below it and the stream passes everything through.
//! Errors pass through in place.

use crate::{InternalEntry, SeqNo, UserKey};

/// Garbage collection of shadowed versions; see the module docs.
pub struct GcStream<I> {
    inner: I,
    watermark: SeqNo,
    /// The user key being passed, and whether its newest version below the watermark
    /// has been kept.
    current: Option<(UserKey, bool)>,
    dropped_count: u64,
}

impl<I> GcStream<I> {
    /// The versions of `inner` that reads at or above `watermark` may see.
    pub fn new(inner: I, watermark: SeqNo) -> Self {
        Self {
            inner,
            watermark,
            current: None,
            dropped_count: 0,
        }
    }

    /// Versions dropped so far.
    #[must_use]
    pub fn dropped_count(&self) -> u64 {
        self.dropped_count
    }
}

impl<I, E> Iterator for GcStream<I>
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
            if let Some((_, kept_below)) = &mut self.current
                && !*kept_below
            {
                *kept_below = true;
                return Some(Ok(entry));
            }
            self.dropped_count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::ValueType;

    fn run(entries: Vec<InternalEntry>, watermark: SeqNo) -> Vec<(String, SeqNo)> {
        GcStream::new(entries.into_iter().map(Ok::<_, ()>), watermark)
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    String::from_utf8(entry.key.user_key.to_vec()).unwrap(),
                    entry.key.seqno,
                )
            })
            .collect()
    }

    #[test]
    fn keeps_everything_above_the_watermark_and_the_newest_below() {
        let entries = vec![
            InternalEntry::new("a", "4", 9, ValueType::Value),
            InternalEntry::new("a", "3", 7, ValueType::Value),
            InternalEntry::tombstone("a", 5),
            InternalEntry::new("a", "1", 2, ValueType::Value),
            InternalEntry::new("b", "1", 3, ValueType::Value),
            InternalEntry::new("b", "0", 1, ValueType::Value),
        ];
        assert_eq!(
            run(entries.clone(), 6),
            [
                ("a".into(), 9),
                ("a".into(), 7),
                ("a".into(), 5),
                ("b".into(), 3)
            ]
        );
        assert_eq!(run(entries.clone(), 0).len(), entries.len());
        assert_eq!(run(entries, SeqNo::MAX), [("a".into(), 9), ("b".into(), 3)]);
    }

    #[test]
    fn errors_pass_through_in_place() {
        let items = vec![
            Ok(InternalEntry::new("a", "1", 3, ValueType::Value)),
            Err("boom"),
            Ok(InternalEntry::new("a", "0", 1, ValueType::Value)),
        ];
        let out: Vec<_> = GcStream::new(items.into_iter(), 10).collect();
        assert_eq!(out.len(), 2);
        assert!(out[1].is_err());
    }
}
