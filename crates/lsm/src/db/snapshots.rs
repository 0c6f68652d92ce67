//! The seqnos open snapshots read at, and the GC watermark they hold back.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lsm_core::{SeqNo, SequenceNumberCounter};

/// Open snapshots by seqno (with how many read at each), over the visible seqno.
#[derive(Debug)]
pub(crate) struct SnapshotSet {
    visible: SequenceNumberCounter,
    open: Mutex<BTreeMap<SeqNo, usize>>,
}

impl SnapshotSet {
    pub(crate) fn new(visible: SequenceNumberCounter) -> Self {
        Self {
            visible,
            open: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<SeqNo, usize>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a snapshot at the visible seqno and returns it. The seqno is read under
    /// the same lock as [`Self::watermark`], so no background job that computed its
    /// watermark before this call can have dropped a version the snapshot sees.
    pub(crate) fn open(&self) -> SeqNo {
        let mut open = self.lock();
        let seqno = self.visible.get();
        *open.entry(seqno).or_default() += 1;
        seqno
    }

    /// Closes a snapshot [`Self::open`] returned.
    pub(crate) fn close(&self, seqno: SeqNo) {
        let mut open = self.lock();
        if let Some(count) = open.get_mut(&seqno) {
            *count -= 1;
            if *count == 0 {
                open.remove(&seqno);
            }
        }
    }

    /// The GC watermark: the oldest open snapshot's seqno, else the visible seqno (no
    /// version a read at or above it can see is dropped).
    pub(crate) fn watermark(&self) -> SeqNo {
        let open = self.lock();
        open.keys()
            .next()
            .copied()
            .unwrap_or_else(|| self.visible.get())
    }

    /// How many snapshots are open.
    pub(crate) fn count(&self) -> usize {
        self.lock().values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_is_the_oldest_open_snapshot() {
        let visible = SequenceNumberCounter::new(10);
        let set = SnapshotSet::new(visible.clone());
        assert_eq!(set.watermark(), 10);
        let first = set.open();
        let again = set.open();
        visible.set(20);
        let later = set.open();
        assert_eq!((first, again, later), (10, 10, 20));
        assert_eq!(set.watermark(), 10);
        set.close(first);
        assert_eq!(set.watermark(), 10, "one snapshot at 10 is still open");
        set.close(again);
        assert_eq!(set.watermark(), 20);
        set.close(later);
        assert_eq!((set.watermark(), set.count()), (20, 0));
    }
}
