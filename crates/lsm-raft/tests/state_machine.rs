//! The key-value state machine through openraft's traits: batches with range deletes,
//! refused requests, snapshots built on one machine and installed on another, a damaged
//! snapshot refused without a change, and the applied state across a reopen.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Cursor;

use lsm::Database;
use lsm_raft::openraft::storage::RaftStateMachine;
use lsm_raft::openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};
use lsm_raft::{KEY_LEN_MAX, Request, RequestError, StateMachine, TypeConfig};

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn entry(index: u64, request: Request) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(request),
    }
}

fn set(key: &str, value: &str) -> Request {
    Request::Set {
        key: key.into(),
        value: value.into(),
    }
}

fn contents(sm: &StateMachine<TypeConfig>) -> Vec<(String, String)> {
    sm.range(..)
        .unwrap()
        .into_iter()
        .map(|(key, value)| {
            (
                String::from_utf8(key).unwrap(),
                String::from_utf8(value.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn open(dir: &std::path::Path) -> (Database, StateMachine<TypeConfig>) {
    let db = Database::builder(dir).open().unwrap();
    let (_, sm) = lsm_raft::open::<TypeConfig>(&db, "g").unwrap();
    (db, sm)
}

#[test]
fn requests_apply_in_order_and_a_range_delete_covers_its_own_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, mut sm) = open(dir.path());
    block_on(async {
        let responses = sm
            .apply([
                entry(1, set("a", "1")),
                entry(
                    2,
                    Request::Batch(vec![
                        set("b", "2"),
                        set("c", "3"),
                        Request::DeleteRange {
                            start: "a".into(),
                            end: "c".into(),
                        },
                        set("b", "again"),
                        // An empty or inverted range deletes nothing.
                        Request::DeleteRange {
                            start: "z".into(),
                            end: "a".into(),
                        },
                    ]),
                ),
                entry(3, Request::Delete { key: "c".into() }),
                entry(4, set("", "the empty key")),
            ])
            .await
            .unwrap();
        let indexes: Vec<_> = responses
            .iter()
            .map(|response| response.log_index)
            .collect();
        assert_eq!(indexes, [1, 2, 3, 4]);
        assert!(responses.iter().all(|response| response.refused.is_none()));
    });
    assert_eq!(
        contents(&sm),
        pairs(&[("", "the empty key"), ("b", "again")])
    );
    assert_eq!(sm.get(b"a").unwrap(), None);
    let (applied, _) = block_on(sm.applied_state()).unwrap();
    assert_eq!(applied.unwrap().index, 4);
}

#[test]
fn a_request_over_the_limits_is_refused_alike_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, mut sm) = open(dir.path());
    let long = vec![b'k'; KEY_LEN_MAX + 1];
    let batch = Request::Batch(vec![
        set("x", "1"),
        Request::Set {
            key: long,
            value: Vec::new(),
        },
    ]);
    assert_eq!(
        batch.check(),
        Err(RequestError::KeyTooLong {
            len: KEY_LEN_MAX + 1
        })
    );
    let responses = block_on(sm.apply([entry(1, batch), entry(2, set("y", "2"))])).unwrap();
    assert_eq!(
        responses[0].refused,
        Some(RequestError::KeyTooLong {
            len: KEY_LEN_MAX + 1
        })
    );
    assert_eq!(responses[1].refused, None);
    assert_eq!(contents(&sm), pairs(&[("y", "2")]));
    // The longest key allowed is applied.
    let longest = vec![b'k'; KEY_LEN_MAX];
    let request = Request::Set {
        key: longest.clone(),
        value: b"v".to_vec(),
    };
    let responses = block_on(sm.apply([entry(3, request)])).unwrap();
    assert_eq!(responses[0].refused, None);
    assert_eq!(sm.get(&longest).unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_snapshot_moves_the_map_whole_and_a_damaged_one_changes_nothing() {
    let (leader_dir, follower_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_leader_db, mut leader) = open(leader_dir.path());
    let (_follower_db, mut follower) = open(follower_dir.path());
    block_on(async {
        let entries: Vec<_> = (1..=200)
            .map(|i| entry(i, set(&format!("k{i:03}"), &format!("v{i}"))))
            .collect();
        leader.apply(entries).await.unwrap();
        follower
            .apply([entry(1, set("stale", "gone after install"))])
            .await
            .unwrap();

        let built = leader
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        assert_eq!(built.meta.last_log_id.unwrap().index, 200);
        // Writes after the build do not leak into the held snapshot.
        leader.apply([entry(201, set("later", "x"))]).await.unwrap();
        let current = leader.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta, built.meta);
        let bytes = current.snapshot.into_inner();
        assert_eq!(bytes, built.snapshot.into_inner());

        // One flipped byte: refused, and the follower's map is as it was.
        let mut damaged = bytes.clone();
        damaged[100] ^= 1;
        let refused = follower
            .install_snapshot(&built.meta, Box::new(Cursor::new(damaged)))
            .await;
        assert!(refused.is_err());
        assert_eq!(
            contents(&follower),
            pairs(&[("stale", "gone after install")])
        );
        assert!(follower.get_current_snapshot().await.unwrap().is_none());

        follower
            .install_snapshot(&built.meta, Box::new(Cursor::new(bytes)))
            .await
            .unwrap();
        let installed = follower.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(installed.meta, built.meta);
        let (applied, _) = follower.applied_state().await.unwrap();
        assert_eq!(applied, built.meta.last_log_id);
    });
    let leader_pairs = contents(&leader);
    let follower_pairs = contents(&follower);
    assert_eq!(follower_pairs.len(), 200);
    assert_eq!(follower_pairs[..], leader_pairs[..200]);
    assert_eq!(follower.get(b"stale").unwrap(), None);
}

#[test]
fn the_applied_state_and_map_come_back_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (db, mut sm) = open(dir.path());
        block_on(sm.apply([entry(1, set("a", "1")), entry(2, set("b", "2"))])).unwrap();
        db.persist(lsm::PersistMode::SyncAll).unwrap();
    }
    let (_db, mut sm) = open(dir.path());
    let (applied, _) = block_on(sm.applied_state()).unwrap();
    assert_eq!(applied.unwrap().index, 2);
    assert_eq!(contents(&sm), pairs(&[("a", "1"), ("b", "2")]));
    // No snapshot is held after a reopen: openraft builds one when the log was purged.
    assert!(block_on(sm.get_current_snapshot()).unwrap().is_none());
}
