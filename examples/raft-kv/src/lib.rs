//! A replicated key-value store on the engine: three `openraft` nodes, each keeping its
//! Raft log and state machine in an `lsm::Database` through `lsm-raft`, talking over
//! loopback TCP. `raft-kv demo` runs the walkthrough of the README; `raft-kv bench`
//! measures replicated writes against the same cluster on in-memory storage.

pub mod client;
pub mod cluster;
pub mod mem_store;
pub mod network;
pub mod node;
pub mod wire;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lsm_raft::Request;

use crate::client::Client;
use crate::cluster::{Cluster, StoreKind};

/// A boxed error that crosses tasks.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:03}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i}").into_bytes()
}

fn term(cluster: &Cluster, id: u64) -> u64 {
    cluster
        .node(id)
        .map_or(0, |node| node.raft().metrics().borrow().current_term)
}

async fn write_keys(client: &mut Client, keys: std::ops::Range<usize>) -> Result<u64, Error> {
    let mut last = 0;
    for i in keys {
        let response = client
            .write(Request::Set {
                key: key(i),
                value: value(i),
            })
            .await?;
        last = response.log_index;
    }
    Ok(last)
}

async fn read_keys(client: &mut Client, keys: std::ops::Range<usize>) -> Result<(), Error> {
    for i in keys {
        let found = client.read(&key(i)).await?;
        if found.as_deref() != Some(value(i).as_slice()) {
            return Err(format!("key-{i:03} reads {found:?}").into());
        }
    }
    Ok(())
}

/// The walkthrough: three nodes, writes, a linearizable read, the leader killed, a new
/// leader, more writes, every key read back, the old leader restarted from its
/// directory and caught up. Prints each step to `out`.
///
/// # Errors
/// Any step that fails, with what it saw.
pub async fn demo(dir: PathBuf, out: &mut impl Write) -> Result<(), Error> {
    let mut cluster = Cluster::start(StoreKind::Lsm, dir.clone()).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    writeln!(
        out,
        "started nodes 1, 2, 3 on {} (stores under {})",
        cluster.addrs().join(", "),
        dir.display()
    )?;
    writeln!(out, "node {leader} leads (term {})", term(&cluster, leader))?;

    let mut client = cluster.client();
    write_keys(&mut client, 0..100).await?;
    writeln!(
        out,
        "wrote key-000 .. key-099 (each acknowledged by a majority, synced)"
    )?;
    let found = client.read(&key(42)).await?.unwrap_or_default();
    writeln!(
        out,
        "linearizable read: key-042 = {}",
        String::from_utf8_lossy(&found)
    )?;

    cluster.stop(leader).await;
    writeln!(out, "stopped node {leader}, the leader")?;
    let started = Instant::now();
    let new_leader = cluster.leader(Duration::from_secs(10)).await?;
    writeln!(
        out,
        "node {new_leader} leads (term {}), elected in {} ms",
        term(&cluster, new_leader),
        started.elapsed().as_millis()
    )?;
    let last = write_keys(&mut client, 100..200).await?;
    writeln!(out, "wrote key-100 .. key-199 with two of three nodes up")?;
    read_keys(&mut client, 0..200).await?;
    writeln!(out, "read all 200 keys back, linearizably")?;

    cluster.restart(leader).await?;
    cluster
        .applied(leader, last, Duration::from_secs(10))
        .await?;
    let restarted = cluster.node(leader).ok_or("restarted node missing")?;
    let mut held = 0;
    for i in 0..200 {
        if restarted.local_get(&key(i))?.as_deref() == Some(value(i).as_slice()) {
            held += 1;
        }
    }
    writeln!(
        out,
        "restarted node {leader} from its directory: it caught up to log index {last} and holds {held} of 200 keys"
    )?;
    if held != 200 {
        return Err(format!("the restarted node holds {held} of 200 keys").into());
    }
    cluster.stop_all().await;
    writeln!(out, "stopped the cluster")?;
    Ok(())
}

/// What one benchmark run measured.
#[derive(Clone, Copy, Debug)]
pub struct BenchRun {
    /// Writes acknowledged per second.
    pub writes_per_sec: f64,
}

/// Replicated writes: `clients` concurrent clients send `writes` sets of `value_size`
/// bytes in total to a fresh three-node cluster on `kind` (under `dir`).
///
/// # Errors
/// A cluster that does not start, or a write that fails.
pub async fn bench(
    kind: StoreKind,
    dir: PathBuf,
    writes: usize,
    clients: usize,
    value_size: usize,
) -> Result<BenchRun, Error> {
    let cluster = Cluster::start(kind, dir).await?;
    let clients = clients.max(1);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let mut client = cluster.client();
        let count = writes / clients + usize::from(c < writes % clients);
        tasks.spawn(async move {
            for i in 0..count {
                let key = format!("c{c:03}-{i:09}");
                let value = key
                    .as_bytes()
                    .iter()
                    .copied()
                    .cycle()
                    .take(value_size)
                    .collect();
                client
                    .write(Request::Set {
                        key: key.into_bytes(),
                        value,
                    })
                    .await?;
            }
            Ok::<(), Error>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    cluster.stop_all().await;
    Ok(BenchRun {
        writes_per_sec: writes as f64 / elapsed,
    })
}
