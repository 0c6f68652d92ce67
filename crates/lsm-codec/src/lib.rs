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
//!
//! ```
//! use lsm_codec::{envelope, BlockContext, BlockType, Compression, DataBlock, DataBlockBuilder};
//! use lsm_codec::{DecodeOptions, EncodeOptions, EncryptionKey, FileCipher};
//! use lsm_core::{KeyOrder, Slice, ValueType};
//!
//! // Build a block of sorted entries.
//! let mut builder = DataBlockBuilder::new(16);
//! builder.add(b"apple", 2, ValueType::Value, b"red");
//! builder.add(b"banana", 1, ValueType::Value, b"yellow");
//! let payload = builder.finish();
//!
//! // Wrap it for disk: zstd, encrypted under a per-file key, bound to its place.
//! let cipher = FileCipher::new(&EncryptionKey::new([7; 32]), &[1; 16]);
//! let context = BlockContext { file_id: 12, block_offset: 0 };
//! let compression = Compression::zstd(3);
//! let options = EncodeOptions { compression: &compression, cipher: Some(&cipher) };
//! let on_disk = envelope::encode(&payload, BlockType::Data, options, context)?;
//!
//! // Read it back and look a key up.
//! let options = DecodeOptions { dictionary: None, cipher: Some(&cipher) };
//! let payload = envelope::decode(&Slice::from(on_disk), BlockType::Data, options, context)?;
//! let block = DataBlock::new(payload)?;
//! let order = KeyOrder::lexicographic();
//! let entry = block.get(&order, b"banana", u64::MAX)?.expect("banana is in the block");
//! assert_eq!(entry.value, "yellow");
//! # Ok::<(), lsm_codec::Error>(())
//! ```

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
pub use compression::{Compression, DictionaryTraining, ZstdDictionary, train_dictionary};
pub use data_block::DataBlock;
pub use data_block_builder::DataBlockBuilder;
pub use encryption::{
    EncryptionKey, FILE_SALT_LEN, FileCipher, SEALED_NONCE_LEN, SEALED_OVERHEAD, SaltSource,
    open_sealed, seal,
};
pub use envelope::{BlockContext, BlockHeader, BlockType, DecodeOptions, EncodeOptions};
pub use error::{CorruptionKind, Error, Result};
pub use index_block::{BlockHandle, IndexBlock, IndexBlockBuilder, IndexEntry};
pub use layout::AAD_LEN;
