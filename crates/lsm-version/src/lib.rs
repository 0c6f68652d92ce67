//! `lsm-version`: which tables make up a tree, and the manifest that makes it durable
//! (layer 3).
//!
//! A [`Version`] is an immutable set of tables arranged in levels of runs (a run is a
//! list of tables with disjoint key ranges). Every change is a [`VersionEdit`]: tables
//! added and removed, and the id and seqno counters. The [`Manifest`] appends each edit,
//! synced, then a commit record, synced, to a log that starts with a snapshot of the
//! whole version, rolls to a new snapshot when the log grows, and switches a `current`
//! pointer file atomically; on open it recovers the latest version (a torn last record,
//! which was never acknowledged, is dropped; damage before a commit is corruption).
//!
//! A version also records the blob files that hold separated values, with how much of
//! each is dead ([`BlobFileInfo`]); edits add and remove blob files and credit dead
//! values ([`BlobGarbage`]).
//!
//! Versions hold metadata only, never open files.

#![forbid(unsafe_code)]

mod blob_file;
mod edit;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod layout;
mod manifest;
pub mod rebuild;
mod table_meta;
mod version;

pub use blob_file::{BlobFileInfo, BlobGarbage};
pub use edit::VersionEdit;
pub use error::{Error, Result};
pub use manifest::{Manifest, ManifestEncryption, Recovered, RecoveryMode};
pub use table_meta::{BlobRef, TableMeta};
pub use version::{Level, Run, Version};
