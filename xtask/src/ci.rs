//! `cargo xtask ci`: every check and test, in order, stopping at the first failure; then
//! a smoke pass of the benchmark tool (small sizes) so that `cargo xtask bench` keeps
//! working, the same pass in a fresh clone with nothing beside it (on the records shipped
//! with the repository), and rustdoc.

use std::time::Instant;

use crate::{
    Result, SMOKE_CARGO_ARGS, cargo, deps, format_check, fresh_clone, has_cargo_subcommand,
    project_root, reliability, tidy,
};

/// The `--scale N` of `cargo xtask ci` (1 without it).
pub(crate) fn scale(args: &[String]) -> Result<u32> {
    match args {
        [] => Ok(1),
        [flag, value] if flag == "--scale" => value
            .parse::<u32>()
            .ok()
            .filter(|&scale| scale >= 1)
            .ok_or_else(|| format!("--scale takes a whole number from 1, not `{value}`")),
        other => Err(format!("unknown arguments to `ci`: {}", other.join(" "))),
    }
}

pub(crate) fn run(scale: u32) -> Result {
    let started = Instant::now();
    let scale = scale.to_string();
    let features = deps::check_features()?;
    let features = features.as_str();
    step("fmt", || cargo(&["fmt", "--all", "--", "--check"], &[]))?;
    step("clippy", || {
        cargo(
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                features,
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    })?;
    step("tidy", || tidy::run(&project_root()))?;
    step("deps", deps::run)?;
    step("format-check", || format_check::run(&project_root()))?;
    step("test", || test(features, &scale, None))?;
    step("loom", loom)?;
    step("reliability", || {
        let (table, all_met) = reliability::table(&reliability::report_dir())?;
        println!("{table}");
        if all_met {
            Ok(())
        } else {
            Err("a goal of the reliability program fell below its PR figure".to_owned())
        }
    })?;
    step("bench smoke", || {
        let mut args = SMOKE_CARGO_ARGS.to_vec();
        args.push("target/bench/smoke");
        cargo(&args, &[])
    })?;
    step("fresh clone", fresh_clone::run)?;
    step("doc", || {
        cargo(
            &["doc", "--workspace", "--no-deps", "--features", features],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    eprintln!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

fn step(name: &str, body: impl FnOnce() -> Result) -> Result {
    eprintln!("==> {name}");
    let started = Instant::now();
    let result = body();
    eprintln!(
        "<== {name}: {} in {:.1?}",
        if result.is_ok() { "ok" } else { "FAILED" },
        started.elapsed()
    );
    result
}

/// Runs the loom models of the synchronisation cores: the facade's unit tests named
/// `loom_models` in a `--cfg loom` build (its own target directory, so that the
/// ordinary build stays cached), recording their figures with the other harnesses.
pub(crate) fn loom() -> Result {
    let target = project_root().join("target").join("loom");
    let target = target.display().to_string();
    let report = reliability::report_dir().display().to_string();
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
    let dir = reliability::report_dir();
    reliability::clear(&dir)?;
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
