//! Crash points through a Raft node's storage: at every k-th mutating file operation
//! the simulated machine powers off, under every crash model; after reopening, every
//! acknowledged vote and entry is there (or the change in flight landed whole), and the
//! state machine matches its applied id and never falls behind a purge.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeMap;
use std::sync::Arc;

use lsm::Database;
use lsm_raft::openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use lsm_raft::openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, StorageError, StorageIOError,
    Vote,
};
use lsm_raft::{LogStore, Request, StateMachine, TypeConfig};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

type Log = LogStore<TypeConfig>;
type Sm = StateMachine<TypeConfig>;

/// What the log holds after an operation: the vote, the entries' ids, the purged id.
#[derive(Clone, Debug, Default, PartialEq)]
struct LogModel {
    vote: Option<Vote<u64>>,
    entries: BTreeMap<u64, LogId<u64>>,
    purged: Option<LogId<u64>>,
}

/// The log's state after the last acknowledged operation, and after the one in flight.
#[derive(Default)]
struct Progress {
    acknowledged: LogModel,
    in_flight: Option<LogModel>,
}

fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

/// The entry at `index` sets key `k{index % 5}` to `index`.
fn entry(term: u64, index: u64) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(Request::Set {
            key: format!("k{}", index % 5).into_bytes(),
            value: index.to_string().into_bytes(),
        }),
    }
}

fn open(fs: &SimFs) -> lsm::Result<(Database, Log, Sm)> {
    let db = Database::builder("/db")
        .with_fs(Arc::new(fs.clone()))
        .journal_segment_size(2 << 10)
        .max_write_buffer_size(8 << 10)
        .open()?;
    let (log, sm) = lsm_raft::open(&db, "g")?;
    Ok((db, log, sm))
}

/// Runs the node's storage calls until the file system fails: votes, appends in
/// growing terms, applies, committed ids, purges and truncations.
async fn workload(fs: &SimFs, progress: &mut Progress) -> Result<(), StorageError<u64>> {
    let io = |error: lsm::Error| StorageIOError::write(&error);
    let (_db, mut log, mut sm) = open(fs).map_err(io)?;
    let mut model = LogModel::default();
    let mut term = 1;
    let mut next = 1;
    let mut applied = 0;

    macro_rules! step {
        ($change:expr, $call:expr) => {{
            let mut after = model.clone();
            $change(&mut after);
            progress.in_flight = Some(after.clone());
            $call.await?;
            model = after;
            progress.acknowledged = model.clone();
            progress.in_flight = None;
        }};
    }

    let vote = Vote::new(term, 1);
    step!(|m: &mut LogModel| m.vote = Some(vote), log.save_vote(&vote));
    for round in 0..80_u64 {
        let entries: Vec<_> = (next..next + 1 + round % 3)
            .map(|i| entry(term, i))
            .collect();
        let ids: Vec<_> = entries.iter().map(|e| e.log_id).collect();
        next += ids.len() as u64;
        step!(
            |m: &mut LogModel| m.entries.extend(ids.iter().map(|id| (id.index, *id))),
            log.blocking_append(entries)
        );
        if round % 2 == 1 {
            let upto = next - 2;
            let mut to_apply = Vec::new();
            for index in applied + 1..=upto {
                to_apply.push(entry(model.entries[&index].leader_id.term, index));
            }
            sm.apply(to_apply).await?;
            applied = upto;
            log.save_committed(Some(model.entries[&upto])).await?;
        }
        if round % 4 == 3 && applied > 2 {
            let upto = model.entries[&(applied - 2)];
            step!(
                |m: &mut LogModel| {
                    m.entries.retain(|&index, _| index > upto.index);
                    m.purged = Some(upto);
                },
                log.purge(upto)
            );
        }
        if round % 5 == 4 && next - 1 > applied + 1 {
            let from = model.entries[&(next - 1)];
            step!(
                |m: &mut LogModel| {
                    m.entries.retain(|&index, _| index < from.index);
                },
                log.truncate(from)
            );
            next -= 1;
            term += 1;
            let vote = Vote::new(term, 1);
            step!(|m: &mut LogModel| m.vote = Some(vote), log.save_vote(&vote));
        }
    }
    Ok(())
}

