//! readseq: one scan over the whole database in key order.

use super::Ctx;
use super::sample::Sample;
use crate::engine::Engine;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or a scan that does not see every key.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    scan(ctx, engine, "readseq", false)
}

/// Scans the whole database forward or (`reverse`) backward.
///
/// # Errors
/// The engine's first error, or a scan that does not see every key.
pub fn scan(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    workload: &str,
    reverse: bool,
) -> Result<Sample, String> {
    let progress = crate::progress::Progress::new(ctx.label(workload), 1);
    let meter = super::sample::Meter::start(engine);
    let (entries, bytes) = engine.scan(reverse)?;
    let elapsed = meter.elapsed();
    progress.finish();
    if entries != ctx.flags.num {
        return Err(format!(
            "{workload}: {entries} entries, not {}",
            ctx.flags.num
        ));
    }
    Ok(meter.finish(ctx, engine, workload, entries, bytes, elapsed))
}
