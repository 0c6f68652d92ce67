//! bulkload: the keys and values of `fillseq` (`--num` keys in key order) through the
//! engine's bulk path into an empty database, timed until the load is registered; then
//! every thousandth key read back and checked.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::Engine;
use crate::progress::Progress;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or a loaded key that does not read back.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    let num = ctx.flags.num;
    let value_bytes = ctx.flags.value_bytes;
    let values = ctx.values;
    let mut cursor = values.cursor(&mut Rng::new(ctx.rng.next_u64()), value_bytes);
    let mut progress = Progress::new(ctx.label("bulkload"), num);
    let meter = Meter::start(engine);
    let keys = ctx.keys;
    let mut key = Vec::with_capacity(keys.key_bytes());
    engine.bulk_load(&mut |sink| {
        for idx in 0..num {
            keys.key_into(idx, &mut key);
            sink(&key, values.value(&mut cursor))?;
            progress.tick();
        }
        Ok(())
    })?;
    let elapsed = meter.elapsed();
    progress.finish();
    engine.settle()?;
    for idx in (0..num).step_by(1_000) {
        keys.key_into(idx, &mut key);
        if engine.get(&key)? != Some(value_bytes) {
            return Err(format!("bulkload: key {idx} does not read back"));
        }
    }
    let user_bytes = num * (keys.key_bytes() + value_bytes) as u64;
    let write_amp = meter.write_amp(user_bytes);
    let mut sample = meter.finish(ctx, engine, "bulkload", num, user_bytes, elapsed);
    sample.write_amp = write_amp;
    Ok(sample)
}
