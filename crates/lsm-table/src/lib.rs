//! `lsm-table`: SST tables (layer 2).
//!
//! A table is an immutable file of internal entries in internal-key order, written once by
//! a [`TableWriter`] and read by a [`Table`]: point lookups of the newest version of a key
//! visible at a read seqno (filter first, then index, then one data block), and
//! double-ended range scans that read blocks lazily. Blocks use the `lsm-codec` envelope
//! (checksums bound to file and offset, zstd with an optional dictionary stored in the
//! table, AES-256-GCM); filters are `lsm-burr` filters over user keys and, optionally,
//! their prefixes. The byte layout is `docs/format/table.md`.
//!
//! ```
//! use std::sync::Arc;
//! use lsm_core::{InternalEntry, MemFs, ValueType};
//! use lsm_table::{Table, TableOptions, TableWriter};
//!
//! let fs = Arc::new(MemFs::new());
//! let mut writer = TableWriter::create(fs.as_ref(), "/t1".as_ref(), 1, TableOptions::default())?;
//! writer.add(&InternalEntry::new("apple", "red", 3, ValueType::Value))?;
//! writer.add(&InternalEntry::new("banana", "yellow", 2, ValueType::Value))?;
//! let properties = writer.finish()?;
//! assert_eq!(properties.entry_count, 2);
//!
//! let table = Table::open(fs.as_ref(), "/t1".as_ref(), 1, &Default::default())?;
//! let entry = table.get(b"banana", u64::MAX)?.expect("banana is in the table");
//! assert_eq!(entry.value, "yellow");
//! let keys: Vec<_> = table.iter(u64::MAX).map(|entry| entry.map(|entry| entry.key.user_key)).collect::<Result<_, _>>()?;
//! assert_eq!(keys, ["apple", "banana"]);
//! # Ok::<(), lsm_table::Error>(())
//! ```

#![forbid(unsafe_code)]

mod block_cache;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
mod iter;
pub mod layout;
mod locator;
mod options;
mod pin_budget;
mod properties;
mod range_tombstones;
mod reader;
mod row_cache;
mod run;
mod seqno_bounds;
mod table_set_writer;
mod two_level;
mod writer;

pub use block_cache::{BlockCache, BlockCacheStats, BlockPriority};
pub use error::{Error, Result};
pub use iter::TableIter;
pub use locator::{LocatorOptions, LocatorPrecision};
pub use lsm_core::DescriptorCache;
pub use options::{DictionaryTraining, FixedPrefix, PrefixExtractor, ReadOptions, TableOptions};
pub use pin_budget::PinBudget;
pub use properties::TableProperties;
pub use reader::{BlockReport, FilterCounters, Table, VerifyReport};
pub use row_cache::RowCache;
pub use run::RunIter;
pub use table_set_writer::{NewTable, TableSetWriter, WrittenTable};
pub use writer::TableWriter;

/// The README's example, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
