//! Figures of the reliability program (`docs/reliability.md`, `cargo xtask reliability`).
//!
//! Each harness of a goal of the reliability spec (G1-G12) records, when it passes, what
//! it ran: the goal, its own name, a count and its unit (crash images, cases, ops,
//! cycles, runs), and the time it took. With `LSM_RELIABILITY_REPORT` set to a
//! directory, a record is one small JSON file in it (test processes run side by side;
//! one file each needs no locking); without it, recording does nothing. A harness that
//! fails records nothing: the runner sees the failure in the test status.
//!
//! Counts grow with [`scaled`]: `LSM_TEST_SCALE` multiplies them (the nightly tier).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lsm_core::fs::{Fs, OpenOptions, StdFs};

/// The environment variable naming the report directory.
pub const REPORT_DIR_ENV: &str = "LSM_RELIABILITY_REPORT";

/// `base` times the test scale (`LSM_TEST_SCALE`, 1 by default).
#[must_use]
pub fn scaled(base: u64) -> u64 {
    base.saturating_mul(crate::test_scale())
}

/// [`scaled`] as a `usize`.
#[must_use]
pub fn scaled_usize(base: usize) -> usize {
    usize::try_from(scaled(base as u64)).unwrap_or(usize::MAX)
}

/// Records that `harness` of `goal` (`"G1"` to `"G12"`) passed after running `count`
/// `unit`s since `started`; see the module docs.
///
/// # Panics
/// When the report directory is set but the record cannot be written (a figure must
/// not go missing silently).
pub fn record(goal: &str, harness: &str, count: u64, unit: &str, started: Instant) {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    write_figure(goal, harness, count, unit, started, &sequence.to_string());
}

/// What [`tally`] has counted in this process, by goal and harness.
type Tallies = std::collections::BTreeMap<(String, String), (u64, Instant)>;

/// Adds `count` `unit`s to what `harness` of `goal` has run in this process, and
/// rewrites its record: for harnesses that run as many small cases (a property test's
/// cases), which have no single end to record at.
///
/// # Panics
/// As [`record`].
pub fn tally(goal: &str, harness: &str, count: u64, unit: &str) {
    if std::env::var_os(REPORT_DIR_ENV).is_none() {
        return;
    }
    static TALLIES: std::sync::Mutex<Tallies> = std::sync::Mutex::new(Tallies::new());
    let mut tallies = TALLIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (total, started) = tallies
        .entry((goal.to_owned(), harness.to_owned()))
        .or_insert((0, Instant::now()));
    *total += count;
    write_figure(goal, harness, *total, unit, *started, "tally");
}

/// Writes one figure as `<goal>-<harness>-<process>-<suffix>.json` in the report
/// directory (replacing a figure of the same name whole), if one is set.
fn write_figure(goal: &str, harness: &str, count: u64, unit: &str, started: Instant, suffix: &str) {
    let Some(dir) = std::env::var_os(REPORT_DIR_ENV).map(PathBuf::from) else {
        return;
    };
    let figure = serde_json::json!({
        "goal": goal,
        "harness": harness,
        "count": count,
        "unit": unit,
        "seconds": started.elapsed().as_secs_f64(),
        "scale": crate::test_scale(),
        "seed": std::env::var("LSM_SEED").ok(),
    });
    let name = format!(
        "{goal}-{}-{}-{suffix}.json",
        harness.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        std::process::id(),
    );
    let temp = dir.join(format!("{name}.tmp"));
    // Written aside and renamed: the runner never reads half a figure.
    let written = StdFs.create_dir_all(&dir).and_then(|()| {
        let options = OpenOptions {
            truncate: true,
            ..OpenOptions::write()
        };
        let file = StdFs.open(&temp, options)?;
        file.write_all_at(figure.to_string().as_bytes(), 0)?;
        StdFs.rename(&temp, &dir.join(&name))
    });
    if let Err(error) = written {
        panic!("reliability figure {name} not written: {error}");
    }
}
