//! `lsm-testkit`: support for tests and benchmarks (never a dependency of an engine crate).
//!
//! - [`data`]: the real records under `shared/data/` (Debian's package index), for every
//!   compression figure and realistic load.
//! - [`rng`]: a small seeded generator; every randomised test prints its seed and reruns
//!   from `LSM_SEED`.

#![forbid(unsafe_code)]

pub mod data;
pub mod rng;
