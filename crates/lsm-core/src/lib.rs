//! `lsm-core`: the shared vocabulary of the engine (layer 0).
//!
//! Every other crate of the workspace speaks in these terms: user keys and values as
//! [`Slice`]s, sequence numbers ([`SeqNo`]), [`ValueType`]s, [`InternalKey`]s and their
//! order, key ranges and ids, the size [`limits`], little-endian and varint [`coding`],
//! [`checksum`]s, the [`Fs`] seam that all engine I/O goes through, and the k-way
//! [`merge`] and [`mvcc`] streams shared by the read path and compaction.
//!
//! This crate depends on no other crate of the workspace.

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
mod seqno;
mod slice;
mod value_type;

pub use checksum::Checksum;
pub use error::{DecodeError, Error, Result};
pub use fs::{DirEntry, Fs, FsFile, FsLock, MemFs, Metadata, OpenOptions, StdFs};
pub use ids::{BlobFileId, FileId, MemtableId, TableId};
pub use internal_key::{InternalEntry, InternalKey};
pub use key_range::KeyRange;
pub use seqno::{MAX_SEQNO, SeqNo, SequenceNumberCounter};
pub use slice::{Slice, UserKey, UserValue};
pub use value_type::ValueType;
