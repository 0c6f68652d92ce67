//! Golden tree directories of today's formats under `tests/fixtures/v1/`: every file a
//! tree writes (tables of two option sets, blob files, the manifest's snapshot and edit
//! log), written once by a deterministic workload and checked in. Each must keep opening
//! and answer exactly as a tree freshly built by the same workload does (every read at
//! several snapshots, scans from both ends, point reads, sizes), so a format change that
//! breaks old trees fails here. `cargo xtask fixtures` writes missing fixture trees
//! (`LSM_WRITE_FIXTURES=1`); an existing one is never rewritten.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm::compaction::Leveled;
use lsm::{
    AbstractTree, AnyTree, CompressionType, Config, Fs, Guard, KvSeparationOptions, MemFs, SeqNo,
    SequenceNumberCounter,
};
use lsm_core::StdFs;

#[path = "support/common.rs"]
mod common;
use common::Concat;

/// The fixture trees: name and whether values are separated (with zstd blocks).
const TREES: &[(&str, bool)] = &[("tree_plain", false), ("tree_blob_zstd", true)];

/// Where the fixture trees live.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn config(fs: &Arc<dyn Fs>, separated: bool) -> Config {
    let config = Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs))
    .with_merge_operator(Some(Arc::new(Concat)))
    // Small enough that the workload's edits roll the manifest into a snapshot and
    // then append to a fresh edit log.
    .manifest_log_rotate_bytes(1 << 10);
    if separated {
        config
            .data_block_compression_policy(lsm::config::CompressionPolicy::all(
                CompressionType::zstd(3).unwrap(),
            ))
            .with_kv_separation(Some(
                KvSeparationOptions::default()
                    .separation_threshold(48)
                    .file_target_size(4 << 10)
                    .compression(CompressionType::zstd(3).unwrap()),
            ))
    } else {
        config
    }
}

fn key(idx: u32) -> String {
    format!("key:{:05}", idx * 7919 % 2_003)
}

fn value(idx: u32, round: u32) -> String {
    format!(
        "{{\"idx\":{idx},\"round\":{round},\"text\":\"{}\"}}",
        "v".repeat((idx % 90) as usize)
    )
}

/// The workload: inserts over several flushes, overwrites, deletes (strong, weak and
/// ranges), merges, and compactions, leaving tables in several levels and data in the
/// memtable's last flush. Returns the seqnos at which the test reads.
fn build(tree: &AnyTree) -> Vec<SeqNo> {
    let mut seqno = 1;
    let mut next = || {
        seqno += 1;
        seqno
    };
    let mut snapshots = Vec::new();
    let strategy = Arc::new(
        Leveled::default()
            .with_l0_threshold(2)
            .with_table_target_size(8 << 10),
    );
    for round in 0..6_u32 {
        for idx in (round * 150)..(round * 150 + 300) {
            tree.insert(key(idx), value(idx, round), next());
        }
        for idx in (0..300).step_by(17) {
            tree.merge(key(idx + round), format!("+{round}"), next());
        }
        for idx in (0..300).step_by(29) {
            tree.remove(key(idx + round * 3), next());
        }
        if round == 2 {
            tree.remove_weak(key(5), next());
            tree.remove_range("key:00100", "key:00200", next());
        }
        snapshots.push(next());
        tree.flush_active_memtable(0).unwrap();
        while tree.compact(strategy.clone(), 0).unwrap().action
            != lsm::compaction::CompactionAction::Nothing
        {}
    }
    tree.insert("key:99999", "last", next());
    tree.flush_active_memtable(0).unwrap();
    snapshots.push(next());
    snapshots
}

