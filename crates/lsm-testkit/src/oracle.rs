//! [`Oracle`]: the reference a tree is checked against, built on ordered maps only.
//!
//! It keeps every version of every key and answers reads at any seqno by the rule the
//! engine promises: a read at seqno `r` sees, per key, the newest version with seqno
//! `< r`; a value makes the key present, a tombstone (strong or weak) makes it absent.
//! It shares no code with the engine's merge and MVCC streams, so that a bug there
//! cannot hide itself. [`Oracle::gc`] drops what no read at or above a watermark can
//! see, which is what flush and compaction may do.

use std::collections::BTreeMap;
use std::ops::Bound;

use lsm_core::KeyOrder;

use crate::model::in_bounds_in;

/// One version of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// A value.
    Value(Vec<u8>),
    /// A tombstone.
    Tombstone,
    /// A weak (single) tombstone: reads treat it as a tombstone.
    WeakTombstone,
    /// A merge operand, folded by the oracle's merge function onto the value below.
    Operand(Vec<u8>),
}

/// Folds operands (oldest first) onto a base value.
pub type MergeFn = fn(Option<&[u8]>, &[&[u8]]) -> Vec<u8>;

/// Every version of every key; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Oracle {
    keys: BTreeMap<Vec<u8>, BTreeMap<u64, Version>>,
    merge: Option<MergeFn>,
    /// Range deletes: `(start, end, seqno)` deletes `start <= k < end` older than `seqno`.
    range_tombstones: Vec<(Vec<u8>, Vec<u8>, u64)>,
    /// The order of the keys (ranges, bounds and results follow it).
    order: KeyOrder,
}

impl Oracle {
    /// An empty oracle.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty oracle whose reads fold merge operands with `merge`.
    #[must_use]
    pub fn with_merge(merge: MergeFn) -> Self {
        Self {
            keys: BTreeMap::new(),
            merge: Some(merge),
            range_tombstones: Vec::new(),
            order: KeyOrder::lexicographic(),
        }
    }

    /// The oracle with its keys in `order`.
    #[must_use]
    pub fn with_order(mut self, order: KeyOrder) -> Self {
        self.order = order;
        self
    }

    /// Records a delete of every key in `start..end` older than `seqno` (nothing for an
    /// empty or inverted range).
    pub fn remove_range(&mut self, start: &[u8], end: &[u8], seqno: u64) {
        if self.order.lt(start, end) {
            self.range_tombstones
                .push((start.to_vec(), end.to_vec(), seqno));
        }
    }

    /// The value `versions` of `key` give a read at `read_seqno`.
    fn visible(
        &self,
        key: &[u8],
        versions: &BTreeMap<u64, Version>,
        read_seqno: u64,
    ) -> Option<Vec<u8>> {
        visible(
            &self.order,
            key,
            versions,
            read_seqno,
            self.merge,
            &self.range_tombstones,
        )
    }

    /// Forgets a range delete, as if it had never been written.
    pub fn forget_range(&mut self, start: &[u8], end: &[u8], seqno: u64) {
        self.range_tombstones
            .retain(|(s, e, q)| !(s.as_slice() == start && e.as_slice() == end && *q == seqno));
    }

    /// Records a merge operand for `key` at `seqno`.
    pub fn merge(&mut self, key: &[u8], operand: &[u8], seqno: u64) {
        self.record(key, seqno, Version::Operand(operand.to_vec()));
    }

    /// A copy with the same merge function and no versions.
    #[must_use]
    pub fn emptied(&self) -> Self {
        Self {
            keys: BTreeMap::new(),
            merge: self.merge,
            range_tombstones: Vec::new(),
            order: self.order.clone(),
        }
    }

    /// Records `value` for `key` at `seqno` (replacing a version at the same seqno).
    pub fn insert(&mut self, key: &[u8], value: &[u8], seqno: u64) {
        self.record(key, seqno, Version::Value(value.to_vec()));
    }

    /// Records a tombstone for `key` at `seqno`.
    pub fn remove(&mut self, key: &[u8], seqno: u64) {
        self.record(key, seqno, Version::Tombstone);
    }

    /// Records a weak tombstone for `key` at `seqno`.
    pub fn remove_weak(&mut self, key: &[u8], seqno: u64) {
        self.record(key, seqno, Version::WeakTombstone);
    }

