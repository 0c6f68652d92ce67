//! The primitives of the synchronisation cores that loom checks (the compaction jobs'
//! claims and waits, the write pacing's debt): the standard library's, or loom's in a
//! `--cfg loom` build, so that the models run the production types themselves
//! (`docs/reliability.md`, goal G9).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
