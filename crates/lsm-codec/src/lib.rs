//! `lsm-codec`: the engine's block format (layer 1).
//!
//! A table, a blob file or a manifest is a sequence of blocks. This crate encodes and
//! decodes them:
//!
//! - [`DataBlockBuilder`] / [`DataBlock`]: sorted internal entries with prefix truncation
//!   against restart points, binary search over the restarts, an optional in-block hash
//!   index for point lookups, and a double-ended [`BlockIter`] with seeks.
//! - [`IndexBlockBuilder`] / [`IndexBlock`]: the same encoding with [`BlockHandle`]s as values.
//! - [`envelope`]: the header every on-disk block wears (type, compression, lengths,
//!   dictionary id, key check, and a checksum bound to the block's file and offset),
//!   with zstd [`Compression`] (optionally with a trained [`ZstdDictionary`]) and
//!   AES-256-GCM encryption ([`FileCipher`]).
//!
//! The byte layout is specified in `docs/format/block.md`; its constants live in [`layout`].

#![forbid(unsafe_code)]

mod block_iter;
mod compression;
mod data_block;
mod data_block_builder;
mod encryption;
pub mod envelope;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
mod hash_index;
mod index_block;
pub mod layout;

pub use block_iter::BlockIter;
pub use compression::{Compression, ZstdDictionary, train_dictionary};
pub use data_block::DataBlock;
pub use data_block_builder::DataBlockBuilder;
pub use encryption::{EncryptionKey, FILE_SALT_LEN, FileCipher};
pub use envelope::{BlockContext, BlockHeader, BlockType, DecodeOptions, EncodeOptions};
pub use error::{CorruptionKind, Error, Result};
pub use index_block::{BlockHandle, IndexBlock, IndexBlockBuilder, IndexEntry};
