//! `cargo xtask reliability [--scale pr|nightly] [--seed S]`: the reliability program
//! (`docs/reliability.md`). Every test runs with `LSM_RELIABILITY_REPORT` set; each
//! harness of a goal of the reliability spec (G1-G12) records what it ran there when it
//! passes, and this prints one table, goal by goal: the harnesses, the counts, the time,
//! and whether the PR figure of the spec is met. `cargo xtask ci` prints the same table
//! from its own test run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::Result;

/// How much larger the nightly tier runs every count.
const NIGHTLY_SCALE: u32 = 20;

/// The options of `cargo xtask reliability`.
pub(crate) struct Options {
    scale: u32,
    seed: Option<u64>,
}

/// Parses `[--scale pr|nightly] [--seed S]`.
pub(crate) fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        scale: 1,
        seed: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--scale" => {
                options.scale = match value.as_str() {
                    "pr" => 1,
                    "nightly" => NIGHTLY_SCALE,
                    other => return Err(format!("--scale is pr or nightly, not `{other}`")),
                };
            }
            "--seed" => {
                options.seed = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--seed takes a number, not `{value}`"))?,
                );
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

/// Runs every test with the report directory set, then prints the table.
pub(crate) fn run(options: &Options) -> Result {
    let started = Instant::now();
    let features = crate::deps::check_features()?;
    let seed = options.seed.map(|seed| seed.to_string());
    let tested = crate::testing::test(&features, &options.scale.to_string(), seed.as_deref())
        .and_then(|()| crate::testing::loom());
    let (table, all_met) = table(&crate::testing::report_dir())?;
    println!("{table}");
    let path = crate::testing::report_dir().join("table.md");
    std::fs::write(&path, &table).map_err(|error| format!("{}: {error}", path.display()))?;
    eprintln!(
        "xtask reliability: {} in {:.0?}; the table is in {}",
        match (&tested, all_met) {
            (Ok(()), true) => "every harness passed and every goal reached its PR figure",
            (Ok(()), false) => "a goal fell below its PR figure",
            (Err(_), _) => "a test failed",
        },
        started.elapsed(),
        path.display()
    );
    tested.and_then(|()| {
        if all_met {
            Ok(())
        } else {
            Err("a goal of the reliability program fell below its PR figure".to_owned())
        }
    })
}

