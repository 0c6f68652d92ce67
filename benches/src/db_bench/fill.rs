//! The write loop of every fill: keys by index, values cut from the real records, a
//! progress bar; timed to the last acknowledged write, then settled for write
//! amplification.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::Engine;
use crate::progress::Progress;

/// Writes key `idx` for every index of `indexes` (`count` of them) with values of
/// `value_bytes` bytes.
///
/// # Errors
/// The engine's first write or settle error.
pub fn fill(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    workload: &str,
    indexes: impl IntoIterator<Item = u64>,
    count: u64,
    value_bytes: usize,
) -> Result<Sample, String> {
    let values = ctx.values;
    let mut cursor = values.cursor(&mut Rng::new(ctx.rng.next_u64()), value_bytes);
    let mut progress = Progress::new(ctx.label(workload), count);
    let meter = Meter::start(engine);
    let mut key = Vec::with_capacity(ctx.keys.key_bytes());
    for idx in indexes {
        ctx.keys.key_into(idx, &mut key);
        engine.put(&key, values.value(&mut cursor))?;
        progress.tick();
    }
    let elapsed = meter.elapsed();
    progress.finish();
    engine.settle()?;
    let user_bytes = count * (ctx.keys.key_bytes() + value_bytes) as u64;
    let write_amp = meter.write_amp(user_bytes);
    let mut sample = meter.finish(ctx, engine, workload, count, user_bytes, elapsed);
    sample.write_amp = write_amp;
    Ok(sample)
}
