//! The operation-sequence fuzz targets (`tree_ops`, `db_ops`; bodies in
//! `support/fuzz_ops.rs`, shared with `fuzz/fuzz_targets/`) over their checked-in
//! corpora and seeded mutations of them.

#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "support/fuzz_ops.rs"]
mod fuzz_ops;

use lsm_testkit::rng::Rng;

/// Mutations per target: each input runs a whole workload, a crash and a recovery.
const MUTATIONS: usize = 2_000;

#[test]
fn tree_ops_corpus() {
    lsm_testkit::fuzz::replay("tree_ops", MUTATIONS, fuzz_ops::tree_ops);
}

#[test]
fn db_ops_corpus() {
    lsm_testkit::fuzz::replay("db_ops", MUTATIONS, fuzz_ops::db_ops);
}

/// Seeds of both corpora: crash countdowns from the first operation to past the end,
/// each model, operation bytes drawn from a seeded generator (never overwriting a
/// file): a generator that `cargo xtask fixtures` runs, not a check.
#[test]
#[ignore = "issue 25: corpus generator, run by cargo xtask fixtures"]
fn write_seed_corpus() {
    let mut rng = Rng::new(25);
    for (idx, countdown) in [0_u16, 3, 12, 40, 90, 200, 400, 900, 2_000, u16::MAX]
        .into_iter()
        .enumerate()
    {
        let mut bytes = countdown.to_le_bytes().to_vec();
        bytes.push(u8::try_from(idx).unwrap());
        bytes.extend((0..160).map(|_| u8::try_from(rng.below(256)).unwrap()));
        for target in ["tree_ops", "db_ops"] {
            lsm_testkit::fuzz::write_seed(target, &format!("seed-{idx:02}"), &bytes);
        }
    }
}