    /// Records a tombstone at `seqno` for every key present at `seqno + 1`, as a
    /// `clear` at that seqno would.
    pub fn remove_all(&mut self, seqno: u64) {
        let present: Vec<Vec<u8>> = self
            .range(
                &Bound::Unbounded,
                &Bound::Unbounded,
                seqno.saturating_add(1),
            )
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        for key in present {
            self.remove(&key, seqno);
        }
    }

    /// Forgets the version of `key` at `seqno`, as if it had never been written (what
    /// dropping a table, or losing an unflushed memtable in a crash, does to it).
    pub fn forget(&mut self, key: &[u8], seqno: u64) {
        if let Some(versions) = self.keys.get_mut(key) {
            versions.remove(&seqno);
            if versions.is_empty() {
                self.keys.remove(key);
            }
        }
    }

    fn record(&mut self, key: &[u8], seqno: u64, version: Version) {
        self.keys
            .entry(key.to_vec())
            .or_default()
            .insert(seqno, version);
    }

    /// The value of `key` seen at `read_seqno`.
    #[must_use]
    pub fn get(&self, key: &[u8], read_seqno: u64) -> Option<Vec<u8>> {
        self.keys
            .get(key)
            .and_then(|versions| self.visible(key, versions, read_seqno))
    }

    /// The present keys within the bounds at `read_seqno`, in key order.
    #[must_use]
    pub fn range(
        &self,
        lower: &Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
        read_seqno: u64,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut present: Vec<_> = self
            .keys
            .iter()
            .filter(|(key, _)| in_bounds_in(&self.order, key, lower, upper))
            .filter_map(|(key, versions)| {
                self.visible(key, versions, read_seqno)
                    .map(|value| (key.clone(), value))
            })
            .collect();
        if !self.order.is_lexicographic() {
            present.sort_by(|left, right| self.order.cmp(&left.0, &right.0));
        }
        present
    }

    /// The present keys starting with `prefix` at `read_seqno`, in key order.
    #[must_use]
    pub fn prefix(&self, prefix: &[u8], read_seqno: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.range(&Bound::Unbounded, &Bound::Unbounded, read_seqno)
            .into_iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .collect()
    }

    /// Number of present keys at `read_seqno`.
    #[must_use]
    pub fn len(&self, read_seqno: u64) -> usize {
        self.keys
            .iter()
            .filter(|(key, versions)| self.visible(key, versions, read_seqno).is_some())
            .count()
    }

    /// Whether no key is present at `read_seqno`.
    #[must_use]
    pub fn is_empty(&self, read_seqno: u64) -> bool {
        self.len(read_seqno) == 0
    }

    /// The highest seqno recorded.
    #[must_use]
    pub fn highest_seqno(&self) -> Option<u64> {
        self.keys
            .values()
            .filter_map(|versions| versions.keys().next_back().copied())
            .max()
    }

    /// Versions kept, over all keys.
    #[must_use]
    pub fn version_count(&self) -> usize {
        self.keys.values().map(BTreeMap::len).sum()
    }

    /// Drops every version that no read at a seqno `>= watermark` can see: per key,
    /// everything older than the newest version below the watermark, and that version
    /// too when it is a tombstone with nothing older left to hide.
    pub fn gc(&mut self, watermark: u64) {
        for versions in self.keys.values_mut() {
            let Some(&newest_below) = versions
                .range(..watermark)
                .next_back()
                .map(|(seqno, _)| seqno)
            else {
                continue;
            };
            if matches!(versions.get(&newest_below), Some(Version::Operand(_))) {
                // Operands need what is below them: keep the key whole.
                continue;
            }
            versions.retain(|&seqno, _| seqno >= newest_below);
            if !matches!(versions.get(&newest_below), Some(Version::Value(_))) {
                versions.remove(&newest_below);
            }
        }
        self.keys.retain(|_, versions| !versions.is_empty());
    }
}

