//! fillseq: `--num` keys written in key order into an empty database.

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
    fill(ctx, engine, "fillseq", 0..num, num, value_bytes)
}
