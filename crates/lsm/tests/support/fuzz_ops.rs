//! The bodies of the two operation-sequence fuzz targets (goal G10 of the reliability
//! spec): arbitrary bytes read as a crash countdown and a sequence of operations on a
//! tree (`tree_ops`) or a `Database` (`db_ops`) on the simulated file system, which
//! powers off when the countdown runs out; the image a crash model leaves must open on
//! a state the acknowledged operations allow. `fuzz/fuzz_targets/` includes this file,
//! and `tests/fuzz_ops.rs` replays the checked-in corpora and seeded mutations of them.
//!
//! Only `lsm`, `lsm_testkit` and `std` are used, so that the fuzz crate can include it.

use std::collections::BTreeMap;
use std::sync::Arc;

use lsm::compaction::{Leveled, SizeTiered};
use lsm::{
    AbstractTree, Database, Durability, Guard, KeyspaceCreateOptions, SeqNo, SequenceNumberCounter,
    UserValue,
};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// Appends operands to the base (the test kit's `concat`).
struct Append;

impl lsm::MergeOperator for Append {
    fn merge(
        &self,
        _key: &[u8],
        base: Option<&[u8]>,
        operands: &[&[u8]],
    ) -> lsm::Result<UserValue> {
        Ok(lsm_testkit::ops::concat(base, operands).into())
    }
}

/// Reads the input: the crash countdown, the crash model and the operation bytes.
struct Input<'a> {
    countdown: u64,
    model: CrashModel,
    ops: &'a [u8],
}

impl<'a> Input<'a> {
    fn read(data: &'a [u8]) -> Option<Self> {
        let (&[low, high, model], ops) = data.split_first_chunk::<3>()?;
        Some(Self {
            countdown: u64::from(u16::from_le_bytes([low, high])),
            model: CrashModel::ALL[usize::from(model) % CrashModel::ALL.len()],
            ops,
        })
    }
}

fn key(byte: u8) -> Vec<u8> {
    format!("k{:02}", byte % 32).into_bytes()
}

fn value(byte: u8, at: usize) -> Vec<u8> {
    format!("v{at}-{}", "x".repeat(usize::from(byte % 48))).into_bytes()
}

fn scan(iter: lsm::IterBox) -> Option<State> {
    iter.map(|item| {
        let (key, value) = item.into_inner().ok()?;
        Some((key.to_vec(), value.to_vec()))
    })
    .collect()
}

/// Target `tree_ops`: writes, range deletes, merges, flushes, compaction steps, major
/// compactions and clears on a tree; a crash at the countdown; the image opens on the
/// state of a version change at or after the last acknowledged one.
pub fn tree_ops(data: &[u8]) {
    let Some(input) = Input::read(data) else {
        return;
    };
    let fs = SimFs::new();
    fs.crash_at(input.countdown);
    let config = || {
        lsm::Config::new(
            "/db",
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        .with_shared_fs(Arc::new(fs.clone()))
        .with_merge_operator(Some(Arc::new(Append)))
        .manifest_log_rotate_bytes(512)
    };
    // Everything written, what the last acknowledged version change left durable, and
    // what the change in flight when the power went would leave.
    let mut state = State::new();
    let mut flushed = State::new();
    let mut in_flight = None;
    let seqno = SequenceNumberCounter::default();
    if let Ok(tree) = config().seqno_generator(seqno.clone().into()).open() {
        for (at, pair) in input.ops.chunks(2).enumerate() {
            let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
            let (after, changed) = match op % 16 {
                0..=5 => {
                    tree.insert(key(arg), value(op, at), seqno.next());
                    state.insert(key(arg), value(op, at));
                    continue;
                }
                6 => {
                    tree.remove(key(arg), seqno.next());
                    state.remove(&key(arg));
                    continue;
                }
                7 => {
                    let (start, end) = (key(arg), key(arg.saturating_add(op % 5)));
                    tree.remove_range(start.clone(), end.clone(), seqno.next());
                    state.retain(|key, _| !(start <= *key && *key < end));
                    continue;
                }
                8 => {
                    let operand = format!("+{at}").into_bytes();
                    tree.merge(key(arg), operand.clone(), seqno.next());
                    state
                        .entry(key(arg))
                        .or_default()
                        .extend_from_slice(&operand);
                    continue;
                }
                // A flush makes every write before it durable.
                9..=11 => (state.clone(), tree.flush_active_memtable(0)),
                12 => (
                    flushed.clone(),
                    tree.compact(
                        Arc::new(
                            Leveled::default()
                                .with_l0_threshold(2)
                                .with_table_target_size(1 << 10),
                        ),
                        0,
                    )
                    .map(|_| ()),
                ),
                13 => (
                    flushed.clone(),
                    tree.compact(Arc::new(SizeTiered::default().with_min_merge_width(2)), 0)
                        .map(|_| ()),
                ),
                14 => (flushed.clone(), tree.major_compact(1 << 10, 0).map(|_| ())),
                _ => (State::new(), tree.clear()),
            };
            if changed.is_err() {
                in_flight = Some(after);
                break;
            }
            if op % 16 == 15 {
                // A clear empties the memtables too.
                state.clear();
            }
            flushed = after;
        }
    }
    let image = fs.crash(input.model, &mut Rng::new(input.countdown));
    let reopened = lsm::Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::new(image))
    .with_merge_operator(Some(Arc::new(Append)))
    .open()
    .expect("a crash image opens");
    let recovered = scan(reopened.iter(SeqNo::MAX, None)).expect("a crash image reads");
    assert!(
        recovered == flushed || in_flight.as_ref() == Some(&recovered),
        "the recovered tree holds no state at or after the last acknowledged change"
    );
}

