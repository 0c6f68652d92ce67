//! `cargo xtask fresh-clone`: the committed tree works with nothing beside it.
//!
//! Clones `HEAD` into an empty temporary folder (no `shared/` beside it, no
//! `LSM_DATA_DIR`), runs the benchmark tool's smoke pass there, and checks that it read
//! the records shipped with the repository. Dependencies are built in
//! `target/fresh-clone` of this checkout, so that later runs rebuild only the engine's
//! own crates; the clone itself is new every time and removed afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Result, SMOKE_CARGO_ARGS, project_root, run_command};

/// What the smoke pass prints when it reads the shipped subset.
const SUBSET_MARKER: &str = "the shipped subset";

pub(crate) fn run() -> Result {
    let root = project_root();
    let scratch = std::env::temp_dir().join(format!("lsm-fresh-clone-{}", std::process::id()));
    let result = clone_and_smoke(&root, &scratch);
    if let Err(error) = std::fs::remove_dir_all(&scratch) {
        eprintln!(
            "xtask fresh-clone: cannot remove {}: {error}",
            scratch.display()
        );
    }
    result
}

fn clone_and_smoke(root: &Path, scratch: &Path) -> Result {
    std::fs::create_dir_all(scratch)
        .map_err(|error| format!("cannot create {}: {error}", scratch.display()))?;
    let clone = scratch.join("lsm");
    let mut git = Command::new("git");
    git.args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root)
        .arg(&clone);
    run_command(&mut git, "git clone")?;
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .map_err(|error| format!("cannot run git status: {error}"))?;
    if !dirty.stdout.is_empty() {
        eprintln!("xtask fresh-clone: uncommitted changes are not in the clone (it tests HEAD)");
    }
    let started = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(SMOKE_CARGO_ARGS)
        .arg(scratch.join("out"))
        .current_dir(&clone)
        .env("CARGO_TARGET_DIR", target_dir(root))
        .env_remove("LSM_DATA_DIR")
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(format!(
            "the smoke pass failed in a fresh clone ({})",
            output.status
        ));
    }
    if !stdout.contains(SUBSET_MARKER) {
        return Err(format!(
            "the smoke pass in a fresh clone did not say it read {SUBSET_MARKER}"
        ));
    }
    eprintln!(
        "xtask fresh-clone: the smoke pass ran on the shipped records in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// Where the clone's build goes: a folder of this checkout's target directory.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("fresh-clone")
}