/// A goal of the reliability spec, with the figure a PR run must reach.
struct Goal {
    id: &'static str,
    name: &'static str,
    /// The unit the PR figure counts, and the figure (`None`: no count is set, every
    /// case the harnesses have must pass).
    target: Option<(&'static str, u64)>,
}

const GOALS: &[Goal] = &[
    Goal {
        id: "G1",
        name: "crash-point enumeration",
        target: Some(("crash images", 10_000)),
    },
    Goal {
        id: "G2",
        name: "crashes during recovery",
        target: Some(("faulted recoveries", 1_000)),
    },
    Goal {
        id: "G3",
        name: "corruption sweeps",
        target: Some(("cases", 25_000)),
    },
    Goal {
        id: "G4",
        name: "model-based random operations",
        target: Some(("ops", 200_000)),
    },
    Goal {
        id: "G5",
        name: "metamorphic configurations",
        target: Some(("sequences", 1_000)),
    },
    Goal {
        id: "G6",
        name: "ENOSPC and EIO",
        target: Some(("runs", 10_000)),
    },
    Goal {
        id: "G7",
        name: "crashes inside the model test",
        target: Some(("crash/recover cycles", 2_000)),
    },
    Goal {
        id: "G8",
        name: "encryption",
        target: None,
    },
    Goal {
        id: "G9",
        name: "concurrency",
        target: None,
    },
    Goal {
        id: "G10",
        name: "fuzz corpora replayed",
        target: Some(("inputs", 10_000)),
    },
    Goal {
        id: "G11",
        name: "format compatibility",
        target: None,
    },
    Goal {
        id: "G12",
        name: "resource bounds",
        target: None,
    },
];

/// Inputs per PR run of an operation-sequence fuzz target (each runs a workload, a
/// crash and a recovery: a fifth of a decoder target's 10,000).
const OP_TARGET_INPUTS: u64 = 2_000;

/// The most seconds G12 allows for reopening a tree of 10,000 files.
const RECOVERY_SECONDS_MAX: f64 = 5.0;

/// One harness's record (summed over the processes that ran it).
#[derive(Default)]
struct Figure {
    count: u64,
    unit: String,
    seconds: f64,
}

/// The table of the figures recorded in `dir`, in Markdown, and whether every goal
/// reached its PR figure.
pub(crate) fn table(dir: &Path) -> Result<(String, bool)> {
    let mut figures: BTreeMap<(String, String), Figure> = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|error| error.to_string())?.path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let record: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
        let field = |name: &str| record[name].as_str().unwrap_or_default().to_owned();
        let figure = figures
            .entry((field("goal"), field("harness")))
            .or_default();
        figure.count += record["count"].as_u64().unwrap_or(0);
        figure.unit = field("unit");
        figure.seconds += record["seconds"].as_f64().unwrap_or(0.0);
    }
    let mut all_met = true;
    let mut out = String::from(
        "| goal | harnesses (count) | total | PR figure | failures | seconds | status |\n|---|---|---|---|---|---|---|\n",
    );
    for goal in GOALS {
        let ran: Vec<_> = figures
            .iter()
            .filter(|((id, _), _)| id == goal.id)
            .map(|((_, harness), figure)| (harness, figure))
            .collect();
        let harnesses = ran
            .iter()
            .map(|(harness, figure)| format!("{harness} ({} {})", figure.count, figure.unit))
            .collect::<Vec<_>>()
            .join("; ");
        let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, figure) in &ran {
            *totals.entry(figure.unit.as_str()).or_default() += figure.count;
        }
        let total = totals
            .iter()
            .map(|(unit, count)| format!("{count} {unit}"))
            .collect::<Vec<_>>()
            .join(", ");
        let seconds: f64 = ran.iter().map(|(_, figure)| figure.seconds).sum();
        let (target, met) = match goal.target {
            _ if ran.is_empty() => ("-".to_owned(), false),
            Some((unit, figure)) if goal.id == "G10" => (
                format!(
                    "{figure} {unit} per decoder target, {OP_TARGET_INPUTS} per operation-sequence target"
                ),
                ran.iter().all(|(harness, ran)| {
                    let op_target = harness.ends_with("_ops");
                    ran.count >= if op_target { OP_TARGET_INPUTS } else { figure }
                }),
            ),
            Some((unit, figure)) => (
                format!("{figure} {unit}"),
                totals.get(unit).is_some_and(|&count| count >= figure),
            ),
            None if goal.id == "G12" => (
                format!(
                    "10,000 files reopened in {RECOVERY_SECONDS_MAX} s; allocation bounded on damaged files"
                ),
                ran.iter().all(|(harness, ran)| {
                    !harness.starts_with("recovery_scale") || ran.seconds <= RECOVERY_SECONDS_MAX
                }),
            ),
            None => ("every case".to_owned(), true),
        };
        all_met &= met;
        let status = match (ran.is_empty(), met) {
            (true, _) => "no harness yet",
            (false, true) => "met",
            (false, false) => "below the PR figure",
        };
        // A harness records only when it passes: a failure shows as a failed test run.
        out.push_str(&format!(
            "| {} {} | {} | {} | {} | {} | {:.1} | {} |\n",
            goal.id,
            goal.name,
            if harnesses.is_empty() {
                "-"
            } else {
                &harnesses
            },
            if total.is_empty() { "-" } else { &total },
            target,
            if ran.is_empty() { "-" } else { "0" },
            seconds,
            status
        ));
    }
    Ok((out, all_met))
}
