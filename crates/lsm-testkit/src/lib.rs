//! `lsm-testkit`: support for tests and benchmarks (never a dependency of an engine crate).
//!
//! - [`data`]: the real records under `shared/data/` (Debian's package index), for every
//!   compression figure and realistic load.
//! - [`damage`]: damaged copies of encoded bytes for corruption sweeps.
//! - [`rng`]: a small seeded generator; every randomised test prints its seed and reruns
//!   from `LSM_SEED`.
//! - [`fuzz`]: replays a fuzz corpus and seeded mutations of it under `cargo test`.
//! - [`fixtures`]: golden files that tests compare against.
//! - [`model`]: helpers the model-based tests share.
//! - [`ops`]: seeded operation generators for model and crash tests of a tree.
//! - [`orders`]: the custom key orders tests run under.
//! - [`oracle`]: the ordered-map MVCC reference a tree is checked against.
//! - [`reliability`]: the figures each harness of the reliability program records.
//! - [`sim_fs`]: a file system that remembers what is durable and crashes under the
//!   models of the reliability spec, for crash-point enumeration and fault injection.

#![forbid(unsafe_code)]

pub mod damage;
pub mod data;
pub mod fixtures;
pub mod fuzz;
pub mod model;
pub mod ops;
pub mod oracle;
pub mod orders;
pub mod reliability;
pub mod rng;
pub mod sim_fs;

/// How much larger the big sweeps of the tests run: `LSM_TEST_SCALE` (`cargo xtask ci
/// --scale N`), 1 when unset or not a whole number from 1.
#[must_use]
pub fn test_scale() -> u64 {
    std::env::var("LSM_TEST_SCALE")
        .ok()
        .and_then(|value| value.parse::<u64>().ok())
        .filter(|&scale| scale >= 1)
        .unwrap_or(1)
}
