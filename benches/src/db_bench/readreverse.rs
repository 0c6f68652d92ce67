//! readreverse: one scan over the whole database from its last key to its first.

use super::Ctx;
use super::readseq::scan;
use super::sample::Sample;
use crate::engine::Engine;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or a scan that does not see every key.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    scan(ctx, engine, "readreverse", true)
}
