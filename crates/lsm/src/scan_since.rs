//! Change data capture: [`crate::Tree::scan_since_seqno`], every change at or after a
//! seqno as events in seqno order.
//!
//! The scan reads one snapshot: the memtables are captured with writers held out for
//! the moment it takes to copy their changes (a write landing during the scan is either
//! wholly in it or wholly after it), the tables of the same super-version are read
//! while writers continue. A table whose newest seqno is below the target is not read
//! at all, nor is a data block whose recorded seqno bounds lie below it (tables record
//! each data block's smallest and largest seqno; older tables are read whole);
//! [`crate::Tree::scan_since_seqno_full_scan`] reads every block of every table and
//! trusts no bound. Versions are not collapsed: a key written three times after the target gives
//! three events. A weak tombstone reads as a point tombstone; a separated value is read
//! from its blob file.
//!
//! What compaction collapsed cannot be replayed: a flush or compaction with a GC
//! watermark `w` keeps, of the versions below `w`, only each key's newest (and drops
//! tombstones at the last level). [`crate::Tree::oldest_exact_seqno`] says from which
//! seqno a scan is exact.
//!
//! The events are gathered in memory and sorted before the first is returned: memory
//! is proportional to the changes since the target.
//!
//! ```
//! use lsm::{AbstractTree, AnyTree, Config, ScanSinceEvent, SequenceNumberCounter};
//!
//! let dir = tempfile::tempdir()?;
//! let AnyTree::Standard(tree) =
//!     Config::new(dir.path(), SequenceNumberCounter::default(), SequenceNumberCounter::default())
//!         .open()?
//! else {
//!     unreachable!("no key-value separation configured");
//! };
//! tree.insert("a", "1", 0);
//! tree.flush_active_memtable(0)?;
//! tree.insert("a", "2", 1);
//! tree.remove("b", 2);
//! let events: Vec<_> = tree.scan_since_seqno(1)?.collect();
//! assert_eq!(events.len(), 2);
//! assert!(matches!(&events[0], ScanSinceEvent::Insert { value, seqno: 1, .. } if value == "2"));
//! assert!(matches!(&events[1], ScanSinceEvent::PointTombstone { seqno: 2, .. }));
//! # Ok::<(), lsm::Error>(())
//! ```

use std::cmp::Ordering;

use lsm_core::{InternalEntry, KeyOrder, RangeTombstone, SeqNo, Slice, ValueType};

use crate::Result;
use crate::super_version::SuperVersion;
use crate::tree::TreeInner;

/// One change of a tree; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanSinceEvent {
    /// `key` was set to `value`.
    Insert {
        /// The key.
        key: Slice,
        /// The value (read from its blob file when it was separated).
        value: Slice,
        /// When.
        seqno: SeqNo,
    },
    /// A merge operand was written for `key` (apply the same merge operator to replay).
    MergeOperand {
        /// The key.
        key: Slice,
        /// The operand.
        operand: Slice,
        /// When.
        seqno: SeqNo,
    },
    /// `key` was deleted (also what a weak delete reads as).
    PointTombstone {
        /// The key.
        key: Slice,
        /// When.
        seqno: SeqNo,
    },
    /// The keys from `start_key` (inclusive) to `end_key` (exclusive) were deleted.
    RangeTombstone {
        /// The first key deleted.
        start_key: Slice,
        /// The first key after the range.
        end_key: Slice,
        /// When.
        seqno: SeqNo,
    },
}

impl ScanSinceEvent {
    /// The seqno of the change.
    #[must_use]
    pub fn seqno(&self) -> SeqNo {
        match self {
            Self::Insert { seqno, .. }
            | Self::MergeOperand { seqno, .. }
            | Self::PointTombstone { seqno, .. }
            | Self::RangeTombstone { seqno, .. } => *seqno,
        }
    }

    /// The key the change is sorted by within its seqno.
    fn key(&self) -> &Slice {
        match self {
            Self::Insert { key, .. }
            | Self::MergeOperand { key, .. }
            | Self::PointTombstone { key, .. } => key,
            Self::RangeTombstone { start_key, .. } => start_key,
        }
    }

    /// Point changes before range deletes of the same seqno.
    fn rank(&self) -> u8 {
        u8::from(matches!(self, Self::RangeTombstone { .. }))
    }
}

/// Where a scan may skip what is older than its target.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bounds {
    /// Tables and data blocks whose newest seqno is below the target are not read.
    Trusted,
    /// Every table is read, every entry checked.
    Ignored,
}

impl TreeInner {
    /// Raises the floor of exact replay to `watermark` before a flush or merge that may
    /// collapse history below it.
    pub(crate) fn note_gc_watermark(&self, watermark: SeqNo) {
        self.gc_floor
            .fetch_max(watermark, std::sync::atomic::Ordering::AcqRel);
    }

