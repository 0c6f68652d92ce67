//! readrandom: `--reads` point reads of keys drawn at random from the database, each
//! timed for the latency percentiles; every one must find its value (`readrandom` over
//! the main database, `readrandom-4k` over the 4 KiB one). The point-read loop is shared
//! with readmissing.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::sample::{Meter, Sample};
use crate::engine::Engine;
use crate::keys::KeySpace;
use crate::progress::Progress;

/// Whether the keys read are present.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every read finds a value.
    Found,
    /// No read finds one.
    Missing,
}

/// Runs `readrandom` over the main database.
///
/// # Errors
/// The engine's first error, or a read that does not find its key.
pub fn run(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    let num = ctx.flags.num;
    run_with(ctx, engine, "readrandom", num)
}

/// Runs `readhot`: reads of keys drawn at random from a hot set of a hundredth of the
/// keys, spread over the key space (where caching answers by key pays).
///
/// # Errors
/// The engine's first error, or a read that does not find its key.
pub fn run_hot(ctx: &mut Ctx<'_>, engine: &dyn Engine) -> Result<Sample, String> {
    let hot = (ctx.flags.num / 100).max(1);
    point_reads(
        ctx,
        engine,
        "readhot",
        hot,
        |keys, idx, buf| keys.key_into(idx * 100, buf),
        Expect::Found,
    )
}

/// Reads keys below `key_count` at random.
///
/// # Errors
/// The engine's first error, or a read that does not find its key.
pub fn run_with(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    workload: &str,
    key_count: u64,
) -> Result<Sample, String> {
    point_reads(
        ctx,
        engine,
        workload,
        key_count,
        KeySpace::key_into,
        Expect::Found,
    )
}

/// `--reads` timed point reads of `key(idx)` for random `idx` below `key_count`.
///
/// # Errors
/// The engine's first error, or a read whose answer is not `expect`.
pub fn point_reads(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    workload: &str,
    key_count: u64,
    key: fn(&KeySpace, u64, &mut Vec<u8>),
    expect: Expect,
) -> Result<Sample, String> {
    let reads = ctx.flags.reads();
    let mut rng = Rng::new(ctx.rng.next_u64());
    let probes: Vec<u64> = (0..reads).map(|_| rng.below(key_count)).collect();
    let mut progress = Progress::new(ctx.label(workload), reads);
    let mut meter = Meter::start(engine);
    let mut buf = Vec::with_capacity(ctx.keys.key_bytes());
    let mut user_bytes = 0;
    for &idx in &probes {
        key(&ctx.keys, idx, &mut buf);
        let found = meter.time(|| engine.get(&buf))?;
        if found.is_some() != (expect == Expect::Found) {
            return Err(format!(
                "{workload}: key {} answered {found:?}",
                String::from_utf8_lossy(&buf)
            ));
        }
        user_bytes += (buf.len() + found.unwrap_or(0)) as u64;
        progress.tick();
    }
    let elapsed = meter.elapsed();
    progress.finish();
    Ok(meter.finish(ctx, engine, workload, reads, user_bytes, elapsed))
}
