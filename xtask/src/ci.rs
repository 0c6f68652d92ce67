//! `cargo xtask ci`: every check and test, in order, stopping at the first failure; then
//! a smoke pass of the benchmark tool (small sizes) so that `cargo xtask bench` keeps
//! working, the same pass in a fresh clone with nothing beside it (on the records shipped
//! with the repository), and rustdoc.

use std::time::Instant;

use crate::testing::{loom, report_dir, test};
use crate::{
    Result, SMOKE_CARGO_ARGS, cargo, deps, format_check, fresh_clone, project_root, reliability,
    tidy,
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
        let (table, all_met) = reliability::table(&report_dir())?;
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