/// Every file under `dir` on `fs`, as paths relative to `dir` (the lock file left out).
fn files(fs: &dyn Fs, dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs.read_dir(dir).unwrap() {
        if entry.is_dir {
            found.extend(
                files(fs, &entry.path)
                    .into_iter()
                    .map(|path| entry.path.strip_prefix(dir).unwrap().join(path)),
            );
        } else if entry.path.file_name() != Some("lock".as_ref()) {
            found.push(entry.path.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    found.sort();
    found
}

/// The fixture tree `name`, written from a fresh build when it is missing and writing
/// is enabled, loaded into a new in-memory file system at `/db`.
fn load_fixture(name: &str, separated: bool) -> Arc<dyn Fs> {
    let dir = fixtures_dir().join(name);
    let writing = std::env::var("LSM_WRITE_FIXTURES").as_deref() == Ok("1");
    if writing && !StdFs.exists(&dir).unwrap() {
        let fresh: Arc<dyn Fs> = Arc::new(MemFs::new());
        drop(build(&config(&fresh, separated).open().unwrap()));
        for relative in files(fresh.as_ref(), Path::new("/db")) {
            let bytes =
                lsm_core::fs::read_all(fresh.as_ref(), &Path::new("/db").join(&relative)).unwrap();
            let target = dir.join(&relative);
            let written = lsm_testkit::fixtures::fixture(
                target.parent().unwrap(),
                target.file_name().unwrap().to_str().unwrap(),
                &bytes,
            );
            assert_eq!(written, bytes);
        }
    }
    assert!(
        StdFs.exists(&dir).unwrap(),
        "fixture tree {} is missing (run `cargo xtask fixtures`)",
        dir.display()
    );
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    for relative in files(&StdFs, &dir) {
        let bytes = lsm_core::fs::read_all(&StdFs, &dir.join(&relative)).unwrap();
        let target = Path::new("/db").join(&relative);
        fs.create_dir_all(target.parent().unwrap()).unwrap();
        let file = fs
            .open(&target, lsm_core::OpenOptions::create_new())
            .unwrap();
        file.append(&bytes).unwrap();
        file.sync_all().unwrap();
    }
    fs
}

/// Everything a reader can ask of `tree` at `seqno`.
fn answers(tree: &AnyTree, seqno: SeqNo) -> Vec<String> {
    let mut out = Vec::new();
    for item in tree.iter(seqno, None) {
        let (key, value) = item.into_inner().unwrap();
        out.push(format!("{key:?}={value:?}"));
    }
    let backwards: Vec<_> = tree
        .iter(seqno, None)
        .rev()
        .map(|item| item.key().unwrap())
        .collect();
    out.push(format!("{} keys backwards", backwards.len()));
    for idx in (0..1_000).step_by(37) {
        out.push(format!(
            "{}: {:?} {:?}",
            key(idx),
            tree.get(key(idx), seqno).unwrap(),
            tree.size_of(key(idx), seqno).unwrap()
        ));
    }
    out.push(format!(
        "range {}",
        tree.range("key:00500".."key:01000", seqno, None).count()
    ));
    out
}

#[test]
fn fixture_trees_open_and_answer_as_a_fresh_tree_does() {
    let started = std::time::Instant::now();
    for &(name, separated) in TREES {
        let fs = load_fixture(name, separated);
        let stored = config(&fs, separated).open().unwrap();
        let fresh_fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let fresh = config(&fresh_fs, separated).open().unwrap();
        let snapshots = build(&fresh);
        // After a reopen, history below the last flush is what the tables hold.
        drop(fresh);
        let fresh = config(&fresh_fs, separated).open().unwrap();
        assert!(stored.table_count() > 1, "{name}: tables in the fixture");
        assert_eq!(stored.table_count(), fresh.table_count(), "{name}");
        assert_eq!(stored.blob_file_count(), fresh.blob_file_count(), "{name}");
        if separated {
            assert!(
                stored.blob_file_count() > 0,
                "{name}: blob files in the fixture"
            );
        }
        for &seqno in snapshots.iter().chain([&SeqNo::MAX]) {
            assert_eq!(
                answers(&stored, seqno),
                answers(&fresh, seqno),
                "{name} at {seqno}"
            );
        }
        // Files from before whole-file digests verify by their blocks; a fresh tree's
        // by their digests too.
        for tree in [&stored, &fresh] {
            let report = lsm::verify::verify_integrity(tree);
            assert!(report.is_ok(), "{name}: {:?}", report.errors);
        }
        // The fixture's manifest rolled at least once: a later generation, a snapshot
        // and the edits after it.
        let generations: Vec<u64> = files(fs.as_ref(), Path::new("/db"))
            .iter()
            .filter_map(|path| path.to_str()?.strip_prefix("manifest-")?.parse().ok())
            .collect();
        assert!(
            generations.iter().any(|&generation| generation >= 2),
            "{name}: manifest generations {generations:?}"
        );
    }
    lsm_testkit::reliability::record(
        "G11",
        "golden_tree: format-1 trees (plain; blob files, zstd) answer as fresh ones",
        TREES.len() as u64,
        "fixture trees",
        started,
    );
}

/// A table or a manifest of a format version this build does not know (a later one) is
/// refused with a typed `UnsupportedFormatVersion`, never read as damage or as data.
#[test]
fn files_of_a_future_format_version_are_refused_with_a_typed_error() {
    let started = std::time::Instant::now();
    let fresh = || {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = config(&fs, false).open().unwrap();
        tree.insert("a", "1", 0);
        tree.flush_active_memtable(0).unwrap();
        drop(tree);
        fs
    };
    let read = |fs: &Arc<dyn Fs>, path: &Path| lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    let write = |fs: &Arc<dyn Fs>, path: &Path, bytes: &[u8]| {
        let file = fs.open(path, lsm::fs::OpenOptions::write()).unwrap();
        file.write_all_at(bytes, 0).unwrap();
    };
    let digest = |bytes: &[u8]| {
        lsm_core::checksum::Checksum::of(bytes)
            .into_raw()
            .to_le_bytes()
    };

    // A table footer (its last 64 bytes) naming version 99, its checksum made good.
    let fs = fresh();
    let table = Path::new("/db/tables").join(&files(fs.as_ref(), Path::new("/db/tables"))[0]);
    let mut bytes = read(&fs, &table);
    let footer = bytes.len() - 64;
    bytes[footer + 8] = 99;
    let sum = digest(&bytes[footer..footer + 56]);
    bytes[footer + 56..].copy_from_slice(&sum);
    write(&fs, &table, &bytes);
    let error = config(&fs, false).open().unwrap_err();
    assert!(
        matches!(
            error,
            lsm::Error::Table(lsm_table::Error::UnsupportedFormatVersion { .. })
        ),
        "{error:?}"
    );

    // A manifest snapshot (the first record: length u32, XXH3-64 u64, payload) naming
    // version 99.
    let fs = fresh();
    let manifest = files(fs.as_ref(), Path::new("/db"))
        .into_iter()
        .find(|path| {
            path.to_str()
                .is_some_and(|name| name.starts_with("manifest-"))
        })
        .map(|name| Path::new("/db").join(name))
        .unwrap();
    let mut bytes = read(&fs, &manifest);
    let len = usize::try_from(u32::from_le_bytes(bytes[..4].try_into().unwrap())).unwrap();
    bytes[13] = 99;
    let sum = digest(&bytes[12..12 + len]);
    bytes[4..12].copy_from_slice(&sum);
    write(&fs, &manifest, &bytes);
    let error = config(&fs, false).open().unwrap_err();
    assert!(
        matches!(
            error,
            lsm::Error::Manifest(lsm_version::Error::UnsupportedFormatVersion { .. })
        ),
        "{error:?}"
    );
    lsm_testkit::reliability::record(
        "G11",
        "golden_tree: a table and a manifest of a future version refused, typed",
        2,
        "future-version files",
        started,
    );
}
