//! `lsm-compaction`: deciding and doing compaction (layer 4).
//!
//! The planner is pure: a [`CompactionStrategy`] looks at a version (and a little
//! [`CompactionState`]) and returns a [`Choice`] (do nothing, move tables down, merge
//! them, or drop them); it does no I/O and cannot fail. [`validate`] checks a choice
//! against the version before anything acts on it. Built in: [`Leveled`],
//! [`SizeTiered`], [`Fifo`] and [`Major`].
//!
//! The jobs do the I/O of a flush ([`FlushJob`]) or a merge ([`MergeJob`]), without
//! touching a tree: [`merge_sources`] merges the sources'
//! entries through the [`CompactionStream`] (MVCC garbage collection below the caller's
//! watermark, tombstones dropped at the bottom, weak tombstones annihilated with their
//! value, seqnos zeroed at the bottom), and [`write_outputs`] writes tables and, through
//! a [`BlobSink`], blob files (separating large values, relocating those of the blob
//! files [`relocation_set`] picks), synced and ready for a version edit;
//! [`open_tables`] opens and describes them. Scheduling the jobs and installing the edit
//! are the caller's.
//!
//! ```
//! use lsm_compaction::{Choice, CompactionState, CompactionStrategy, Leveled};
//! use lsm_version::Version;
//!
//! // An empty tree needs nothing.
//! let choice = Leveled::default().choose(&Version::new(7), &CompactionState::default());
//! assert_eq!(choice, Choice::DoNothing);
//! ```

#![forbid(unsafe_code)]

mod blob_gc;
mod blob_sink;
mod choice;
mod error;
mod fifo;
mod flush_job;
mod job;
mod leveled;
mod levels;
mod major;
mod merge_job;
mod rotation;
mod slices;
mod strategy;
pub mod stream;
mod tiered;
mod validate;
mod worker;

pub use blob_gc::{BlobGcPolicy, blob_gc_choice, relocation_set};
pub use blob_sink::{BlobSink, BlobTarget, SinkOutput, handle_of, refs_per_table};
pub use choice::{Choice, CompactionState, Input};
pub use error::{Error, Result};
pub use fifo::{FIFO_COMPACTION_NAME, FIFO_L0_RUN_LIMIT, Fifo};
pub use flush_job::FlushJob;
pub use job::{Outputs, TableTarget, open_tables, write_outputs};
pub use leveled::{LEVELED_COMPACTION_NAME, Leveled, Levelled};
pub use major::{MAJOR_COMPACTION_NAME, Major};
pub use merge_job::{MergeJob, RunSlices, SliceFilter, SliceTask, merge_bottom};
pub use rotation::rotation_choice;
pub use slices::slice_boundaries;
pub use strategy::CompactionStrategy;
pub use stream::{
    Bottom, CompactionStream, DropCounts, FilterDecision, ItemFilter, surviving_tombstones,
};
pub use tiered::{SizeTiered, TIERED_COMPACTION_NAME};
pub use validate::{Refusal, validate};
pub use worker::{merge_sources, write_tables};
