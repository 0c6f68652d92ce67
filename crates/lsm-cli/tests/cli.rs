//! The `lsm` binary as a user runs it: trees built with the library, the binary run on
//! them (healthy, damaged, encrypted, with a wrong key, missing, not a tree, open
//! elsewhere, without a manifest), output and exit status checked.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use lsm::fs::{Fs, OpenOptions, StdFs};
use lsm::{AbstractTree, AnyTree, Config, KvSeparationOptions, SequenceNumberCounter};

const KEY_HEX: &str = "4242424242424242424242424242424242424242424242424242424242424242";

fn lsm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lsm"))
        .args(args)
        .output()
        .unwrap()
}

fn lsm_with_env(args: &[&str], var: &str, value: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lsm"))
        .args(args)
        .env(var, value)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn status(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    let file = StdFs.open(path, OpenOptions::read()).unwrap();
    let mut bytes = vec![0; usize::try_from(file.len().unwrap()).unwrap()];
    file.read_exact_at(&mut bytes, 0).unwrap();
    bytes
}

fn write(path: &Path, bytes: &[u8]) {
    let options = OpenOptions {
        truncate: true,
        ..OpenOptions::write()
    };
    let file = StdFs.open(path, options).unwrap();
    file.append(bytes).unwrap();
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = StdFs
        .read_dir(dir)
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .collect();
    files.sort();
    files
}

/// A tree of keys `key-0000..` in three flushed rounds (the last overwrites a tenth of
/// the keys at higher seqnos), values long enough to be separated when `blob` is set.
fn build(dir: &Path, blob: bool, encrypted: bool) -> AnyTree {
    let mut config = Config::new(
        dir,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    );
    if blob {
        config = config.with_kv_separation(Some(
            KvSeparationOptions::default().separation_threshold(32),
        ));
    }
    if encrypted {
        let key = [0x42; 32];
        config = config.with_encryption(Some(Arc::new(lsm::Aes256GcmProvider::new(&key))));
    }
    let tree = config.open().unwrap();
    let mut seqno = 0;
    for round in 0..3_u32 {
        let keys = if round == 2 {
            0..30
        } else {
            round * 150..round * 150 + 150
        };
        for key in keys {
            let value = format!("value-{round}-{key}-{}", "x".repeat(40));
            tree.insert(format!("key-{key:04}"), value, seqno);
            seqno += 1;
        }
        tree.flush_active_memtable(0).unwrap();
    }
    tree
}

#[test]
fn a_healthy_tree_verifies_reads_and_describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    drop(build(dir.path(), true, false));
    let tree = path(dir.path());

    let verify = lsm(&["verify", tree]);
    assert_eq!(status(&verify), 0, "{}", stderr(&verify));
    assert!(stdout(&verify).contains("no damage"), "{}", stdout(&verify));
    let verify = lsm(&["verify", tree, "--json", "--threads", "2"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(report["ok"], true);
    assert!(
        report["files_checked"].as_u64().unwrap() >= 5,
        "tables, blob files, manifest"
    );

    let get = lsm(&["get", tree, "key-0003"]);
    assert_eq!(status(&get), 0);
    assert!(stdout(&get).starts_with("value-2-3-"), "the newest version");
    let old = lsm(&["get", tree, "key-0003", "--seqno", "10"]);
    assert!(stdout(&old).starts_with("value-0-3-"), "as of seqno 10");
    let hex = lsm(&[
        "get",
        tree,
        "6b65792d30303033",
        "--hex-keys",
        "--format",
        "hex",
    ]);
    assert!(
        stdout(&hex).starts_with("76616c75652d322d332d"),
        "{}",
        stdout(&hex)
    );
    let missing = lsm(&["get", tree, "nope"]);
    assert_eq!(status(&missing), 1);
    assert!(stderr(&missing).contains("not found"));

    let scan = lsm(&["scan", tree, "--prefix", "key-01", "--limit", "5"]);
    let lines: Vec<String> = stdout(&scan).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("key-0100\tvalue-0-100-"));
    let reverse = lsm(&[
        "scan",
        tree,
        "--from",
        "key-0010",
        "--to",
        "key-0020",
        "--reverse",
        "--format",
        "json",
    ]);
    let pairs: Vec<serde_json::Value> = stdout(&reverse)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(pairs.len(), 10);
    assert_eq!(pairs[0]["key"], "key-0019");
    assert_eq!(pairs[9]["key"], "key-0010");

    let stats = lsm(&["stats", tree]);
    assert_eq!(status(&stats), 0);
    assert!(
        stdout(&stats).contains("L0") && stdout(&stats).contains("blob files: "),
        "{}",
        stdout(&stats)
    );
    let stats = lsm(&["stats", tree, "--json"]);
    let figures: serde_json::Value = serde_json::from_str(&stdout(&stats)).unwrap();
    assert_eq!(figures["tables"], 3);
    assert!(!figures["blob_files"].as_array().unwrap().is_empty());

    let table = files(&dir.path().join("tables"))[0].clone();
    let dump = lsm(&[
        "dump",
        table.to_str().unwrap(),
        "--index",
        "--entries",
        "--limit",
        "3",
    ]);
    assert_eq!(status(&dump), 0, "{}", stderr(&dump));
    let text = stdout(&dump);
    assert!(
        text.contains("entries") && text.contains("indirection") && text.contains("last key"),
        "{text}"
    );
    let dump = lsm(&["dump", table.to_str().unwrap(), "--json", "--entries"]);
    let dumped: serde_json::Value = serde_json::from_str(&stdout(&dump)).unwrap();
    assert_eq!(dumped["kind"], "table");
    assert_eq!(dumped["properties"]["entries"], "150");
    let blob = files(&dir.path().join("blobs"))[0].clone();
    let dump = lsm(&["dump", blob.to_str().unwrap(), "--entries"]);
    assert_eq!(status(&dump), 0, "{}", stderr(&dump));
    assert!(stdout(&dump).contains("frames"));
    let one = lsm(&["verify", blob.to_str().unwrap()]);
    assert_eq!(status(&one), 0, "{}", stdout(&one));
}

#[test]
fn damage_is_found_and_named_with_a_failing_status() {
    let dir = tempfile::tempdir().unwrap();
    drop(build(dir.path(), false, false));
    let table = files(&dir.path().join("tables"))[1].clone();
    let mut bytes = read(&table);
    bytes[60] ^= 0x10;
    write(&table, &bytes);

    let verify = lsm(&["verify", path(dir.path())]);
    assert_eq!(status(&verify), 1);
    let text = stdout(&verify);
    assert!(
        text.contains("DAMAGED table") && text.contains(table.to_str().unwrap()),
        "{text}"
    );
    let json = lsm(&["verify", path(dir.path()), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["errors"][0]["kind"], "table");
    let one = lsm(&["verify", table.to_str().unwrap()]);
    assert_eq!(status(&one), 1);
}

#[test]
fn an_encrypted_tree_takes_its_key_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    drop(build(dir.path(), false, true));
    let tree = path(dir.path());
    let keys = tempfile::tempdir().unwrap();
    let right = keys.path().join("right");
    write(&right, format!("{KEY_HEX}\n").as_bytes());
    let wrong = keys.path().join("wrong");
    write(&wrong, &[7; 32]);
    let garbage = keys.path().join("garbage");
    write(&garbage, b"not a key");

    let without = lsm(&["get", tree, "key-0001"]);
    assert_eq!(status(&without), 4, "{}", stderr(&without));
    let wrong_key = lsm(&[
        "get",
        tree,
        "key-0001",
        "--key-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(status(&wrong_key), 4, "{}", stderr(&wrong_key));
    assert!(stderr(&wrong_key).contains("key"));
    let bad_file = lsm(&["verify", tree, "--key-file", garbage.to_str().unwrap()]);
    assert_eq!(status(&bad_file), 4);
    let unset = lsm(&["verify", tree, "--key-env", "LSM_TEST_NO_SUCH_VARIABLE"]);
    assert_eq!(status(&unset), 4);

    let with_file = lsm(&[
        "get",
        tree,
        "key-0001",
        "--key-file",
        right.to_str().unwrap(),
    ]);
    assert_eq!(status(&with_file), 0, "{}", stderr(&with_file));
    assert!(stdout(&with_file).starts_with("value-2-1-"));
    let with_env = lsm_with_env(
        &["verify", tree, "--key-env", "LSM_TEST_KEY"],
        "LSM_TEST_KEY",
        KEY_HEX,
    );
    assert_eq!(status(&with_env), 0, "{}", stderr(&with_env));
    // The key is never an argument.
    let as_argument = lsm(&["get", tree, "key-0001", "--key", KEY_HEX]);
    assert_eq!(status(&as_argument), 2);
}

#[test]
fn a_missing_directory_a_stranger_and_a_locked_tree_get_their_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let output = lsm(&["stats", missing.to_str().unwrap()]);
    assert_eq!(status(&output), 3);
    assert!(stderr(&output).contains("does not exist"));
    assert!(!missing.exists(), "a command never creates a tree");

    let stranger = dir.path().join("stranger");
    StdFs.create_dir_all(&stranger).unwrap();
    write(&stranger.join("notes.txt"), b"hello");
    let output = lsm(&["verify", stranger.to_str().unwrap()]);
    assert_eq!(status(&output), 3, "{}", stderr(&output));
    let output = lsm(&["dump", stranger.join("notes.txt").to_str().unwrap()]);
    assert_eq!(status(&output), 3, "{}", stderr(&output));

    let tree_dir = dir.path().join("tree");
    let tree = build(&tree_dir, false, false);
    let output = lsm(&["verify", tree_dir.to_str().unwrap()]);
    assert_eq!(status(&output), 5, "{}", stderr(&output));
    drop(tree);
    assert_eq!(status(&lsm(&["verify", tree_dir.to_str().unwrap()])), 0);

    let usage = lsm(&["frobnicate"]);
    assert_eq!(status(&usage), 2);
}

#[test]
fn a_tree_without_its_manifest_is_repaired_by_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    drop(build(dir.path(), true, false));
    let tree = path(dir.path());
    for file in files(dir.path()) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name == "current" || name.starts_with("manifest-") {
            StdFs.remove_file(&file).unwrap();
        }
    }
    let refused = lsm(&["get", tree, "key-0001"]);
    assert_eq!(status(&refused), 6);
    assert!(
        stderr(&refused).contains("lsm repair"),
        "{}",
        stderr(&refused)
    );
    let repair = lsm(&["repair", tree, "--json"]);
    assert_eq!(status(&repair), 0, "{}", stderr(&repair));
    let report: serde_json::Value = serde_json::from_str(&stdout(&repair)).unwrap();
    assert_eq!(report["recovered"], 3);
    let get = lsm(&["get", tree, "key-0001"]);
    assert_eq!(status(&get), 0);
    assert!(stdout(&get).starts_with("value-2-1-"));
}

