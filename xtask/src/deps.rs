//! `cargo xtask deps`: dependencies point down the layer table only.
//!
//! Reads `cargo metadata` and checks every edge between workspace crates against
//! [`ALLOWED`]. A crate missing from the table is an error, so a new crate or a new edge
//! is a deliberate change to this file (and to ARCHITECTURE.md). Also runs `cargo deny
//! check bans licenses sources` when cargo-deny is installed (and `advisories` with
//! `LSM_DENY_ADVISORIES=1`, since the advisory database comes from the network).

use std::process::Command;

use serde_json::Value;

use crate::{Result, cargo, has_cargo_subcommand, project_root};

/// Each workspace crate and the workspace crates it may depend on (normal and build
/// dependencies). Dev-dependencies may also name `lsm-testkit`.
const ALLOWED: &[(&str, &[&str])] = &[
    ("lsm-core", &[]),
    ("lsm-codec", &["lsm-core"]),
    ("lsm-burr", &[]),
    ("lsm-memtable", &["lsm-core"]),
    ("lsm-table", &["lsm-core", "lsm-codec", "lsm-burr"]),
    ("lsm-vlog", &["lsm-core", "lsm-codec"]),
    ("lsm-wal", &["lsm-core", "lsm-codec"]),
    (
        "lsm-version",
        &["lsm-core", "lsm-codec", "lsm-table", "lsm-vlog"],
    ),
    (
        "lsm-compaction",
        &[
            "lsm-core",
            "lsm-codec",
            "lsm-memtable",
            "lsm-table",
            "lsm-vlog",
            "lsm-version",
        ],
    ),
    (
        "lsm",
        &[
            "lsm-core",
            "lsm-codec",
            "lsm-burr",
            "lsm-memtable",
            "lsm-table",
            "lsm-vlog",
            "lsm-wal",
            "lsm-version",
            "lsm-compaction",
        ],
    ),
    // Dev-only: engine crates take it as a dev-dependency, never a normal one.
    (
        "lsm-testkit",
        &[
            "lsm-core",
            "lsm-codec",
            "lsm-burr",
            "lsm-memtable",
            "lsm-table",
            "lsm-vlog",
            "lsm-version",
        ],
    ),
    (
        "lsm-bench",
        &[
            "lsm-testkit",
            "lsm-core",
            "lsm-codec",
            "lsm-burr",
            "lsm-memtable",
            "lsm-table",
            "lsm-vlog",
            "lsm-version",
            "lsm-compaction",
            "lsm",
        ],
    ),
    // The command-line tool uses the facade only.
    ("lsm-cli", &["lsm"]),
    // The Raft adapter and its example use the facade only.
    ("lsm-raft", &["lsm"]),
    ("raft-kv", &["lsm", "lsm-raft"]),
    ("xtask", &[]),
];

/// Features the checks leave off: the benchmark tool's peers compile RocksDB's C++
/// source (a long build that needs libclang), which CI never does.
const FEATURES_LEFT_OFF: &[&str] = &["lsm-bench/peers"];

/// The workspace's own packages, from `cargo metadata`.
fn workspace_metadata() -> Result<Value> {
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(project_root())
        .output()
        .map_err(|error| format!("cannot run cargo metadata: {error}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|error| error.to_string())
}

/// Every feature of every workspace package as `package/feature`, comma-separated,
/// except [`FEATURES_LEFT_OFF`]: what clippy, the tests and rustdoc run with (in place
/// of `--all-features`).
pub(crate) fn check_features() -> Result<String> {
    let metadata = workspace_metadata()?;
    let mut features = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        for feature in package["features"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(feature, _)| feature)
        {
            let qualified = format!("{name}/{feature}");
            if !FEATURES_LEFT_OFF.contains(&qualified.as_str()) {
                features.push(qualified);
            }
        }
    }
    Ok(features.join(","))
}

pub(crate) fn run() -> Result {
    let metadata = workspace_metadata()?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("metadata without packages")?;
    let members: Vec<&str> = packages
        .iter()
        .filter_map(|package| package["name"].as_str())
        .collect();

    let mut problems = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some((_, allowed)) = ALLOWED.iter().find(|(crate_name, _)| *crate_name == name) else {
            problems.push(format!(
                "{name} is not in the layer table (xtask/src/deps.rs)"
            ));
            continue;
        };
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dependency_name = dependency["name"].as_str().unwrap_or_default();
            if !members.contains(&dependency_name) {
                continue;
            }
            let is_dev = dependency["kind"].as_str() == Some("dev");
            let permitted =
                allowed.contains(&dependency_name) || (is_dev && dependency_name == "lsm-testkit");
            if !permitted {
                let kind = if is_dev {
                    "dev-dependency"
                } else {
                    "dependency"
                };
                problems.push(format!(
                    "{name} may not depend on {dependency_name} ({kind})"
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(format!("layering violations:\n  {}", problems.join("\n  ")));
    }
    eprintln!("deps: {} crates follow the layer table", members.len());

    if has_cargo_subcommand("deny") {
        // Advisories need the RustSec database from the network; set LSM_DENY_ADVISORIES=1
        // where it is reachable.
        let mut checks = vec!["deny", "check", "bans", "licenses", "sources"];
        if std::env::var("LSM_DENY_ADVISORIES").as_deref() == Ok("1") {
            checks.push("advisories");
        }
        cargo(&checks, &[])?;
    } else {
        eprintln!("deps: cargo-deny is not installed; skipping `cargo deny check`");
    }
    Ok(())
}