/// The log as it reads back after reopening.
async fn read_back(log: &mut Log) -> LogModel {
    let state = log.get_log_state().await.unwrap();
    let entries = log
        .try_get_log_entries(..)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| (entry.log_id.index, entry.log_id))
        .collect();
    LogModel {
        vote: log.read_vote().await.unwrap(),
        entries,
        purged: state.last_purged_log_id,
    }
}

/// The state machine's pairs and applied id agree, and it is not behind the purge.
async fn check_state_machine(sm: &mut Sm, recovered: &LogModel, context: &str) {
    let (applied, _) = sm.applied_state().await.unwrap();
    let applied = applied.map_or(0, |id| id.index);
    if let Some(purged) = recovered.purged {
        assert!(
            applied >= purged.index,
            "{context}: applied {applied} behind purge {purged}"
        );
    }
    let mut expected = BTreeMap::new();
    for index in 1..=applied {
        expected.insert(format!("k{}", index % 5), index.to_string());
    }
    let actual: BTreeMap<_, _> = sm
        .range(..)
        .unwrap()
        .into_iter()
        .map(|(key, value)| {
            (
                String::from_utf8(key).unwrap(),
                String::from_utf8(value.to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actual, expected,
        "{context}: state machine at applied {applied}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// How many mutating file operations the whole workload takes.
fn workload_ops(runtime: &tokio::runtime::Runtime) -> u64 {
    let fs = SimFs::new();
    runtime
        .block_on(workload(&fs, &mut Progress::default()))
        .unwrap();
    fs.op_count()
}

/// Reopens `image` and checks it against `progress`: the log is what was acknowledged
/// (or the change in flight, whole), and the state machine is consistent with it.
fn check_image(
    runtime: &tokio::runtime::Runtime,
    image: &SimFs,
    progress: &Progress,
    context: &str,
) {
    let (_db, mut log, mut sm) = open(image).unwrap_or_else(|error| panic!("{context}: {error}"));
    let recovered = runtime.block_on(read_back(&mut log));
    let landed = Some(&recovered) == progress.in_flight.as_ref();
    assert!(
        recovered == progress.acknowledged || landed,
        "{context}: recovered {recovered:?}\nacknowledged {:?}\nin flight {:?}",
        progress.acknowledged,
        progress.in_flight
    );
    runtime.block_on(check_state_machine(&mut sm, &recovered, context));
}

#[test]
fn no_acknowledged_vote_or_entry_is_lost_at_any_crash_point() {
    let runtime = runtime();
    let total_ops = workload_ops(&runtime);
    assert!(total_ops > 100, "{total_ops} mutating operations");
    let mut rng = Rng::new(27);
    let (mut cycles, mut interrupted) = (0, 0);
    for crash_at in (0..total_ops).step_by(2) {
        let fs = SimFs::new();
        fs.crash_at(crash_at);
        let mut progress = Progress::default();
        // Background flushes make the count of operations vary a little from run to
        // run: a late crash point may fall after the workload's end.
        if runtime.block_on(workload(&fs, &mut progress)).is_err() {
            interrupted += 1;
        }
        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut rng);
            check_image(
                &runtime,
                &image,
                &progress,
                &format!("crash at {crash_at}, {model:?}"),
            );
            cycles += 1;
        }
    }
    assert!(cycles > 200, "{cycles} crash/recover cycles");
    assert!(
        interrupted * 10 > total_ops / 2 * 8,
        "{interrupted} of {} runs interrupted",
        total_ops / 2
    );
}

#[test]
fn an_io_error_at_any_operation_loses_no_acknowledged_vote_or_entry() {
    let runtime = runtime();
    let total_ops = workload_ops(&runtime);
    let mut rng = Rng::new(270);
    let mut failed = 0;
    for fail_at in (0..total_ops).step_by(3) {
        let fs = SimFs::new();
        fs.fail_op(fail_at, std::io::ErrorKind::Other);
        let mut progress = Progress::default();
        // The workload stops at its first error: a failed sync poisons the database's
        // log, so nothing after it is acknowledged.
        if runtime.block_on(workload(&fs, &mut progress)).is_err() {
            failed += 1;
        }
        let image = fs.crash(CrashModel::DropUnsynced, &mut rng);
        check_image(&runtime, &image, &progress, &format!("error at {fail_at}"));
    }
    assert!(failed * 2 > total_ops / 3, "{failed} runs met their error");
}
