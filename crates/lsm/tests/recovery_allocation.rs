//! Allocation during recovery on adversarial files (goal G12 of the reliability spec):
//! in every file of a small tree (the manifest, the pointer to it, tables, blob files),
//! four bytes at a time are forced to `0xff`, the largest length a field can claim, and
//! the tree is opened and read under a counting allocator. Whatever the open says, no
//! single allocation may exceed a bound far below what the damaged lengths claim.
//!
//! Alone in its test binary: the allocator counts every thread of the process.

#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "../../lsm-codec/tests/support/counting_alloc.rs"]
mod counting_alloc;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use lsm::fs::{Fs, OpenOptions};
use lsm::{AbstractTree, Config, Guard, KvSeparationOptions, MemFs, SeqNo};

/// The largest single allocation an open and a read of the damaged tree may make: the
/// tree is 100 KiB; a length believed blindly would ask for up to 4 GiB.
const ALLOCATION_MAX: usize = 16 << 20;

#[path = "support/common.rs"]
mod common;

fn config(fs: &Arc<dyn Fs>) -> Config {
    common::config_on(fs).with_kv_separation(Some(
        KvSeparationOptions::default().separation_threshold(100),
    ))
}

/// Every file of the tree: the manifest files in its directory, its tables and blob
/// files.
fn files(fs: &dyn Fs) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["/db", "/db/tables", "/db/blobs"] {
        for entry in fs.read_dir(Path::new(dir)).unwrap() {
            let name = entry.file_name().unwrap_or_default();
            if !entry.is_dir && name != "lock" {
                files.push(entry.path);
            }
        }
    }
    files
}

fn read_file(fs: &dyn Fs, path: &Path) -> Vec<u8> {
    let file = fs.open(path, OpenOptions::read()).unwrap();
    let mut bytes = vec![0; usize::try_from(file.len().unwrap()).unwrap()];
    file.read_exact_at(&mut bytes, 0).unwrap();
    bytes
}

fn write_file(fs: &dyn Fs, path: &Path, bytes: &[u8]) {
    let options = OpenOptions {
        truncate: true,
        ..OpenOptions::write()
    };
    let file = fs.open(path, options).unwrap();
    file.write_all_at(bytes, 0).unwrap();
}

/// Opens and reads the tree at `fs`: the largest allocation made, and whether the
/// open and the reads went through without an error.
fn open_tracked(fs: &Arc<dyn Fs>) -> (usize, bool) {
    let (clean, largest) = counting_alloc::largest_allocation(|| match config(fs).open() {
        Ok(tree) => {
            let scanned = tree.iter(SeqNo::MAX, None).all(|item| item.key().is_ok());
            scanned && tree.get("key0100", SeqNo::MAX).is_ok()
        }
        Err(_) => false,
    });
    (largest, clean)
}

#[test]
fn no_damaged_length_makes_recovery_allocate_beyond_a_bound() {
    let started = Instant::now();
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    {
        let tree = config(&fs).open().unwrap();
        for round in 0..3_u64 {
            for i in 0..300_u64 {
                let value = if i % 3 == 0 { 150 } else { 20 };
                tree.insert(
                    format!("key{i:04}"),
                    vec![b'a' + u8::try_from(round).unwrap(); value],
                    round * 1_000 + i,
                );
            }
            tree.flush_active_memtable(0).unwrap();
        }
        tree.major_compact(16 << 10, 0).unwrap();
        tree.insert("key9999", "last", 10_000);
        tree.flush_active_memtable(0).unwrap();
    }
    let (clean, no_error) = open_tracked(&fs);
    assert!(no_error);
    let (mut cases, mut refused, mut largest) = (0_u64, 0_u64, clean);
    for path in files(fs.as_ref()) {
        let original = read_file(fs.as_ref(), &path);
        // Every fourth byte of the small files; every 61st of the larger ones, and
        // their last 64 bytes (footers and trailers) whole.
        let step = if original.len() < 4 << 10 { 4 } else { 61 };
        let positions = (0..original.len())
            .step_by(step)
            .chain(original.len().saturating_sub(64)..original.len());
        for at in positions {
            let mut damaged = original.clone();
            let end = (at + 4).min(damaged.len());
            damaged[at..end].fill(0xff);
            write_file(fs.as_ref(), &path, &damaged);
            let (allocated, no_error) = open_tracked(&fs);
            refused += u64::from(!no_error);
            assert!(
                allocated <= ALLOCATION_MAX,
                "{} with 0xff at {at}: an allocation of {allocated} bytes",
                path.display()
            );
            largest = largest.max(allocated);
            cases += 1;
        }
        write_file(fs.as_ref(), &path, &original);
    }
    println!(
        "{cases} damaged opens ({refused} refused or failing a read): the largest allocation {largest} bytes (a clean open: {clean})"
    );
    assert!(refused > cases / 3, "damage is found: {refused} of {cases}");
    lsm_testkit::reliability::record(
        "G12",
        "recovery_allocation: lengths forced to 0xff in every file, allocation counted",
        cases,
        "cases",
        started,
    );
}