    /// The first seqno from which [`Self::changes_since`] replays every change.
    pub(crate) fn inner_oldest_exact_seqno(&self) -> SeqNo {
        self.gc_floor.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Every change with a seqno at or after `target`, in seqno order; see the module
    /// docs.
    pub(crate) fn changes_since(
        &self,
        target: SeqNo,
        bounds: Bounds,
    ) -> Result<Vec<ScanSinceEvent>> {
        let (super_version, mut entries, mut tombstones) = {
            // Writers wait while the memtables are copied, so that no write lands half
            // in the snapshot.
            let _gate = self.published.exclusive();
            let super_version = self.super_version();
            let (entries, tombstones) = memtable_changes(&super_version, target);
            (super_version, entries, tombstones)
        };
        for meta in super_version.version.tables() {
            if bounds == Bounds::Trusted && meta.seqno_max < target {
                continue;
            }
            let live = super_version.table(meta.id);
            for entry in live.table.scan_since(target, bounds == Bounds::Trusted)? {
                entries.push(entry?);
            }
            tombstones.extend(
                live.table
                    .range_tombstones()
                    .iter()
                    .filter(|tombstone| tombstone.seqno >= target)
                    .cloned(),
            );
        }
        let mut events = Vec::with_capacity(entries.len() + tombstones.len());
        for entry in entries {
            events.push(event(&super_version, entry)?);
        }
        events.extend(
            tombstones
                .into_iter()
                .map(|tombstone| ScanSinceEvent::RangeTombstone {
                    start_key: tombstone.start,
                    end_key: tombstone.end,
                    seqno: tombstone.seqno,
                }),
        );
        let order = super_version.version.order();
        events.sort_by(|a, b| compare(order, a, b));
        Ok(events)
    }
}

impl crate::Tree {
    /// Every change with a seqno at or after `target_seqno`, in seqno order, history not
    /// collapsed (see [`crate::scan_since`]).
    ///
    /// # Errors
    /// A table, blob file or block that cannot be read.
    pub fn scan_since_seqno(
        &self,
        target_seqno: SeqNo,
    ) -> Result<impl Iterator<Item = ScanSinceEvent> + use<>> {
        Ok(self
            .changes_since(target_seqno, Bounds::Trusted)?
            .into_iter())
    }

    /// [`Self::scan_since_seqno`] reading every table, trusting no seqno bound.
    ///
    /// # Errors
    /// As [`Self::scan_since_seqno`].
    pub fn scan_since_seqno_full_scan(
        &self,
        target_seqno: SeqNo,
    ) -> Result<impl Iterator<Item = ScanSinceEvent> + use<>> {
        Ok(self
            .changes_since(target_seqno, Bounds::Ignored)?
            .into_iter())
    }

    /// The first seqno from which [`Self::scan_since_seqno`] replays every change: the
    /// highest GC watermark a flush or compaction of this tree has used (below it,
    /// versions may be collapsed and tombstones dropped), as the manifest records it; for
    /// a tree whose manifest predates that record (or was rebuilt by repair), the first
    /// seqno after the ones recovered at open.
    #[must_use]
    pub fn oldest_exact_seqno(&self) -> SeqNo {
        self.inner_oldest_exact_seqno()
    }
}

/// The changes at or after `target` in the memtables of `super_version`.
fn memtable_changes(
    super_version: &SuperVersion,
    target: SeqNo,
) -> (Vec<InternalEntry>, Vec<RangeTombstone>) {
    let (mut entries, mut tombstones) = (Vec::new(), Vec::new());
    for memtable in super_version.memtables() {
        entries.extend(
            memtable
                .range::<&[u8], _>(.., SeqNo::MAX)
                .filter(|entry| entry.key.seqno >= target),
        );
        tombstones.extend(
            memtable
                .range_tombstones()
                .into_iter()
                .filter(|tombstone| tombstone.seqno >= target),
        );
    }
    (entries, tombstones)
}

/// The event of a stored entry (a separated value read from its blob file).
fn event(super_version: &SuperVersion, entry: InternalEntry) -> Result<ScanSinceEvent> {
    let InternalEntry { key, value } = entry;
    let seqno = key.seqno;
    Ok(match key.value_type {
        ValueType::Value => ScanSinceEvent::Insert {
            key: key.user_key,
            value,
            seqno,
        },
        ValueType::Indirection => {
            let value = crate::blobs::read_value(
                &super_version.blob_files,
                &InternalEntry {
                    key: key.clone(),
                    value,
                },
            )?;
            ScanSinceEvent::Insert {
                key: key.user_key,
                value,
                seqno,
            }
        }
        ValueType::MergeOperand => ScanSinceEvent::MergeOperand {
            key: key.user_key,
            operand: value,
            seqno,
        },
        ValueType::Tombstone | ValueType::WeakTombstone => ScanSinceEvent::PointTombstone {
            key: key.user_key,
            seqno,
        },
    })
}

/// Seqno order; within a seqno, point changes in key order, then range deletes.
fn compare(order: &KeyOrder, a: &ScanSinceEvent, b: &ScanSinceEvent) -> Ordering {
    a.seqno()
        .cmp(&b.seqno())
        .then_with(|| a.rank().cmp(&b.rank()))
        .then_with(|| order.cmp(a.key(), b.key()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_sort_by_seqno_then_points_then_key() {
        let order = KeyOrder::lexicographic();
        let point = |key: &str, seqno| ScanSinceEvent::PointTombstone {
            key: key.into(),
            seqno,
        };
        let range = ScanSinceEvent::RangeTombstone {
            start_key: "a".into(),
            end_key: "z".into(),
            seqno: 5,
        };
        let mut events = vec![point("b", 5), range.clone(), point("a", 5), point("z", 1)];
        events.sort_by(|a, b| compare(&order, a, b));
        assert_eq!(
            events,
            vec![point("z", 1), point("a", 5), point("b", 5), range]
        );
        assert_eq!(events[0].seqno(), 1);
    }
}
