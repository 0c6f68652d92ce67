//! `lsm-burr`: BuRR filters, static approximate-membership filters that spend within a
//! fraction of a percent of the information-theoretic minimum of space.
//!
//! A filter is built once from the 64-bit hashes of a set of keys. Afterwards it answers
//! "maybe in the set" for every key that was in it (never a false negative) and for a
//! fraction epsilon of other keys (the false-positive rate), using about `log2(1/epsilon)` bits per
//! key: 7.02 bits per key at epsilon = 2^-7, where a Bloom filter needs 44% more and a binary
//! fuse filter 13% more. The method is Bumped Ribbon Retrieval (Dillinger,
//! Huebschle-Schneider, Sanders, Walzer, SEA 2022); `docs/format/filter-burr.md` in the
//! repository describes this implementation and its byte format.
//!
//! ```
//! use lsm_burr::{BurrFilter, FilterPolicy, FilterRef};
//!
//! let keys: Vec<String> = (0..1000).map(|i| format!("key-{i}")).collect();
//! let hashes: Vec<u64> = keys.iter().map(|key| lsm_burr::hash(key.as_bytes())).collect();
//! let filter = BurrFilter::build(&hashes, &FilterPolicy::fpr(0.01)?)?;
//! assert!(keys.iter().all(|key| filter.contains(key.as_bytes())));
//!
//! // Store the bytes anywhere; query them in place later.
//! let bytes = filter.encode();
//! let view = FilterRef::decode(&bytes)?;
//! assert!(view.contains(b"key-7"));
//! # Ok::<(), lsm_burr::Error>(())
//! ```
//!
//! The same construction with stored values instead of fingerprints is a retrieval
//! structure ([`Retrieval`]): a static map from the keys of a set to values of a few
//! bits, which answers an arbitrary value for any other key.
//!
//! This crate depends on no other crate of the engine's workspace.

#![forbid(unsafe_code)]

mod build;
mod coeff;
mod error;
mod filter;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
mod hashing;
mod layout;
mod policy;
mod retrieval;

pub use error::{Error, Result};
pub use filter::{BurrFilter, FilterRef, FilterStats};
pub use hashing::hash;
pub use policy::{FilterPolicy, RibbonWidth};
pub use retrieval::{Retrieval, RetrievalPolicy};

/// The README's examples, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
