//! Running the tests the way `cargo xtask ci` and `cargo xtask reliability` do: every
//! test of the workspace, with the harnesses of the reliability program recording their
//! figures into [`report_dir`], and the loom models in a `--cfg loom` build.

use std::path::{Path, PathBuf};

use crate::{Result, cargo, has_cargo_subcommand, project_root};

/// The directory the harnesses record into.
pub(crate) fn report_dir() -> PathBuf {
    project_root().join("target").join("reliability")
}

/// Empties the report directory before a run.
fn clear(dir: &Path) -> Result {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))
}

/// Runs the loom models of the synchronisation cores: the facade's unit tests named
/// `loom_models` in a `--cfg loom` build (its own target directory, so that the
/// ordinary build stays cached), recording their figures with the other harnesses.
pub(crate) fn loom() -> Result {
    let target = project_root().join("target").join("loom");
    let target = target.display().to_string();
    let report = report_dir().display().to_string();
    cargo(
        &[
            "test",
            "--package",
            "lsm",
            "--lib",
            "--release",
            "loom_models",
        ],
        &[
            ("RUSTFLAGS", "--cfg loom"),
            ("CARGO_TARGET_DIR", target.as_str()),
            ("LSM_RELIABILITY_REPORT", report.as_str()),
        ],
    )
}

/// Runs every test with every feature on but the bench's peers: nextest when installed
/// (and the doctests, which nextest does not run), else `cargo test`; every harness of
/// the reliability program records its figures (see `reliability`), and `seed`, when
/// given, seeds every randomised test.
pub(crate) fn test(features: &str, scale: &str, seed: Option<&str>) -> Result {
    let dir = report_dir();
    clear(&dir)?;
    let dir = dir.display().to_string();
    let mut envs = vec![
        ("LSM_TEST_SCALE", scale),
        ("LSM_RELIABILITY_REPORT", dir.as_str()),
    ];
    if let Some(seed) = seed {
        envs.push(("LSM_SEED", seed));
    }
    let envs = envs.as_slice();
    if has_cargo_subcommand("nextest") {
        // Doctests first, so that the run closes on nextest's summary of every test.
        cargo(
            &["test", "--workspace", "--features", features, "--doc"],
            envs,
        )?;
        cargo(
            &[
                "nextest",
                "run",
                "--workspace",
                "--features",
                features,
                "--no-fail-fast",
            ],
            envs,
        )
    } else {
        cargo(&["test", "--workspace", "--features", features], envs)
    }
}
