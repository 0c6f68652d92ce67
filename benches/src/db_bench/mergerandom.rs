//! mergerandom: `--num` counter increments (8-byte little-endian operands folded by the
//! summing merge operator) on 10,000 counters chosen at random, into an empty
//! database; then settled and every counter read back folded, their sum checked.
//! Engines without merge operators skip it.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::{Capability, Engine};
use crate::progress::Progress;

/// Counters the increments spread over.
const COUNTERS: u64 = 10_000;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or counters that do not add up.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    if !engine.supports(Capability::Merge) {
        return Ok(Sample::skipped(ctx, "mergerandom", "no merge operators"));
    }
    let merges = ctx.flags.num;
    let counters = COUNTERS.min(merges);
    let mut rng = Rng::new(ctx.rng.next_u64());
    let mut progress = Progress::new(ctx.label("mergerandom"), merges);
    let meter = Meter::start(engine);
    let mut key = Vec::with_capacity(ctx.keys.key_bytes());
    let one = 1_u64.to_le_bytes();
    for _ in 0..merges {
        ctx.keys.key_into(rng.below(counters), &mut key);
        engine.merge(&key, &one)?;
        progress.tick();
    }
    let elapsed = meter.elapsed();
    progress.finish();
    engine.settle()?;
    let user_bytes = merges * (ctx.keys.key_bytes() + one.len()) as u64;
    let write_amp = meter.write_amp(user_bytes);
    let mut total = 0_u64;
    for idx in 0..counters {
        ctx.keys.key_into(idx, &mut key);
        if let Some(value) = engine.get_value(&key)? {
            let bytes: [u8; 8] = value
                .as_slice()
                .try_into()
                .map_err(|_| format!("mergerandom: counter {idx} holds {} bytes", value.len()))?;
            total += u64::from_le_bytes(bytes);
        }
    }
    if total != merges {
        return Err(format!(
            "mergerandom: counters sum to {total}, not {merges}"
        ));
    }
    let mut sample = meter.finish(ctx, engine, "mergerandom", merges, user_bytes, elapsed);
    sample.write_amp = write_amp;
    Ok(sample)
}
