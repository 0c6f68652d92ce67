//! `lsm-memtable`: the memtable (layer 1).
//!
//! A [`Memtable`] holds the newest writes of a tree in memory, ordered by internal key
//! (user key ascending in the tree's [`lsm_core::KeyOrder`], seqno descending), in a
//! lock-free skiplist: writers insert
//! concurrently and readers never wait. Reads are MVCC reads at a seqno: a point lookup
//! returns the newest version below it, and a [`MemtableIter`] scans a key range from
//! both ends. The iterator owns an `Arc` of the memtable, so it lives as long as the
//! caller needs (the tree's iterators are `'static`).
//!
//! ```
//! use std::sync::Arc;
//! use lsm_core::{InternalEntry, KeyOrder, ValueType};
//! use lsm_memtable::Memtable;
//!
//! let memtable = Arc::new(Memtable::new(1));
//! memtable.insert(InternalEntry::new("a", "old", 1, ValueType::Value));
//! memtable.insert(InternalEntry::new("a", "new", 5, ValueType::Value));
//! assert_eq!(memtable.get(b"a", 5).unwrap().value, "old");
//! assert_eq!(memtable.get(b"a", 6).unwrap().value, "new");
//! let keys: Vec<_> = memtable.range::<&[u8], _>(.., 6).map(|entry| entry.key.seqno).collect();
//! assert_eq!(keys, [5, 1]);
//! ```
//!
//! The memtable is one part of a tree's in-memory state: sealing memtables, reading
//! the active and sealed ones together and retiring flushed ones belong to the tree.

#![forbid(unsafe_code)]

mod items;
mod iter;
mod memtable;

pub use iter::MemtableIter;
pub use memtable::{DigestMismatch, ENTRY_OVERHEAD_BYTES, Memtable};
