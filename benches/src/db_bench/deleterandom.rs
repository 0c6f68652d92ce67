//! deleterandom: `--reads` distinct keys, chosen at random, deleted one by one; then
//! settled, and a sample of them read back as absent.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::Engine;
use crate::keys::permutation;
use crate::progress::Progress;

/// Deleted keys read back afterwards.
const CHECKS: usize = 1_000;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or a deleted key that still reads.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    let num = ctx.flags.num;
    let deletes = ctx.flags.reads().min(num);
    let mut rng = Rng::new(ctx.rng.next_u64());
    let mut victims = permutation(num, &mut rng);
    victims.truncate(usize::try_from(deletes).unwrap_or(usize::MAX));
    let mut progress = Progress::new(ctx.label("deleterandom"), deletes);
    let meter = Meter::start(engine);
    let mut key = Vec::with_capacity(ctx.keys.key_bytes());
    for &idx in &victims {
        ctx.keys.key_into(idx, &mut key);
        engine.delete(&key)?;
        progress.tick();
    }
    let elapsed = meter.elapsed();
    progress.finish();
    engine.settle()?;
    let user_bytes = deletes * ctx.keys.key_bytes() as u64;
    let write_amp = meter.write_amp(user_bytes);
    for &idx in victims.iter().take(CHECKS) {
        ctx.keys.key_into(idx, &mut key);
        if let Some(len) = engine.get(&key)? {
            return Err(format!("deleterandom: deleted key {idx} reads {len} bytes"));
        }
    }
    let mut sample = meter.finish(ctx, engine, "deleterandom", deletes, user_bytes, elapsed);
    sample.write_amp = write_amp;
    Ok(sample)
}
