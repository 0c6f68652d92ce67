//! The flush thread and the compaction threads of background maintenance (see
//! [`crate::background`]): each waits for its request, runs its job on the tree while
//! the tree is alive (holding it only for the job), wakes stalled writers, and records
//! its errors for the next admission.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Instant;

use crate::background::{Background, POLL_INTERVAL};
use crate::compaction::CompactionAction;
use crate::jobs::Wait;
use crate::tree::TreeInner;
use crate::{Error, Result};

/// Starts the flush and compaction threads of `tree`.
///
/// # Errors
/// [`Error::Io`] when a thread cannot be spawned.
pub(crate) fn start(background: &Arc<Background>, tree: &Arc<TreeInner>) -> Result<()> {
    let jobs = background.options.compaction_jobs.max(1);
    let bodies =
        std::iter::once(("lsm-flush", flush_loop as fn(&Weak<TreeInner>, &Background))).chain(
            std::iter::repeat_n(("lsm-compaction", compaction_loop as _), jobs),
        );
    for (name, body) in bodies {
        let weak = Arc::downgrade(tree);
        let thread_background = Arc::clone(background);
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || body(&weak, &thread_background))
            .map_err(Error::Io)?;
        background.add_thread(handle);
    }
    Ok(())
}

/// The level-0 runs of `tree` now, as the ids of their first tables.
fn l0_runs(tree: &TreeInner) -> BTreeSet<u64> {
    tree.super_version()
        .version
        .levels()
        .first()
        .map(|level| {
            level
                .runs()
                .iter()
                .filter_map(|run| run.tables().first().map(|table| table.id))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a job's failure stops its thread: the tree is poisoned, so retrying cannot
/// succeed until it is reopened.
fn is_fatal(tree: &TreeInner, error: &Error) -> bool {
    matches!(error, Error::Unrecoverable) || tree.health.is_poisoned()
}

fn flush_loop(weak: &Weak<TreeInner>, background: &Background) {
    while background.wait_for_flush_request() {
        let outcome = background.with_tree(weak, |tree| {
            let watermark = (background.options.gc_watermark)();
            let flushed = {
                let lock = tree.flush_lock();
                let bytes: u64 = tree
                    .super_version()
                    .sealed
                    .iter()
                    .map(|memtable| memtable.approximate_size())
                    .sum();
                let started = Instant::now();
                let flushed = tree.flush_sealed(&lock, watermark);
                if matches!(flushed, Ok(Some(_))) {
                    background.pacing.record_flush(bytes, started.elapsed());
                }
                flushed
            };
            flushed.map_err(|error| {
                let fatal = is_fatal(tree, &error);
                (error, fatal)
            })
        });
        match outcome {
            None => return,
            Some(Ok(flushed)) => {
                if flushed.is_some() {
                    background.request_compaction();
                }
                background.notify_progress();
            }
            Some(Err((error, fatal))) => {
                background.record(error);
                if fatal {
                    return;
                }
                std::thread::sleep(POLL_INTERVAL);
                background.request_flush();
            }
        }
    }
}

fn compaction_loop(weak: &Weak<TreeInner>, background: &Background) {
    let mut seen = 0;
    while background.wait_for_compaction_request(&mut seen) {
        loop {
            if background.is_stopped() {
                return;
            }
            let outcome = background.with_tree(weak, |tree| {
                let watermark = (background.options.gc_watermark)();
                let before = l0_runs(tree);
                let started = Instant::now();
                let result = tree
                    .compact(background.options.strategy.as_ref(), watermark, Wait::No)
                    .map_err(|error| {
                        let fatal = is_fatal(tree, &error);
                        (error, fatal)
                    });
                if result.is_ok() {
                    let after = l0_runs(tree);
                    let drained = before.difference(&after).count() as u64;
                    background
                        .pacing
                        .record_l0_drain(drained, started.elapsed());
                }
                result
            });
            match outcome {
                None | Some(Err((Error::Closed, _))) => return,
                Some(Ok(result)) if result.action == CompactionAction::Nothing => break,
                Some(Ok(_)) => {
                    background.notify_progress();
                    // Its inputs are free again, and the version changed: the other
                    // threads may find work now.
                    background.request_compaction();
                }
                Some(Err((error, fatal))) => {
                    background.record(error);
                    if fatal {
                        return;
                    }
                    std::thread::sleep(POLL_INTERVAL);
                    break;
                }
            }
        }
    }
}
