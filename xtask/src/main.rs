//! Project automation. `cargo xtask <command>`; this crate links no engine crate, so it
//! builds in seconds.
//!
//! - `ci [--scale N]`: every check and test, in the order CI runs them; `--scale N`
//!   multiplies the counts of the large sweeps (`LSM_TEST_SCALE` for the tests, 1 by
//!   default: what CI runs).
//! - `bench [ARGS]`: the benchmark tool in release mode (arguments go to it); with
//!   `--peers` it is built with RocksDB, fjall's lsm-tree and coordinode-lsm-tree
//!   (installing `libclang-dev` with apt-get when bindgen would not find libclang, and
//!   linking the prebuilt release RocksDB of a `shared/rocksdb` folder beside the
//!   checkout when there is one, instead of compiling its source).
//!   `bench micro [CRATE...]` runs the criterion micro-benchmarks beside the crates.
//! - `reliability [--scale pr|nightly] [--seed S]`: every test, with the harnesses of the
//!   reliability program recording their figures, then one table goal by goal
//!   (`docs/reliability.md`); `nightly` multiplies every count.
//! - `tidy`, `deps`, `format-check`: the individual checks.
//! - `fresh-clone`: clones `HEAD` into an empty folder and runs the benchmark tool's smoke
//!   pass there, on the records shipped with the repository.
//! - `fixtures`: writes missing golden fixtures and fuzz seed corpora (never overwrites).
//! - `fuzz <target> [--time SECONDS]`: runs a cargo-fuzz target (needs nightly and cargo-fuzz).
#![expect(
    clippy::disallowed_methods,
    reason = "xtask is a tool, not part of the engine: it reads the tree with std::fs"
)]

