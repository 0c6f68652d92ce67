//! `lsm-wal`: the write-ahead log (layer 2).
//!
//! A log of [`WalBatch`] records (changes to numbered keyspaces taking effect together
//! at one seqno) in segment files written through the [`lsm_core::Fs`] seam: each
//! record checksummed and bound to its segment, writers grouped into one append and
//! one sync ([`Durability`] per write), a failed sync never reported as success, torn
//! tails cut at recovery and other damage a typed error (or passed over when told to,
//! [`Recovery`]), old segments deleted once their records are persisted elsewhere. The
//! byte layout is `docs/format/wal.md`; the module docs of [`Wal`]'s file say how writes
//! and recovery go.
//!
//! ```
//! use std::sync::Arc;
//! use lsm_core::{Fs, MemFs};
//! use lsm_wal::{Durability, Wal, WalBatch, WalOp, WalOptions};
//!
//! let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
//! let (wal, _) = Wal::open(Arc::clone(&fs), "/log".as_ref(), WalOptions::default(), |_| Ok(()))?;
//! let batch = WalBatch::new(1)
//!     .with(0, WalOp::Insert { key: "a".into(), value: "1".into() })
//!     .with(1, WalOp::Remove { key: "b".into() });
//! wal.append(&batch, Durability::Sync)?;
//! drop(wal);
//!
//! let mut replayed = Vec::new();
//! let (_wal, report) = Wal::open(fs, "/log".as_ref(), WalOptions::default(), |batch| {
//!     replayed.push(batch);
//!     Ok(())
//! })?;
//! assert_eq!(replayed, [batch]);
//! assert_eq!(report.last_seqno, Some(1));
//! # Ok::<(), lsm_wal::Error>(())
//! ```
//!
//! With [`WalOptions::encryption`] every record is sealed with AES-256-GCM under a key
//! of its segment's own, derived from the master key and a salt the log draws once.
//! The owner decides when to release segments, when to sync in the background, and
//! what to flush to keep [`Wal::live_bytes`] under a cap (`lsm::Database` does all
//! three).

#![forbid(unsafe_code)]

mod batch;
mod error;
mod key;
pub mod layout;
mod log;
mod segment;

pub use batch::{WalBatch, WalEntry, WalOp};
pub use error::{Error, Result};
pub use log::{Durability, Recovery, RecoveryReport, Ticket, Wal, WalOptions};
