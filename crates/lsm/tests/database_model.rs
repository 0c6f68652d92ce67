//! The `Database` against an in-memory model through thousands of crashes: random
//! writes and batches over two keyspaces with mixed durability, a crash under a random
//! model of the simulated file system every ~200 operations, and a reopen whose state
//! must be the model's after some operation at or past the last one acknowledged as
//! durable (nothing acknowledged lost, no hole, batches whole). The recovered state
//! then becomes the model's, and the next cycle goes on from it.
//!
//! `LSM_DB_MODEL_CYCLES` sets the cycle count (default 2,000).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "support/common.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use lsm::{Database, Durability, Guard, KeyspaceCreateOptions};
use lsm_testkit::ops::concat;
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

type State = [BTreeMap<Vec<u8>, Vec<u8>>; 2];

const NAMES: [&str; 2] = ["left", "right"];

fn options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default()
        .max_memtable_size(4 << 10)
        .with_merge_operator(Some(Arc::new(common::Concat)))
        // A small manifest log, rewritten often: each of the thousands of reopens
        // reads it whole.
        .with_config(|config| config.manifest_log_rotate_bytes(16 << 10))
}

fn open(fs: &SimFs) -> lsm::Result<Database> {
    let mut builder = Database::builder("/db")
        .with_fs(Arc::new(fs.clone()))
        .journal_segment_size(4 << 10)
        .max_write_buffer_size(16 << 10);
    for name in NAMES {
        builder = builder.keyspace_options(name, options);
    }
    builder.open()
}

fn key(rng: &mut Rng) -> Vec<u8> {
    format!("k{:02}", rng.below(40)).into_bytes()
}

fn value(rng: &mut Rng, op: usize) -> Vec<u8> {
    format!("{op}.{}", "v".repeat(rng.index(40))).into_bytes()
}

/// One change to the model: what it does to `state[keyspace]`.
enum Change {
    Insert(usize, Vec<u8>, Vec<u8>),
    Remove(usize, Vec<u8>),
    Merge(usize, Vec<u8>, Vec<u8>),
    RemoveRange(usize, Vec<u8>, Vec<u8>),
}

impl Change {
    fn apply_to(&self, state: &mut State) {
        match self {
            Self::Insert(ks, key, value) => {
                state[*ks].insert(key.clone(), value.clone());
            }
            Self::Remove(ks, key) => {
                state[*ks].remove(key);
            }
            Self::Merge(ks, key, operand) => {
                let merged = concat(state[*ks].get(key).map(Vec::as_slice), &[operand]);
                state[*ks].insert(key.clone(), merged);
            }
            Self::RemoveRange(ks, start, end) => {
                state[*ks].retain(|key, _| key < start || key >= end);
            }
        }
    }
}

fn random_change(rng: &mut Rng, op: usize) -> Change {
    let ks = rng.index(2);
    match rng.below(10) {
        0..=4 => Change::Insert(ks, key(rng), value(rng, op)),
        5..=6 => Change::Remove(ks, key(rng)),
        7..=8 => Change::Merge(ks, key(rng), format!("+{op}").into_bytes()),
        _ => {
            let (a, b) = (key(rng), key(rng));
            Change::RemoveRange(ks, a.clone().min(b.clone()), a.max(b))
        }
    }
}

fn read_state(db: &Database) -> State {
    let mut state = State::default();
    for (ks, name) in NAMES.iter().enumerate() {
        let keyspace = db.keyspace(name, options).unwrap();
        for item in keyspace.iter() {
            let (key, value) = item.into_inner().unwrap();
            state[ks].insert(key.to_vec(), value.to_vec());
        }
    }
    state
}

