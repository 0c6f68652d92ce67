//! Crash-point enumeration over flushes, manifest roll-overs and a `clear` (workloads
//! W1, W7 and W8 of the reliability spec): the workload is cut at every mutating I/O,
//! each cut is turned into a crash image under every crash model, and the image must
//! open, hold exactly the state of a version change at or after the last acknowledged
//! one, stay writable, and hold no orphan table after a second open.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lsm::{AbstractTree, AnyTree, Config, Fs, Guard, SequenceNumberCounter};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

type State = BTreeMap<Vec<u8>, Vec<u8>>;

const ROUNDS: usize = 6;
const WRITES_PER_ROUND: usize = 14;
const CLEAR_AFTER_ROUND: usize = 3;

fn open(fs: &SimFs, seqno: &SequenceNumberCounter) -> lsm::Result<AnyTree> {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::new(fs.clone()))
        // Roll the manifest every few edits.
        .manifest_log_rotate_bytes(300)
        .open()
}

/// Runs the workload until it ends or an operation fails; returns how many version
/// changes were acknowledged. `states` receives the state after each change (with the
/// empty state first) on a run that completes.
fn workload(fs: &SimFs, states: &mut Vec<State>) -> usize {
    let mut rng = Rng::new(7);
    let seqno = SequenceNumberCounter::default();
    let mut state = State::new();
    states.push(state.clone());
    let Ok(tree) = open(fs, &seqno) else {
        return 0;
    };
    let mut acknowledged = 0;
    for round in 0..ROUNDS {
        for _ in 0..WRITES_PER_ROUND {
            let key = format!("key{:02}", rng.below(20)).into_bytes();
            if rng.below(5) == 0 {
                tree.remove(key.clone(), seqno.next());
                state.remove(&key);
            } else {
                let value = vec![b'a' + u8::try_from(rng.below(26)).unwrap(); 40 + rng.index(200)];
                tree.insert(key.clone(), value.clone(), seqno.next());
                state.insert(key, value);
            }
        }
        if tree.flush_active_memtable(0).is_err() {
            return acknowledged;
        }
        acknowledged += 1;
        states.push(state.clone());
        if round == CLEAR_AFTER_ROUND {
            if tree.clear().is_err() {
                return acknowledged;
            }
            acknowledged += 1;
            state.clear();
            states.push(state.clone());
        }
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

#[test]
fn every_crash_point_recovers_a_flush_boundary() {
    let dry_run = SimFs::new();
    let mut states = Vec::new();
    let total = workload(&dry_run, &mut states);
    assert_eq!(total, ROUNDS + 1);
    assert_eq!(states.len(), total + 1);
    let op_count = dry_run.op_count();
    let mut rng = Rng::from_env(11);
    let mut images = 0;
    let mut newest_held = 0;
    for crash_point in 0..op_count {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        let acknowledged = workload(&fs, &mut Vec::new());
        assert!(
            fs.is_powered_off(),
            "crash point {crash_point} was not reached"
        );
        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut rng);
            let context = format!("crash point {crash_point}, {model:?}");
            let held = check_image(&image, &states, acknowledged, &context);
            newest_held = newest_held.max(held);
            images += 1;
        }
    }
    for model in CrashModel::ALL {
        let image = dry_run.crash(model, &mut rng);
        assert_eq!(
            check_image(&image, &states, total, "after the workload"),
            total
        );
    }
    assert_eq!(
        newest_held, total,
        "the last change was durable at some crash point"
    );
    println!("{op_count} crash points, {images} images, every one a version-change boundary");
}
