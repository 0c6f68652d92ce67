//! Three nodes over loopback TCP in one process: the README's walkthrough on the engine,
//! concurrent clients through a leader's death on both stores, and bad addresses.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::time::Duration;

use lsm_raft::Request;
use raft_kv::cluster::{Cluster, StoreKind};
use raft_kv::node::{Node, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_keeps_every_write_through_a_leader_crash_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    raft_kv::demo(dir.path().to_path_buf(), &mut out)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    for step in [
        "linearizable read: key-042 = value-42",
        "read all 200 keys back, linearizably",
        "holds 200 of 200 keys",
    ] {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
}

/// Eight clients write 40 keys each at once (the leader batches them), the leader
/// stops, the same clients write as many again, and every key reads back.
async fn concurrent_clients_through_a_leader_change(kind: StoreKind) {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(kind, dir.path().to_path_buf())
        .await
        .unwrap();
    let write_round = |cluster: &Cluster, round: usize| {
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..8 {
            let mut client = cluster.client();
            tasks.spawn(async move {
                for i in 0..40 {
                    let request = Request::Set {
                        key: format!("r{round}-c{c}-{i:02}").into_bytes(),
                        value: format!("{round}/{c}/{i}").into_bytes(),
                    };
                    client.write(request).await.unwrap();
                }
            });
        }
        tasks
    };
    write_round(&cluster, 0).join_all().await;
    let leader = cluster.leader(Duration::from_secs(10)).await.unwrap();
    cluster.stop(leader).await;
    write_round(&cluster, 1).join_all().await;

    let mut client = cluster.client();
    for round in 0..2 {
        for c in 0..8 {
            for i in 0..40 {
                let key = format!("r{round}-c{c}-{i:02}");
                let value = client.read(key.as_bytes()).await.unwrap();
                assert_eq!(
                    value.as_deref(),
                    Some(format!("{round}/{c}/{i}").as_bytes()),
                    "{key}"
                );
            }
        }
    }
    let removed = Request::DeleteRange {
        start: b"r0".to_vec(),
        end: b"r1".to_vec(),
    };
    client.write(removed).await.unwrap();
    assert_eq!(client.read(b"r0-c0-00").await.unwrap(), None);
    assert!(client.read(b"r1-c0-00").await.unwrap().is_some());
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_keep_every_write_on_the_engine() {
    concurrent_clients_through_a_leader_change(StoreKind::Lsm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_keep_every_write_in_memory() {
    concurrent_clients_through_a_leader_change(StoreKind::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_on_loopback_only() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let refused = Node::start(1, listener, &Store::Memory).await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("not a loopback address")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_completes_on_both_stores() {
    for kind in [StoreKind::Lsm, StoreKind::Memory] {
        let dir = tempfile::tempdir().unwrap();
        let run = raft_kv::bench(kind, dir.path().to_path_buf(), 300, 8, 64)
            .await
            .unwrap();
        assert!(run.writes_per_sec.is_finite() && run.writes_per_sec > 0.0);
    }
}