#[test]
fn the_database_matches_its_model_through_thousands_of_crashes() {
    let cycles: usize = std::env::var("LSM_DB_MODEL_CYCLES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(2_000);
    let cycles = lsm_testkit::reliability::scaled_usize(cycles);
    let started = std::time::Instant::now();
    let mut rng = Rng::from_env(7);
    let mut fs = SimFs::new();
    let mut model = State::default();
    let mut op = 0;
    for cycle in 0..cycles {
        let db = open(&fs).unwrap_or_else(|error| panic!("cycle {cycle}: {error}"));
        let keyspaces: Vec<_> = NAMES
            .iter()
            .map(|name| db.keyspace(name, options).unwrap())
            .collect();
        // The model's states since the last write acknowledged as durable (under a
        // power cut, and under a process crash): recovery must land on one of them.
        let mut since_synced = vec![model.clone()];
        let mut since_flushed = vec![model.clone()];
        for _ in 0..rng.below(400) {
            op += 1;
            if rng.below(100) == 0 {
                // A clear syncs the log first and is durable when it returns: the
                // only outcome left is the state after it.
                let ks = rng.index(2);
                keyspaces[ks]
                    .clear()
                    .unwrap_or_else(|error| panic!("cycle {cycle}, op {op}: {error}"));
                model[ks].clear();
                since_synced = vec![model.clone()];
                since_flushed = vec![model.clone()];
                continue;
            }
            if rng.below(150) == 0 {
                // An ingestion syncs the log first: every write before it is durable
                // once it returns, and so is the load.
                let ks = rng.index(2);
                let keys: std::collections::BTreeSet<Vec<u8>> =
                    (0..1 + rng.below(6)).map(|_| key(&mut rng)).collect();
                let loaded: Vec<_> = keys
                    .into_iter()
                    .map(|key| (key, format!("ingested {op}").into_bytes()))
                    .collect();
                keyspaces[ks]
                    .ingest(loaded.clone())
                    .unwrap_or_else(|error| panic!("cycle {cycle}, op {op}: {error}"));
                model[ks].extend(loaded);
                since_synced = vec![model.clone()];
                since_flushed = vec![model.clone()];
                continue;
            }
            let durability = match rng.below(8) {
                0..=1 => Durability::Sync,
                2..=5 => Durability::Flush,
                _ => Durability::Buffered,
            };
            let changes: Vec<Change> = (0..1 + rng.below(4) * rng.below(2))
                .map(|_| random_change(&mut rng, op))
                .collect();
            let mut batch = db.batch().durability(durability);
            let mut applied = Vec::new();
            for change in changes {
                match &change {
                    Change::Insert(ks, key, value) => {
                        batch.insert(&keyspaces[*ks], key.clone(), value.clone());
                    }
                    Change::Remove(ks, key) => batch.remove(&keyspaces[*ks], key.clone()),
                    Change::Merge(ks, key, operand) => {
                        batch.merge(&keyspaces[*ks], key.clone(), operand.clone());
                    }
                    Change::RemoveRange(ks, start, end) => {
                        batch.remove_range(&keyspaces[*ks], start.clone(), end.clone());
                    }
                }
                applied.push(change);
            }
            let seqno = batch
                .commit()
                .unwrap_or_else(|error| panic!("cycle {cycle}, op {op}: {error}"));
            if std::env::var_os("LSM_DB_MODEL_TRACE").is_some() {
                eprintln!("op {op} seqno {seqno:?} {durability:?}");
            }
            // A range delete covers what was written before the batch, not the batch's
            // own changes: apply the ranges first, then the point changes in order.
            for change in applied
                .iter()
                .filter(|c| matches!(c, Change::RemoveRange(..)))
            {
                change.apply_to(&mut model);
            }
            for change in applied
                .iter()
                .filter(|c| !matches!(c, Change::RemoveRange(..)))
            {
                change.apply_to(&mut model);
            }
            match durability {
                Durability::Sync => {
                    since_synced.clear();
                    since_flushed.clear();
                }
                Durability::Flush => since_flushed.clear(),
                Durability::Buffered => {}
            }
            since_synced.push(model.clone());
            since_flushed.push(model.clone());
            // What was read is what the model says.
            if rng.below(50) == 0 {
                assert_eq!(read_state(&db), model, "cycle {cycle}, op {op}: a read");
            }
        }
        let crash = CrashModel::ALL[rng.index(CrashModel::ALL.len())];
        let image = fs.crash(crash, &mut rng);
        drop(keyspaces);
        drop(db);
        fs = image;
        let db = open(&fs).unwrap_or_else(|error| panic!("cycle {cycle}, {crash:?}: {error}"));
        let recovered = read_state(&db);
        if std::env::var_os("LSM_DB_MODEL_TRACE").is_some() {
            for name in NAMES {
                let keyspace = db.keyspace(name, options).unwrap();
                eprintln!(
                    "cycle {cycle} {name}: persisted {:?} tables {}",
                    lsm::AbstractTree::get_highest_persisted_seqno(keyspace.tree()),
                    lsm::AbstractTree::table_count(keyspace.tree())
                );
            }
            eprintln!(
                "cycle {cycle}: seqno {} journal {}",
                db.seqno(),
                db.journal_count()
            );
        }
        let candidates = if crash == CrashModel::KeepAll {
            &since_flushed
        } else {
            &since_synced
        };
        if !candidates.contains(&recovered) {
            let last = candidates.last().unwrap();
            for ks in 0..2 {
                let keys: std::collections::BTreeSet<_> =
                    last[ks].keys().chain(recovered[ks].keys()).collect();
                for key in keys {
                    if last[ks].get(key) != recovered[ks].get(key) {
                        eprintln!(
                            "ks {ks} {:?}: model {:?} recovered {:?}",
                            String::from_utf8_lossy(key),
                            last[ks]
                                .get(key)
                                .map(|v| String::from_utf8_lossy(v).into_owned()),
                            recovered[ks]
                                .get(key)
                                .map(|v| String::from_utf8_lossy(v).into_owned())
                        );
                    }
                }
            }
        }
        assert!(
            candidates.contains(&recovered),
            "cycle {cycle}, {crash:?}: the recovered state is no state at or after the last \
             acknowledged write ({} candidates)",
            candidates.len()
        );
        model = recovered;
    }
    lsm_testkit::reliability::record(
        "G7",
        "database_model: batches, clears and loads with a crash every ~200 ops",
        cycles as u64,
        "crash/recover cycles",
        started,
    );
}
