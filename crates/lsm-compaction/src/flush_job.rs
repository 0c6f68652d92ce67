//! [`FlushJob`]: sealed memtables written as one level-0 run.
//!
//! The memtables' entries are merged into one sorted stream and passed through the
//! [`crate::CompactionStream`] below the caller's watermark, never as the bottom: a
//! flush cannot know what older tables hold, so tombstones stay and merge operands fold
//! only onto a base found in the memtables. Every range tombstone of the memtables goes
//! to the tables. The outputs are written by [`write_outputs`] (tables and, with a blob
//! target, blob files), synced and ready for the caller's version edit.

use std::path::Path;
use std::sync::Arc;

use lsm_core::mvcc::MergeFn;
use lsm_core::{Fs, SeqNo};
use lsm_memtable::Memtable;

use crate::blob_sink::BlobTarget;
use crate::job::{Outputs, TableTarget, write_outputs};
use crate::stream::Bottom;
use crate::{Error, merge_sources, surviving_tombstones};

/// A flush of sealed memtables; see the module docs.
pub struct FlushJob<'a, E> {
    /// The memtables, newest first.
    pub memtables: &'a [Arc<Memtable>],
    /// Versions that no read at or above this seqno can see are dropped.
    pub watermark: SeqNo,
    /// Folds merge operands onto a base in the memtables.
    pub merge: Option<MergeFn<E>>,
}

impl<E: From<Error>> FlushJob<'_, E> {
    /// The highest seqno the memtables hold (0 when they are empty).
    #[must_use]
    pub fn highest_seqno(&self) -> SeqNo {
        self.memtables
            .iter()
            .map(|memtable| memtable.highest_seqno())
            .max()
            .unwrap_or(0)
    }

    /// Writes the memtables into `tables` (and `blobs`).
    ///
    /// # Errors
    /// The merge function's errors and the writers'; no output is left behind.
    pub fn run(
        &self,
        fs: &dyn Fs,
        tables: &TableTarget<'_>,
        blobs: Option<(&BlobTarget<'_, E>, &Path)>,
    ) -> Result<Outputs, E> {
        // Memory corrupted since an insert must not reach disk: check before writing.
        for memtable in self.memtables {
            memtable
                .verify_digest()
                .map_err(|mismatch| E::from(Error::EntryDigestMismatch(mismatch)))?;
        }
        let sources: Vec<_> = self
            .memtables
            .iter()
            .map(|memtable| memtable.range::<&[u8], _>(.., SeqNo::MAX).map(Ok::<_, E>))
            .collect();
        let tombstones: Vec<_> = self
            .memtables
            .iter()
            .flat_map(|memtable| memtable.range_tombstones())
            .collect();
        let order = &tables.options.order;
        let mut stream = merge_sources(order, sources, self.watermark, Bottom::No)
            .with_range_tombstones(order, tombstones.clone());
        if let Some(merge) = &self.merge {
            stream = stream.with_merge(Arc::clone(merge));
        }
        let tombstones = surviving_tombstones(order, tombstones, self.watermark, Bottom::No);
        write_outputs(fs, tables, blobs, stream, tombstones)
    }
}