mod ci;
mod deps;
mod format_check;
mod fresh_clone;
mod reliability;
mod testing;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!(
            "usage: cargo xtask <ci|bench|tidy|deps|format-check|fresh-clone|fixtures|fuzz> [args]"
        );
        return ExitCode::FAILURE;
    };
    let result = match command.as_str() {
        "ci" => ci::scale(rest).and_then(ci::run),
        "reliability" => reliability::options(rest).and_then(|options| reliability::run(&options)),
        "bench" => bench(rest),
        "tidy" => tidy::run(&project_root()),
        "deps" => deps::run(),
        "format-check" => format_check::run(&project_root()),
        "fresh-clone" => fresh_clone::run(),
        "fixtures" => fixtures(),
        "fuzz" => fuzz(rest),
        other => Err(format!("unknown command `{other}`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {command}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo` arguments of the benchmark tool's smoke pass, but for its `--out` folder.
pub(crate) const SMOKE_CARGO_ARGS: &[&str] = &[
    "run",
    "--quiet",
    "--profile",
    "test",
    "--package",
    "lsm-bench",
    "--",
    "--smoke",
    "--out",
];

/// The workspace root.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one folder below the root")
        .to_path_buf()
}

/// Runs `cargo` with `args` at the root; fails when it fails.
fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(project_root());
    for (key, value) in envs {
        command.env(key, value);
    }
    eprintln!("$ cargo {}", args.join(" "));
    run_command(&mut command, &format!("`cargo {}`", args.join(" ")))
}

/// Runs `command`, named `what` in errors; fails when it fails.
fn run_command(command: &mut Command, what: &str) -> Result {
    let status = command
        .status()
        .map_err(|error| format!("cannot run {what}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn has_cargo_subcommand(name: &str) -> bool {
    Command::new("cargo")
        .args([name, "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Crates with criterion micro-benchmarks, in layer order.
const MICRO_BENCH_CRATES: &[&str] = &[
    "lsm-codec",
    "lsm-burr",
    "lsm-memtable",
    "lsm-table",
    "lsm-vlog",
    "lsm",
];

fn bench(args: &[String]) -> Result {
    if args.first().map(String::as_str) == Some("micro") {
        let crates: Vec<&str> = match &args[1..] {
            [] => MICRO_BENCH_CRATES.to_vec(),
            named => named.iter().map(String::as_str).collect(),
        };
        for name in crates {
            cargo(&["bench", "--package", name], &[])?;
        }
        return Ok(());
    }
    let peers = args.iter().any(|arg| arg == "--peers");
    let mut cargo_args = vec!["run", "--release", "--quiet", "--package", "lsm-bench"];
    let mut envs = Vec::new();
    let prebuilt;
    if peers {
        ensure_libclang()?;
        cargo_args.extend(["--features", "peers"]);
        prebuilt = prebuilt_rocksdb()?;
        match &prebuilt {
            Some(dir) => {
                eprintln!(
                    "xtask bench: linking the prebuilt release RocksDB in {}",
                    dir.display()
                );
                envs.push(("ROCKSDB_LIB_DIR", dir.to_str().ok_or("a non-UTF-8 path")?));
                envs.push(("ROCKSDB_STATIC", "1"));
            }
            None => eprintln!(
                "xtask bench: building with the peers (RocksDB's C++ source compiles once, \
                 a long while on two cores; later runs reuse target/)"
            ),
        }
    }
    cargo_args.push("--");
    cargo_args.extend(args.iter().map(String::as_str));
    cargo(&cargo_args, &envs)
}

/// The compressed release build of RocksDB 11.8.1 (the one the `rocksdb` crate 0.25
/// compiles from source) that a `shared/rocksdb` folder beside the checkout may hold.
const PREBUILT_ROCKSDB: &str = "../shared/rocksdb/librocksdb-11.8.1-x86_64.a.zst";

/// A folder holding `librocksdb.a` unpacked from [`PREBUILT_ROCKSDB`], when that file is
/// there, this is x86-64 Linux and the caller has not set `ROCKSDB_LIB_DIR`; `None`
/// builds RocksDB from source instead.
fn prebuilt_rocksdb() -> Result<Option<PathBuf>> {
    let packed = project_root().join(PREBUILT_ROCKSDB);
    if std::env::var_os("ROCKSDB_LIB_DIR").is_some()
        || !cfg!(all(target_os = "linux", target_arch = "x86_64"))
        || !packed.is_file()
    {
        return Ok(None);
    }
    let dir = project_root().join("target/rocksdb-prebuilt");
    let library = dir.join("librocksdb.a");
    if library.is_file() {
        return Ok(Some(dir));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let unpacking = dir.join("librocksdb.a.partial");
    let status = Command::new("zstd")
        .args(["-d", "-q", "-f"])
        .arg(&packed)
        .arg("-o")
        .arg(&unpacking)
        .status();
    match status {
        Ok(status) if status.success() => {
            std::fs::rename(&unpacking, &library)
                .map_err(|error| format!("cannot rename {}: {error}", unpacking.display()))?;
            Ok(Some(dir))
        }
        // Without the zstd tool, build from source as before.
        _ => {
            eprintln!(
                "xtask bench: cannot unpack {} (zstd missing?)",
                packed.display()
            );
            Ok(None)
        }
    }
}

/// bindgen (RocksDB's bindings) loads libclang at build time: installs Debian's
/// `libclang-dev` when no libclang is found and apt-get is there to install it.
fn ensure_libclang() -> Result {
    let found = [
        "/usr/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ]
    .iter()
    .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
    .any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // libclang.so or libclang-14.so.1, not libclang-cpp.
        let versioned = name
            .strip_prefix("libclang-")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        name.starts_with("libclang.so")
            || versioned && name.contains(".so")
            || name.starts_with("llvm-") && entry.path().join("lib/libclang.so").exists()
    });
    if found || std::env::var_os("LIBCLANG_PATH").is_some() {
        return Ok(());
    }
    eprintln!("xtask bench: installing libclang-dev for bindgen");
    for args in [&["update"][..], &["install", "-y", "libclang-dev"][..]] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|error| {
                format!("cannot run apt-get (install libclang-dev by hand): {error}")
            })?;
        if !status.success() {
            return Err(format!(
                "apt-get {} failed; install libclang-dev by hand",
                args.join(" ")
            ));
        }
    }
    Ok(())
}

fn fixtures() -> Result {
    for (package, test) in [
        ("lsm-codec", "golden"),
        ("lsm-table", "golden"),
        ("lsm", "golden_tree"),
    ] {
        cargo(
            &["test", "--package", package, "--test", test],
            &[("LSM_WRITE_FIXTURES", "1")],
        )?;
    }
    for package in [
        "lsm-codec",
        "lsm-burr",
        "lsm-table",
        "lsm-version",
        "lsm-vlog",
    ] {
        cargo(
            &[
                "test",
                "--package",
                package,
                "--lib",
                "write_seed_corpus",
                "--",
                "--ignored",
            ],
            &[],
        )?;
    }
    // The operation-sequence targets, whose bodies live beside the facade's tests.
    cargo(
        &[
            "test",
            "--package",
            "lsm",
            "--test",
            "fuzz_ops",
            "write_seed_corpus",
            "--",
            "--ignored",
        ],
        &[],
    )?;
    Ok(())
}

fn fuzz(args: &[String]) -> Result {
    let target = args
        .first()
        .ok_or("usage: cargo xtask fuzz <target> [--time SECONDS]")?;
    let seconds = match args.get(1).map(String::as_str) {
        Some("--time") => args.get(2).ok_or("--time needs a value")?.clone(),
        Some(other) => return Err(format!("unknown argument `{other}`")),
        None => "60".to_owned(),
    };
    let status = Command::new("cargo")
        .args([
            "+nightly",
            "fuzz",
            "run",
            target,
            "--",
            &format!("-max_total_time={seconds}"),
        ])
        .current_dir(project_root().join("fuzz"))
        .status()
        .map_err(|error| format!("cannot run cargo +nightly fuzz: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing {target} failed ({status}); needs a nightly toolchain and `cargo install cargo-fuzz`"
        ))
    }
}
