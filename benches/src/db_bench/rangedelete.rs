//! rangedelete: `--reads / 100` range tombstones, each deleting 10 consecutive keys at a
//! random place; then settled and every range's middle key read back as absent.
//! Engines without range tombstones skip it.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::{Capability, Engine};
use crate::progress::Progress;

/// Keys each range tombstone covers.
const RANGE_KEYS: u64 = 10;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or a deleted key that still reads.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    if !engine.supports(Capability::RangeDelete) {
        return Ok(Sample::skipped(ctx, "rangedelete", "no range tombstones"));
    }
    let num = ctx.flags.num;
    let ranges = (ctx.flags.reads() / 100).max(1);
    let mut rng = Rng::new(ctx.rng.next_u64());
    let starts: Vec<u64> = (0..ranges)
        .map(|_| rng.below(num.saturating_sub(RANGE_KEYS).max(1)))
        .collect();
    let mut progress = Progress::new(ctx.label("rangedelete"), ranges);
    let meter = Meter::start(engine);
    let (mut start, mut end) = (Vec::new(), Vec::new());
    for &idx in &starts {
        ctx.keys.key_into(idx, &mut start);
        ctx.keys.key_into(idx + RANGE_KEYS, &mut end);
        engine.delete_range(&start, &end)?;
        progress.tick();
    }
    let elapsed = meter.elapsed();
    progress.finish();
    engine.settle()?;
    // No write amplification: over a few bytes of bounds it says nothing.
    let user_bytes = ranges * 2 * ctx.keys.key_bytes() as u64;
    for &idx in &starts {
        ctx.keys.key_into(idx + RANGE_KEYS / 2, &mut start);
        if engine.get(&start)?.is_some() {
            return Err(format!(
                "rangedelete: key {} survived its range tombstone",
                idx + RANGE_KEYS / 2
            ));
        }
    }
    Ok(meter.finish(ctx, engine, "rangedelete", ranges, user_bytes, elapsed))
}