/// The value the newest version below `read_seqno` gives, if it is a value.
fn visible(
    order: &KeyOrder,
    key: &[u8],
    versions: &BTreeMap<u64, Version>,
    read_seqno: u64,
    merge: Option<MergeFn>,
    range_tombstones: &[(Vec<u8>, Vec<u8>, u64)],
) -> Option<Vec<u8>> {
    let mut operands: Vec<&[u8]> = Vec::new();
    let mut base = None;
    for (&seqno, version) in versions.range(..read_seqno).rev() {
        let hidden = range_tombstones
            .iter()
            .any(|(start, end, tombstone_seqno)| {
                order.le(start, key)
                    && order.lt(key, end)
                    && seqno < *tombstone_seqno
                    && *tombstone_seqno < read_seqno
            });
        if hidden {
            // A range delete acts as a tombstone here.
            break;
        }
        match version {
            Version::Operand(operand) => {
                if merge.is_none() {
                    // Without a merge function the newest operand is the value.
                    return Some(operand.clone());
                }
                operands.push(operand);
            }
            Version::Value(value) => {
                base = Some(value.as_slice());
                break;
            }
            Version::Tombstone | Version::WeakTombstone => break,
        }
    }
    match merge {
        Some(merge) if !operands.is_empty() => {
            operands.reverse();
            Some(merge(base, &operands))
        }
        _ => base.map(<[u8]>::to_vec),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::rng::Rng;

    #[test]
    fn reads_see_the_newest_version_below_the_read_seqno() {
        let mut oracle = Oracle::new();
        oracle.insert(b"a", b"1", 1);
        oracle.insert(b"a", b"2", 5);
        oracle.remove(b"a", 8);
        oracle.insert(b"b", b"x", 3);
        oracle.remove_weak(b"b", 4);
        assert_eq!(oracle.get(b"a", 1), None);
        assert_eq!(oracle.get(b"a", 2), Some(b"1".to_vec()));
        assert_eq!(oracle.get(b"a", 6), Some(b"2".to_vec()));
        assert_eq!(oracle.get(b"a", 9), None);
        assert_eq!(oracle.get(b"b", 4), Some(b"x".to_vec()));
        assert_eq!(oracle.get(b"b", 5), None);
        assert_eq!(
            oracle.range(&Bound::Unbounded, &Bound::Unbounded, 4).len(),
            2
        );
        assert_eq!(oracle.len(9), 0);
        assert!(oracle.is_empty(u64::MAX));
        assert_eq!(oracle.highest_seqno(), Some(8));
        oracle.forget(b"a", 8);
        assert_eq!(oracle.get(b"a", 9), Some(b"2".to_vec()));
        oracle.forget(b"b", 3);
        oracle.forget(b"b", 4);
        oracle.forget(b"zz", 1);
        assert_eq!(
            oracle.range(&Bound::Unbounded, &Bound::Unbounded, 9).len(),
            1
        );
    }

    #[test]
    fn remove_all_hides_everything_from_its_seqno_on() {
        let mut oracle = Oracle::new();
        oracle.insert(b"a", b"1", 1);
        oracle.insert(b"b", b"2", 2);
        oracle.remove_all(3);
        assert_eq!(oracle.len(3), 2);
        assert_eq!(oracle.len(4), 0);
        oracle.insert(b"a", b"3", 4);
        assert_eq!(oracle.prefix(b"a", 5), vec![(b"a".to_vec(), b"3".to_vec())]);
    }

    /// Every read at or above the watermark answers the same after `gc`, and `gc` keeps
    /// at most one version below the watermark per key.
    #[test]
    fn gc_never_changes_an_answer_at_or_above_the_watermark() {
        let mut rng = Rng::from_env(5);
        for _ in 0..200 {
            let mut oracle = Oracle::new();
            let ops = 1 + rng.index(60);
            for seqno in 0..ops as u64 {
                let key = [b'k', b'0' + u8::try_from(rng.below(5)).unwrap()];
                match rng.below(4) {
                    0 => oracle.remove(&key, seqno),
                    1 => oracle.remove_weak(&key, seqno),
                    _ => oracle.insert(&key, &seqno.to_le_bytes(), seqno),
                }
            }
            let watermark = rng.below(ops as u64 + 2);
            let mut collected = oracle.clone();
            collected.gc(watermark);
            for read_seqno in watermark..=ops as u64 + 1 {
                assert_eq!(
                    collected.range(&Bound::Unbounded, &Bound::Unbounded, read_seqno),
                    oracle.range(&Bound::Unbounded, &Bound::Unbounded, read_seqno),
                    "watermark {watermark}, read {read_seqno}"
                );
            }
            for versions in collected.keys.values() {
                assert!(versions.range(..watermark).count() <= 1);
            }
            assert!(collected.version_count() <= oracle.version_count());
        }
    }
}
