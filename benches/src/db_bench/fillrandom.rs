//! fillrandom: every key once, in a random order, into an empty database (`fillrandom`
//! with `--value-size` values, `fillrandom-4k` with 4 KiB values).

use super::Ctx;
use super::fill::fill;
use super::sample::Sample;
use crate::engine::Engine;
use crate::keys::permutation;

/// Writes `count` keys in random order with values of `value_bytes` bytes.
///
/// # Errors
/// The engine's first error.
pub fn run_with(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    workload: &str,
    count: u64,
    value_bytes: usize,
) -> Result<Sample, String> {
    let order = permutation(count, &mut ctx.rng);
    fill(ctx, engine, workload, order, count, value_bytes)
}
