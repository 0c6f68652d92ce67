//! changescan and changescan-full: a change stream read from a settled database of
//! `--num` keys after 1% of them (distinct, chosen at random) were overwritten.
//!
//! The database is filled in random order and settled; the engine's next seqno is taken
//! as the target (the engine keeps the history from it, as a change consumer holds
//! it); the overwrites follow, and the whole tree is compacted into its last level, so
//! that the changes are spread over its blocks (about a third of them hold one at the
//! default sizes) and no table can be skipped whole: the shape where only per-block
//! seqno bounds save reads, and one that does not depend on where each engine's
//! compaction happened to stop. `changescan` then reads every change since the target
//! the fast way (blocks whose recorded seqnos all lie below the target are skipped
//! unread), `changescan-full` reads the same changes trusting no block bounds. Both must
//! return exactly the overwrites; their ops are those events, so the ratio of the two
//! rates is what the skip saves. Engines without a seqno change scan skip the section
//! without filling it.

use lsm_testkit::rng::Rng;

use super::Ctx;
use super::fill::fill;
use super::sample::{Meter, Sample};
use crate::engine::{Capability, Engine};
use crate::keys::permutation;
use crate::progress::Progress;

/// The share of keys overwritten after the target, as one part in this many.
const CHANGED_ONE_IN: u64 = 100;

/// Fills and changes the database, then runs whichever of the two scans are wanted.
///
/// # Errors
/// The engine's first error, or a scan that does not return exactly the overwrites.
pub fn run(
    ctx: &mut Ctx<'_>,
    engine: &dyn Engine,
    samples: &mut Vec<Sample>,
) -> Result<(), String> {
    const WORKLOADS: [(&str, bool); 2] = [("changescan", false), ("changescan-full", true)];
    if !engine.supports(Capability::ChangeScan) {
        for (workload, _) in WORKLOADS {
            samples.push(Sample::skipped(ctx, workload, "no seqno change scan"));
        }
        return Ok(());
    }
    let num = ctx.flags.num;
    let value_bytes = ctx.flags.value_bytes;
    let order = permutation(num, &mut ctx.rng);
    fill(ctx, engine, "changes-fill", order, num, value_bytes)?;
    let target = engine.change_mark();
    let changes = (num / CHANGED_ONE_IN).max(1);
    let mut changed = permutation(num, &mut Rng::new(ctx.rng.next_u64()));
    changed.truncate(usize::try_from(changes).unwrap_or(usize::MAX));
    fill(
        ctx,
        engine,
        "changes-overwrite",
        changed,
        changes,
        value_bytes,
    )?;
    engine.major_compact()?;
    for (workload, full) in WORKLOADS {
        if !ctx.wants(workload) {
            continue;
        }
        let progress = Progress::new(ctx.label(workload), 1);
        let meter = Meter::start(engine);
        let (events, bytes) = engine.scan_since(target, full)?;
        let elapsed = meter.elapsed();
        progress.finish();
        if events != changes {
            return Err(format!(
                "{workload}: {events} changes since seqno {target}, not {changes}"
            ));
        }
        samples.push(meter.finish(ctx, engine, workload, events, bytes, elapsed));
    }
    Ok(())
}
