//! `lsm-vlog`: blob files (layer 2).
//!
//! Large values are written once into append-only blob files and the tree stores a
//! [`BlobHandle`] in their place, so compactions stop rewriting them. Each value is one
//! frame in the `lsm-codec` block envelope (type Blob): checksummed and bound to its
//! file and offset, compressed on its own, and encrypted under the file's key when the
//! tree is encrypted. A frame holds the key and seqno too, so a reader can tell a
//! misdirected handle from the right value, and garbage collection can scan a file
//! without the index. The byte layout is `docs/format/blob-file.md`.
//!
//! ```
//! use lsm_core::MemFs;
//! use lsm_vlog::{BlobFileReader, BlobFileWriter, BlobReadOptions, BlobWriteOptions};
//!
//! let fs = MemFs::new();
//! let mut writer = BlobFileWriter::create(&fs, "/1.blob".as_ref(), 1, BlobWriteOptions::default())?;
//! let handle = writer.write(b"key", 7, &[42; 10_000])?;
//! writer.finish()?;
//!
//! let reader = BlobFileReader::open(&fs, "/1.blob".as_ref(), 1, &BlobReadOptions::default())?;
//! let blob = reader.get(&handle)?;
//! assert_eq!((blob.key.as_ref(), blob.seqno, blob.value.len()), (&b"key"[..], 7, 10_000));
//! # Ok::<(), lsm_vlog::Error>(())
//! ```

#![forbid(unsafe_code)]

mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
mod handle;
pub mod layout;
mod reader;
mod set_writer;
mod writer;

pub use error::{Error, Result};
pub use handle::BlobHandle;
pub use reader::{Blob, BlobFileReader, BlobReadOptions, BlobScanner, SCAN_WINDOW_BYTES};
pub use set_writer::{BlobSetWriter, NewBlobFile, WrittenBlobFile};
pub use writer::{BlobFileMeta, BlobFileWriter, BlobWriteOptions};
