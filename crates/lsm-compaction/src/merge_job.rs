//! [`MergeJob`]: a merge of tables into new ones, cut into key-range slices when it is
//! large (sub-compactions).
//!
//! Each slice reads its key range of every input, merges the entries newest source first
//! through the [`CompactionStream`] (garbage collection below the watermark, range
//! tombstones, merge operands, the caller's item filter), passes every entry through the
//! caller's throttle (which may stop the merge), and writes its outputs
//! ([`write_outputs`]). The caller's executor runs the slices, one after the other or in
//! parallel; the outputs of all slices form one result. When any slice fails, every
//! slice's outputs are deleted and the first error is returned.
//!
//! Range tombstones are never split across slices (each lies whole in one output table,
//! so the tables' key ranges stay disjoint): a merge whose inputs hold any runs as one
//! slice.

use std::ops::Bound;
use std::path::Path;

use lsm_core::mvcc::{MergeFn, ResolveFn};
use lsm_core::{Fs, InternalEntry, KeyOrder, SeqNo, UserKey};
use lsm_table::Table;
use lsm_version::Version;

use crate::blob_sink::BlobTarget;
use crate::job::{Outputs, TableTarget, write_outputs};
use crate::stream::{Bottom, ItemFilter};
use crate::{Error, Input, merge_sources, slice_boundaries, surviving_tombstones};

/// One slice of a job, ready to run on any thread.
pub type SliceTask<'s, E> = Box<dyn FnOnce() -> Result<Outputs, E> + Send + 's>;

/// Runs a job's slices and returns their results in the same order (on the calling
/// thread one after the other, or spread over a pool).
pub type RunSlices<'a, E> = dyn for<'s> Fn(Vec<SliceTask<'s, E>>) -> Vec<Result<Outputs, E>> + 'a;

/// The filter of one slice, told when the slice has consumed every item.
pub trait SliceFilter<E>: ItemFilter<E> + Send {
    /// Called once the slice's stream is exhausted.
    fn finish(self: Box<Self>) {}
}

/// A merge of tables; see the module docs.
pub struct MergeJob<'a, E> {
    /// The input tables, newest source first (level 0's newest run first, then the
    /// deeper levels).
    pub inputs: &'a [Table],
    /// Versions that no read at or above this seqno can see are dropped.
    pub watermark: SeqNo,
    /// Whether no table outside the merge can hold older versions of its keys.
    pub bottom: Bottom,
    /// Folds merge operands.
    pub merge: Option<MergeFn<E>>,
    /// Reads separated values (for merge operands and filters).
    pub resolve: Option<ResolveFn<E>>,
    /// Makes each slice's item filter.
    pub filter: Option<&'a (dyn Fn() -> Box<dyn SliceFilter<E>> + Sync)>,
    /// Sees every entry on its way to the outputs: an error stops the merge (shutdown,
    /// a rate limiter that was stopped).
    pub throttle: &'a (dyn Fn(&InternalEntry) -> Result<(), E> + Sync),
    /// Bytes of the input files.
    pub input_bytes: u64,
    /// Input bytes per slice at least, before a merge is cut into slices.
    pub slice_min_bytes: u64,
    /// Slices at most (the threads that run them).
    pub slice_count_max: usize,
}