#[test]
fn a_tree_with_a_level_route_is_opened_with_its_route() {
    let dir = tempfile::tempdir().unwrap();
    let cold = dir.path().join("cold");
    let tree = Config::new(
        dir.path().join("db"),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .level_route(1, &cold)
    .open()
    .unwrap();
    for i in 0..300_u32 {
        tree.insert(format!("key-{i:04}"), format!("value-{i}"), u64::from(i));
    }
    tree.flush_active_memtable(0).unwrap();
    tree.major_compact(64 << 20, lsm::SeqNo::MAX).unwrap();
    drop(tree);
    let db = dir.path().join("db");
    let route = format!("1={}", cold.display());
    let get = lsm(&["get", path(&db), "key-0007", "--route", &route]);
    assert_eq!(status(&get), 0, "{}", stderr(&get));
    assert_eq!(stdout(&get).trim(), "value-7");
    let verify = lsm(&["verify", path(&db), "--route", &route]);
    assert_eq!(status(&verify), 0, "{}", stderr(&verify));
    // Without the route the table is missing: a failure, not an empty tree.
    let without = lsm(&["get", path(&db), "key-0007"]);
    assert_ne!(status(&without), 0);
    assert_ne!(
        status(&without),
        1,
        "not a negative answer: {}",
        stderr(&without)
    );
    let bad = lsm(&["get", path(&db), "key-0007", "--route", "one"]);
    assert_eq!(status(&bad), 2);
}

#[test]
fn compact_and_checkpoint_change_the_tree_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    drop(build(dir.path(), false, false));
    let tree = path(dir.path());
    let compact = lsm(&["compact", tree, "--major"]);
    assert_eq!(status(&compact), 0, "{}", stderr(&compact));
    let stats: serde_json::Value =
        serde_json::from_str(&stdout(&lsm(&["stats", tree, "--json"]))).unwrap();
    let levels = stats["levels"].as_array().unwrap();
    let with_tables: Vec<_> = levels.iter().filter(|level| level["tables"] != 0).collect();
    assert_eq!(with_tables.len(), 1, "{stats}");
    assert_eq!(with_tables[0]["entries"], 300, "old versions are gone");

    let target = dir.path().join("copy");
    let checkpoint = lsm(&["checkpoint", tree, target.to_str().unwrap()]);
    assert_eq!(status(&checkpoint), 0, "{}", stderr(&checkpoint));
    assert_eq!(status(&lsm(&["verify", target.to_str().unwrap()])), 0);
    let again = lsm(&["checkpoint", tree, target.to_str().unwrap()]);
    assert_eq!(status(&again), 6, "the target exists");
}

#[test]
fn the_tree_is_drawn_as_svg_and_html_and_the_picture_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let tree = build(dir.path(), true, false);
        tree.major_compact(8 << 10, 0).unwrap();
        tree.insert("key-0005", "newer", 1_000);
        tree.flush_active_memtable(0).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let svg_path = out.path().join("tree.svg");
    let html_path = out.path().join("tree.html");
    let output = lsm(&[
        "tree",
        path(dir.path()),
        "--svg",
        svg_path.to_str().unwrap(),
        "--html",
        html_path.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let svg = String::from_utf8(read(&svg_path)).unwrap();
    assert!(
        svg.contains("<title>table ") && svg.contains("blob file "),
        "boxes are named"
    );
    assert!(svg.contains(">L0<") && svg.contains(">L6<"), "{svg}");
    let html = String::from_utf8(read(&html_path)).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));

    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    let png = pixmap.encode_png().unwrap();
    assert!(png.len() > 1_000, "{} bytes of PNG", png.len());
    let drawn = pixmap
        .pixels()
        .iter()
        .filter(|pixel| pixel.red() < 200 || pixel.green() < 200 || pixel.blue() < 200)
        .count();
    assert!(drawn > 2_000, "{drawn} dark pixels: the boxes are drawn");
}
