//! Crash-point enumeration over flushes, manifest roll-overs and `clear` (workloads W1,
//! W7 and W8 of the reliability spec, goals G1 and G2): seeded workloads are cut at every
//! mutating I/O, each cut is turned into a crash image under every crash model, and the
//! image must open, hold exactly the state of a version change at or after the last
//! acknowledged one, stay writable, and hold no orphan table after a second open. A
//! sample of images is crashed again at every operation of its recovery.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lsm::{AbstractTree, AnyTree, Config, Fs, Guard, SequenceNumberCounter};
use lsm_testkit::ops::{Op, key, ops_from_seed, value};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// Workloads (seeds) and operations per workload.
const SEEDS: u64 = 24;
const OPS_PER_WORKLOAD: usize = 90;

fn open(fs: &SimFs, seqno: &SequenceNumberCounter) -> lsm::Result<AnyTree> {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::new(fs.clone()))
        // Roll the manifest every few edits.
        .manifest_log_rotate_bytes(300)
        .open()
}

/// Runs workload `seed` until it ends or an operation fails; returns how many version
/// changes (flushes and clears) were acknowledged. `states` receives the state after
/// each change, the empty state first.
fn workload(fs: &SimFs, seed: u64, states: &mut Vec<State>) -> usize {
    let seqno = SequenceNumberCounter::default();
    let mut state = State::new();
    states.push(state.clone());
    let Ok(tree) = open(fs, &seqno) else {
        return 0;
    };
    let mut acknowledged = 0;
    for op in ops_from_seed(seed, OPS_PER_WORKLOAD) {
        let done = match op {
            Op::Insert(k, v) => {
                tree.insert(key(k), value(v), seqno.next());
                state.insert(key(k), value(v));
                continue;
            }
            Op::Remove(k) => {
                tree.remove(key(k), seqno.next());
                state.remove(&key(k));
                continue;
            }
            Op::RemoveWeak(k) => {
                tree.remove_weak(key(k), seqno.next());
                state.remove(&key(k));
                continue;
            }
            Op::Flush(with_gc) => {
                let watermark = if with_gc { seqno.get() } else { 0 };
                tree.flush_active_memtable(watermark)
            }
            Op::Clear => {
                let cleared = tree.clear();
                state.clear();
                cleared
            }
            other => unreachable!("ops_from_seed draws no {other:?}"),
        };
        if done.is_err() {
            return acknowledged;
        }
        acknowledged += 1;
        states.push(state.clone());
    }
    acknowledged
}

fn scan(tree: &AnyTree) -> State {
    tree.iter(lsm::SeqNo::MAX, None)
        .map(|item| {
            let (key, value) = item.into_inner().unwrap();
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

fn table_files(fs: &SimFs) -> usize {
    fs.read_dir(Path::new("/db/tables"))
        .unwrap()
        .iter()
        .filter(|entry| {
            entry
                .file_name()
                .and_then(lsm::layout::parse_table_file_name)
                .is_some()
        })
        .count()
}

/// Opens a crash image and checks it; returns the index of the state it holds.
fn check_image(image: &SimFs, states: &[State], acknowledged: usize, context: &str) -> usize {
    let seqno = SequenceNumberCounter::default();
    let tree =
        open(image, &seqno).unwrap_or_else(|error| panic!("{context}: open failed: {error}"));
    let recovered = scan(&tree);
    let held = (acknowledged..=acknowledged + 1)
        .filter(|&idx| idx < states.len())
        .find(|&idx| states[idx] == recovered)
        .unwrap_or_else(|| {
            panic!(
                "{context}: recovered {} keys, not the state of change {acknowledged} or the next",
                recovered.len()
            )
        });
    // Writable, and a second open finds the new write and no orphan.
    tree.insert("after-crash", "yes", seqno.next());
    tree.flush_active_memtable(0).unwrap();
    drop(tree);
    let tree = open(image, &seqno).unwrap();
    assert_eq!(
        tree.get("after-crash", lsm::SeqNo::MAX).unwrap().as_deref(),
        Some(&b"yes"[..]),
        "{context}"
    );
    assert_eq!(
        table_files(image),
        tree.table_count(),
        "{context}: orphan tables left"
    );
    held
}

/// Crashes workload `seed` at every operation under every model and checks each
/// image; every seventh image is also crashed at every operation of its recovery
/// (double faults) and checked again. Returns (images, recovery crash images).
fn enumerate(seed: u64, rng: &mut Rng) -> (usize, usize) {
    let dry_run = SimFs::new();
    let mut states = Vec::new();
    let total = workload(&dry_run, seed, &mut states);
    assert_eq!(states.len(), total + 1);
    let (mut images, mut double_faults, mut newest_held) = (0, 0, 0);
    for crash_point in 0..dry_run.op_count() {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        let acknowledged = workload(&fs, seed, &mut Vec::new());
        assert!(
            fs.is_powered_off(),
            "seed {seed}: crash point {crash_point} was not reached"
        );
        for model in CrashModel::ALL {
            let image = fs.crash(model, rng);
            images += 1;
            if images % 7 == 0 {
                double_faults +=
                    crash_recovery(&image, &states, acknowledged, rng, seed, crash_point);
            }
            let context = format!("seed {seed}, crash point {crash_point}, {model:?}");
            newest_held = newest_held.max(check_image(&image, &states, acknowledged, &context));
        }
    }
    for model in CrashModel::ALL {
        let image = dry_run.crash(model, rng);
        assert_eq!(
            check_image(&image, &states, total, "after the workload"),
            total
        );
    }
    assert_eq!(
        newest_held, total,
        "seed {seed}: the last change was durable at some crash point"
    );
    (images, double_faults)
}

/// Crashes the recovery of `image` at each of its operations and checks the result.
fn crash_recovery(
    image: &SimFs,
    states: &[State],
    acknowledged: usize,
    rng: &mut Rng,
    seed: u64,
    crash_point: u64,
) -> usize {
    let probe = image.crash(CrashModel::KeepAll, rng);
    let start = probe.op_count();
    drop(open(&probe, &SequenceNumberCounter::default()));
    let recovery_ops = probe.op_count() - start;
    let mut checked = 0;
    for recovery_op in 0..recovery_ops {
        let copy = image.crash(CrashModel::KeepAll, rng);
        copy.crash_at(copy.op_count() + recovery_op);
        assert!(open(&copy, &SequenceNumberCounter::default()).is_err());
        let model = CrashModel::ALL[rng.index(CrashModel::ALL.len())];
        let again = copy.crash(model, rng);
        let context =
            format!("seed {seed}, crash point {crash_point}, recovery op {recovery_op}, {model:?}");
        check_image(&again, states, acknowledged, &context);
        checked += 1;
    }
    checked
}

#[test]
fn every_crash_point_recovers_a_version_change_boundary() {
    let mut rng = Rng::from_env(11);
    let (mut images, mut double_faults) = (0, 0);
    for seed in 0..SEEDS {
        let (seed_images, seed_double_faults) = enumerate(seed, &mut rng);
        images += seed_images;
        double_faults += seed_double_faults;
    }
    assert!(images >= 10_000, "{images} images");
    println!(
        "{SEEDS} workloads, {images} crash images and {double_faults} crashes during recovery, every one a version-change boundary"
    );
}