/// Target `db_ops`: batches across two keyspaces of a `Database` with a log, each
/// buffered, flushed to the OS or synced, and clears; a crash at the countdown; the
/// image opens on a state at or after the last write acknowledged as durable (synced,
/// or flushed to the OS when the crash keeps what the OS held).
pub fn db_ops(data: &[u8]) {
    let Some(input) = Input::read(data) else {
        return;
    };
    let fs = SimFs::new();
    fs.crash_at(input.countdown);
    let options = || {
        KeyspaceCreateOptions::default()
            .max_memtable_size(2 << 10)
            .with_merge_operator(Some(Arc::new(Append)))
    };
    let open = |fs: &SimFs| {
        Database::builder("/db")
            .with_fs(Arc::new(fs.clone()))
            .journal_segment_size(2 << 10)
            .max_write_buffer_size(8 << 10)
            .keyspace_options("a", options)
            .keyspace_options("b", options)
            .open()
    };
    let mut model = [State::new(), State::new()];
    // The states since the last synced write, and since the last one flushed to the OS.
    let mut since_synced = vec![model.clone()];
    let mut since_flushed = vec![model.clone()];
    if let Ok(db) = open(&fs) {
        let keyspaces = ["a", "b"].map(|name| db.keyspace(name, options));
        if let [Ok(a), Ok(b)] = keyspaces {
            let keyspaces = [a, b];
            for (at, pair) in input.ops.chunks(2).enumerate() {
                let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
                let ks = usize::from(op & 1);
                let durability = match op % 5 {
                    0 => Durability::Sync,
                    1 | 2 => Durability::Flush,
                    _ => Durability::Buffered,
                };
                if op % 23 == 0 {
                    let cleared = keyspaces[ks].clear();
                    model[ks].clear();
                    if cleared.is_err() {
                        // Cut short: the clear may have become durable or not.
                        since_synced.push(model.clone());
                        since_flushed.push(model.clone());
                        break;
                    }
                    since_synced = vec![model.clone()];
                    since_flushed = vec![model.clone()];
                    continue;
                }
                let mut batch = db.batch().durability(durability);
                let (first, second) = (key(arg), key(arg.wrapping_mul(7)));
                if op % 3 == 0 {
                    batch.remove(&keyspaces[ks], first.clone());
                } else {
                    batch.insert(&keyspaces[ks], first.clone(), value(op, at));
                }
                batch.insert(&keyspaces[1 - ks], second.clone(), value(arg, at));
                let committed = batch.commit();
                if op % 3 == 0 {
                    model[ks].remove(&first);
                } else {
                    model[ks].insert(first, value(op, at));
                }
                model[1 - ks].insert(second, value(arg, at));
                if committed.is_err() {
                    // Cut short: the batch may have reached the log whole, or not.
                    since_synced.push(model.clone());
                    since_flushed.push(model.clone());
                    break;
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
            }
        }
    }
    let image = fs.crash(input.model, &mut Rng::new(input.countdown));
    let db = open(&image).expect("a crash image opens");
    let recovered = ["a", "b"].map(|name| {
        let keyspace = db.keyspace(name, options).expect("the keyspace opens");
        scan(keyspace.iter()).expect("a crash image reads")
    });
    let candidates = if input.model == CrashModel::KeepAll {
        &since_flushed
    } else {
        &since_synced
    };
    assert!(
        candidates.contains(&recovered),
        "the recovered database holds no state at or after the last durable write"
    );
}
