//! readmissing: `--reads` point reads of keys that are not there but fall between keys
//! that are, so that only the filters can answer without reading a block. Also reports
//! the filters' bits per key and, where the engine counts it, their false-positive rate.

use super::Ctx;
use super::readrandom::{Expect, point_reads};
use super::sample::Sample;
use crate::engine::Engine;
use crate::keys::KeySpace;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or a read that finds a value.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    run_with(ctx, engine, "readmissing")
}

/// Runs the workload under the name `workload`.
///
/// # Errors
/// As [`run`].
pub fn run_with(ctx: &mut Ctx<'_>, engine: &dyn Engine, workload: &str) -> Result<Sample, String> {
    let num = ctx.flags.num;
    let mut sample = point_reads(
        ctx,
        engine,
        workload,
        num,
        KeySpace::missing_key_into,
        Expect::Missing,
    )?;
    sample.filter_bits_per_key = engine
        .filter_bytes()
        .map(|bytes| bytes as f64 * 8.0 / num as f64);
    Ok(sample)
}