impl<E: From<Error> + Send> MergeJob<'_, E> {
    /// Runs the merge into `tables` (and `blobs`), its slices through `run_slices`.
    ///
    /// # Errors
    /// The first error of any slice (reading an input, the filter, the throttle,
    /// writing); no output is left behind.
    pub fn run(
        &self,
        fs: &dyn Fs,
        tables: &TableTarget<'_>,
        blobs: Option<(&BlobTarget<'_, E>, &Path)>,
        run_slices: &RunSlices<'_, E>,
    ) -> Result<Outputs, E> {
        let slices = slice_bounds(self.boundaries(&tables.options.order)?);
        let tasks: Vec<SliceTask<'_, E>> = slices
            .into_iter()
            .map(|bounds| {
                let task: SliceTask<'_, E> =
                    Box::new(move || self.run_slice(fs, tables, blobs, &bounds));
                task
            })
            .collect();
        let slice_count = tasks.len();
        let mut outputs = Outputs::default();
        let mut failure = None;
        for result in run_slices(tasks) {
            match result {
                Ok(part) => outputs.extend(part),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        if let Some(error) = failure {
            outputs.remove(fs);
            return Err(error);
        }
        if slice_count > 1 {
            tracing::debug!(slices = slice_count, "sub-compactions");
        }
        Ok(outputs)
    }

    /// Where the slices are cut: by the inputs' index blocks, into about equal bytes.
    fn boundaries(&self, order: &KeyOrder) -> Result<Vec<UserKey>, E> {
        let by_size = self.input_bytes / self.slice_min_bytes.max(1);
        let has_tombstones = self
            .inputs
            .iter()
            .any(|table| !table.range_tombstones().is_empty());
        let slice_count = if has_tombstones {
            1
        } else {
            usize::try_from(by_size)
                .unwrap_or(usize::MAX)
                .min(self.slice_count_max)
        };
        if slice_count < 2 {
            return Ok(Vec::new());
        }
        let mut blocks = Vec::new();
        for table in self.inputs {
            let entries = table
                .index_entries()
                .map_err(|error| E::from(Error::Table(error)))?;
            for entry in entries {
                blocks.push((entry.last_key.user_key, entry.handle.len_bytes));
            }
        }
        Ok(slice_boundaries(order, blocks, slice_count))
    }

    /// Writes the part of the merge within `bounds`.
    fn run_slice(
        &self,
        fs: &dyn Fs,
        tables: &TableTarget<'_>,
        blobs: Option<(&BlobTarget<'_, E>, &Path)>,
        bounds: &(Bound<UserKey>, Bound<UserKey>),
    ) -> Result<Outputs, E> {
        let sources: Vec<_> = self
            .inputs
            .iter()
            .map(|table| {
                table
                    .range(bounds.clone(), SeqNo::MAX)
                    .map(|entry| entry.map_err(|error| E::from(Error::Table(error))))
            })
            .collect();
        let tombstones: Vec<_> = self
            .inputs
            .iter()
            .flat_map(|table| table.range_tombstones().iter().cloned())
            .collect();
        let mut filter = self.filter.map(|make| make());
        let order = &tables.options.order;
        let mut stream = merge_sources(order, sources, self.watermark, self.bottom)
            .with_range_tombstones(order, tombstones.clone());
        let tombstones = surviving_tombstones(order, tombstones, self.watermark, self.bottom);
        if let Some(merge) = &self.merge {
            stream = stream.with_merge(merge.clone());
        }
        if let Some(resolve) = &self.resolve {
            stream = stream.with_resolver(resolve.clone());
        }
        if let Some(filter) = filter.as_mut() {
            stream = stream.with_filter(filter.as_mut());
        }
        let throttled = stream.map(|entry| {
            let entry = entry?;
            (self.throttle)(&entry)?;
            Ok(entry)
        });
        let outputs = write_outputs(fs, tables, blobs, throttled, tombstones)?;
        if let Some(filter) = filter {
            filter.finish();
        }
        Ok(outputs)
    }
}

/// Whether a merge of `input` in `version` reaches the bottom for its keys: no table
/// outside the merge, at or below its destination, overlaps the inputs' key range (so
/// tombstones may go).
#[must_use]
pub fn merge_bottom(version: &Version, input: &Input) -> Bottom {
    let dest = usize::from(input.dest_level);
    let range = version
        .tables()
        .filter(|meta| input.table_ids.contains(&meta.id))
        .map(|meta| meta.key_range.clone())
        .reduce(|a, b| a.union(version.order(), &b));
    let Some(range) = range else {
        return Bottom::No;
    };
    let overlapped = version
        .levels()
        .get(dest..)
        .unwrap_or_default()
        .iter()
        .flat_map(|level| level.runs())
        .flat_map(|run| run.tables())
        .any(|meta| {
            !input.table_ids.contains(&meta.id)
                && meta.key_range.overlaps_with(version.order(), &range)
        });
    if overlapped { Bottom::No } else { Bottom::Yes }
}

/// The key ranges between consecutive boundaries (one unbounded range without any).
fn slice_bounds(boundaries: Vec<UserKey>) -> Vec<(Bound<UserKey>, Bound<UserKey>)> {
    let mut slices = Vec::with_capacity(boundaries.len() + 1);
    let mut start = Bound::Unbounded;
    for boundary in boundaries {
        slices.push((start, Bound::Excluded(boundary.clone())));
        start = Bound::Included(boundary);
    }
    slices.push((start, Bound::Unbounded));
    slices
}
