//! overwrite: `--num` writes of keys drawn at random (with repeats) from the filled
//! database, so every write replaces a live value.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::fill::fill;
use super::sample::Sample;
use crate::engine::Engine;

/// Runs the workload.
///
/// # Errors
/// The engine's first error.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    let num = ctx.flags.num;
    let value_bytes = ctx.flags.value_bytes;
    let mut rng = Rng::new(ctx.rng.next_u64());
    let indexes = (0..num).map(move |_| rng.below(num));
    fill(ctx, engine, "overwrite", indexes, num, value_bytes)
}
