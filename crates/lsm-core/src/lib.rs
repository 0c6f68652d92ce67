//! `lsm-core`: the shared vocabulary of the engine (layer 0).
//!
//! Every other crate of the workspace speaks in these terms: user keys and values as
//! [`Slice`]s, sequence numbers ([`SeqNo`]), [`ValueType`]s, [`InternalKey`]s and their
//! order, key ranges and ids, the size [`limits`], little-endian and varint [`coding`],
//! [`checksum`]s, the [`Fs`] seam that all engine I/O goes through, and the k-way
//! [`merge`] and [`mvcc`] streams shared by the read path and compaction.
//!
//! This crate depends on no other crate of the workspace.
//!
//! ```
//! use lsm_core::merge::MergeIter;
//! use lsm_core::mvcc::MvccStream;
//! use lsm_core::{InternalEntry, KeyOrder, ValueType};
//!
//! // Two sorted sources, newest first: a memtable and an older table.
//! let memtable = vec![
//!     InternalEntry::new("a", "a@7", 7, ValueType::Value),
//!     InternalEntry::tombstone("b", 6),
//! ];
//! let table = vec![
//!     InternalEntry::new("a", "a@2", 2, ValueType::Value),
//!     InternalEntry::new("b", "b@3", 3, ValueType::Value),
//! ];
//! let sources = [memtable, table].map(|entries| entries.into_iter().map(Ok::<_, ()>));
//!
//! // Reading at seqno 5 sees "a@2" and "b@3"; at 10, "a@7" and no "b".
//! let at = |read_seqno| -> Vec<_> {
//!     MvccStream::new(MergeIter::new(KeyOrder::lexicographic(), sources.clone()), read_seqno)
//!         .map(|entry| entry.unwrap().value)
//!         .collect()
//! };
//! assert_eq!(at(5), ["a@2", "b@3"]);
//! assert_eq!(at(10), ["a@7"]);
//! ```

#![forbid(unsafe_code)]

pub mod checksum;
pub mod coding;
mod error;
pub mod fs;
mod ids;
mod internal_key;
mod key_range;
pub mod limits;
pub mod merge;
pub mod mvcc;
pub mod order;
pub mod range_tombstone;
pub mod read_counters;
mod seqno;
mod slice;
mod value_type;

pub use checksum::Checksum;
pub use error::{DecodeError, Error, Result};
pub use fs::{
    DescriptorCache, DirEntry, Fs, FsFile, FsLock, MemFs, Metadata, OpenOptions, ReadFile, StdFs,
    SyncMode,
};
pub use ids::{BlobFileId, FileId, MemtableId, TableId};
pub use internal_key::{InternalEntry, InternalKey};
pub use key_range::KeyRange;
pub use order::{DefaultUserComparator, KeyOrder, SharedComparator, UserComparator};
pub use range_tombstone::RangeTombstone;
pub use read_counters::{BlockKind, KindCounts, ReadCounters, ReadCounts};
pub use seqno::{
    MAX_SEQNO, SeqNo, SequenceNumberCounter, SequenceNumberGenerator, SharedSequenceNumberGenerator,
};
pub use slice::{Slice, UserKey, UserValue};
pub use value_type::ValueType;
