//! readwhilewriting: one thread overwrites random keys as fast as the engine admits
//! while this one makes `--reads` timed point reads; the figures are the reads'.

use std::sync::atomic::{AtomicBool, Ordering};

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::Engine;
use crate::progress::Progress;

/// Runs the workload.
///
/// # Errors
/// The engine's first error (of either thread), or a read that finds no value.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    let num = ctx.flags.num;
    let reads = ctx.flags.reads();
    let (keys, values, value_bytes) = (ctx.keys, ctx.values, ctx.flags.value_bytes);
    let mut read_rng = Rng::new(ctx.rng.next_u64());
    let mut write_rng = Rng::new(ctx.rng.next_u64());
    let stop = AtomicBool::new(false);
    let mut progress = Progress::new(ctx.label("readwhilewriting"), reads);
    let mut meter = Meter::start(engine);
    let (read_result, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> Result<u64, String> {
            let mut key = Vec::with_capacity(keys.key_bytes());
            let mut cursor = values.cursor(&mut write_rng, value_bytes);
            let mut written = 0;
            while !stop.load(Ordering::Acquire) {
                keys.key_into(write_rng.below(num), &mut key);
                engine.put(&key, values.value(&mut cursor))?;
                written += 1;
            }
            Ok(written)
        });
        let mut key = Vec::with_capacity(keys.key_bytes());
        let mut user_bytes = 0;
        let mut read = || -> Result<u64, String> {
            for _ in 0..reads {
                keys.key_into(read_rng.below(num), &mut key);
                let value_len = meter.time(|| engine.get(&key))?.ok_or_else(|| {
                    format!(
                        "readwhilewriting: key {} missing",
                        String::from_utf8_lossy(&key)
                    )
                })?;
                user_bytes += (key.len() + value_len) as u64;
                progress.tick();
            }
            Ok(user_bytes)
        };
        let result = read();
        stop.store(true, Ordering::Release);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err("the writer thread panicked".to_owned()));
        (result, written)
    });
    let elapsed = meter.elapsed();
    progress.finish();
    let user_bytes = read_result?;
    written?;
    Ok(meter.finish(ctx, engine, "readwhilewriting", reads, user_bytes, elapsed))
}
