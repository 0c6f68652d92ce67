//! seekrandom: `--reads / 10` seeks to random keys, each followed by 10 entries (db_bench's
//! `seek_nexts`), timed one by one.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::Engine;
use crate::progress::Progress;

/// Entries read after each seek.
const NEXTS: usize = 10;

/// Runs the workload.
///
/// # Errors
/// The engine's first error, or a seek that reads fewer entries than the keys after it.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    run_with(ctx, engine, "seekrandom")
}

/// Runs the workload under the name `workload`.
///
/// # Errors
/// As [`run`].
pub fn run_with(ctx: &mut Ctx<'_>, engine: &dyn Engine, workload: &str) -> Result<Sample, String> {
    let num = ctx.flags.num;
    let seeks = (ctx.flags.reads() / 10).max(1);
    let mut rng = Rng::new(ctx.rng.next_u64());
    let probes: Vec<u64> = (0..seeks).map(|_| rng.below(num)).collect();
    let mut progress = Progress::new(ctx.label(workload), seeks);
    let mut meter = Meter::start(engine);
    let mut key = Vec::with_capacity(ctx.keys.key_bytes());
    let mut entries = 0;
    for &idx in &probes {
        ctx.keys.key_into(idx, &mut key);
        let read = meter.time(|| engine.seek(&key, NEXTS))?;
        let expected = usize::try_from(num - idx).unwrap_or(usize::MAX).min(NEXTS);
        if read != expected {
            return Err(format!(
                "{workload}: {read} entries after key {idx}, not {expected}"
            ));
        }
        entries += read as u64;
        progress.tick();
    }
    let elapsed = meter.elapsed();
    progress.finish();
    let entry_bytes = (ctx.keys.key_bytes() + ctx.flags.value_bytes) as u64;
    Ok(meter.finish(ctx, engine, workload, seeks, entries * entry_bytes, elapsed))
}
