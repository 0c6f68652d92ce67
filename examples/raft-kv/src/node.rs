//! One node: a Raft instance on a store, and the TCP server peers and clients call.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use lsm::Database;
use lsm_raft::{Request, Response, StateMachine, TypeConfig};
use openraft::{BasicNode, Config, Raft};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::mem_store::{MemLog, MemStateMachine};
use crate::network::Network;
use crate::wire::{self, Call, ClientError, Reply, Status};

/// Where a node keeps its log and state machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Store {
    /// A `Database` in this directory: the log synced, everything recovered at restart.
    Lsm(PathBuf),
    /// Maps in memory, gone when the node stops.
    Memory,
}

/// How a node reads its state machine for a client.
#[derive(Clone, Debug)]
enum Reader {
    Lsm(StateMachine<TypeConfig>),
    Memory(MemStateMachine),
}

impl Reader {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        match self {
            Self::Lsm(sm) => sm
                .get(key)
                .map(|value| value.map(|value| value.to_vec()))
                .map_err(|error| ClientError::Failed(error.to_string())),
            Self::Memory(sm) => Ok(sm.get(key)),
        }
    }
}

/// The settings every node of the example runs with: elections within a second, a
/// snapshot every 5,000 entries, 1,000 entries kept behind it for slow followers.
///
/// # Errors
/// None with these values; openraft validates them.
pub fn config() -> Result<Arc<Config>, Box<openraft::ConfigError>> {
    let config = Config {
        cluster_name: "raft-kv".to_owned(),
        heartbeat_interval: 100,
        election_timeout_min: 300,
        election_timeout_max: 600,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(5_000),
        max_in_snapshot_log_to_keep: 1_000,
        ..Config::default()
    };
    Ok(Arc::new(config.validate().map_err(Box::new)?))
}

/// A running node.
pub struct Node {
    id: u64,
    addr: SocketAddr,
    raft: Raft<TypeConfig>,
    reader: Reader,
    server: JoinHandle<()>,
    proposer: JoinHandle<()>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Starts node `id` on `store`, serving on `listener` (a loopback address only).
    ///
    /// # Errors
    /// A listener on another address, the store's open errors, and openraft's.
    pub async fn start(
        id: u64,
        listener: TcpListener,
        store: &Store,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(format!("{addr} is not a loopback address").into());
        }
        let config = config()?;
        let (raft, reader) = match store {
            Store::Lsm(dir) => {
                let db = Database::builder(dir).open()?;
                let (log, sm) = lsm_raft::open::<TypeConfig>(&db, "kv")?;
                let reader = Reader::Lsm(sm.clone());
                (Raft::new(id, config, Network, log, sm).await?, reader)
            }
            Store::Memory => {
                let sm = MemStateMachine::default();
                let reader = Reader::Memory(sm.clone());
                (
                    Raft::new(id, config, Network, MemLog::default(), sm).await?,
                    reader,
                )
            }
        };
        let (proposals, queue) = mpsc::unbounded_channel();
        let proposer = tokio::spawn(propose(raft.clone(), queue));
        let server = tokio::spawn(serve(listener, raft.clone(), reader.clone(), proposals));
        Ok(Self {
            id,
            addr,
            raft,
            reader,
            server,
            proposer,
        })
    }

    /// The node's id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The address it serves on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its Raft instance.
    #[must_use]
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// The value of `key` in this node's own copy of the map (not linearizable: a
    /// follower may lag).
    ///
    /// # Errors
    /// The store's read errors.
    pub fn local_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        self.reader.get(key)
    }

    /// Stops the node as a crash would look to its peers: the server and every
    /// connection close, Raft stops; what it synced stays in its store.
    pub async fn stop(self) {
        self.server.abort();
        self.proposer.abort();
        let _ = self.server.await;
        let _ = self.proposer.await;
        // A stop that fails leaves nothing more to do: the node is going away.
        let _ = self.raft.shutdown().await;
    }
}

/// A client write waiting to be proposed, and where its answer goes.
type Proposal = (Request, oneshot::Sender<Result<Response, ClientError>>);

/// How many batches of writes may be in Raft at once: one being appended and synced,
/// one gathering behind it.
const BATCHES_IN_FLIGHT: usize = 2;

/// The most writes one log entry carries.
const BATCH_LEN_MAX: usize = 1024;

/// Proposes client writes: whatever has queued while earlier batches were in Raft goes
/// in as one entry (one append, one sync on each node), so concurrent clients share the
/// cost of durability, as a database's group commit shares a sync.
async fn propose(raft: Raft<TypeConfig>, mut queue: mpsc::UnboundedReceiver<Proposal>) {
    let permits = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    while let Some(first) = queue.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let mut pending = vec![first];
        while pending.len() < BATCH_LEN_MAX {
            match queue.try_recv() {
                Ok(proposal) => pending.push(proposal),
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let (mut requests, answers): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
            let request = match requests.len() {
                1 => requests.swap_remove(0),
                _ => Request::Batch(requests),
            };
            let outcome = match raft.client_write(request).await {
                Ok(written) => Ok(written.data),
                Err(error) => Err(not_leader(error.forward_to_leader(), &error)),
            };
            for answer in answers {
                // A client that went away needs no answer.
                let _ = answer.send(outcome.clone());
            }
        });
    }
}

/// Serves every connection until the task is aborted (which drops them all).
async fn serve(
    listener: TcpListener,
    raft: Raft<TypeConfig>,
    reader: Reader,
    proposals: mpsc::UnboundedSender<Proposal>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    let context = (raft.clone(), reader.clone(), proposals.clone());
                    connections.spawn(connection(stream, context));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Answers one connection's calls in order until it closes.
async fn connection(
    mut stream: TcpStream,
    (raft, reader, proposals): (Raft<TypeConfig>, Reader, mpsc::UnboundedSender<Proposal>),
) {
    while let Ok(Some(call)) = wire::receive::<Call>(&mut stream).await {
        let reply = handle(call, &raft, &reader, &proposals).await;
        if wire::send(&mut stream, &reply).await.is_err() {
            return;
        }
    }
}

fn not_leader(
    forward: Option<&openraft::error::ForwardToLeader<u64, BasicNode>>,
    error: &dyn std::fmt::Display,
) -> ClientError {
    match forward {
        Some(forward) => ClientError::NotLeader {
            leader: forward
                .leader_id
                .zip(forward.leader_node.as_ref().map(|node| node.addr.clone())),
        },
        None => ClientError::Failed(error.to_string()),
    }
}

async fn handle(
    call: Call,
    raft: &Raft<TypeConfig>,
    reader: &Reader,
    proposals: &mpsc::UnboundedSender<Proposal>,
) -> Reply {
    match call {
        Call::AppendEntries(rpc) => Reply::AppendEntries(raft.append_entries(rpc).await),
        Call::Vote(rpc) => Reply::Vote(raft.vote(rpc).await),
        Call::InstallSnapshot(rpc) => Reply::InstallSnapshot(raft.install_snapshot(rpc).await),
        Call::Initialize(members) => Reply::Initialize(initialize(raft, members).await),
        Call::Write(request) => {
            if let Err(error) = request.check() {
                return Reply::Write(Err(ClientError::Failed(error.to_string())));
            }
            let (answer, answered) = oneshot::channel();
            let stopped = || ClientError::Failed("the node is stopping".to_owned());
            if proposals.send((request, answer)).is_err() {
                return Reply::Write(Err(stopped()));
            }
            Reply::Write(answered.await.unwrap_or_else(|_| Err(stopped())))
        }
        Call::Read(key) => Reply::Read(match raft.ensure_linearizable().await {
            Ok(_) => reader.get(&key),
            Err(error) => Err(not_leader(error.forward_to_leader(), &error)),
        }),
        Call::Status => {
            let metrics = raft.metrics().borrow().clone();
            Reply::Status(Status {
                id: metrics.id,
                leader: metrics.current_leader,
                term: metrics.current_term,
                applied: metrics.last_applied.map(|id| id.index),
            })
        }
    }
}

async fn initialize(
    raft: &Raft<TypeConfig>,
    members: BTreeMap<u64, BasicNode>,
) -> Result<(), ClientError> {
    raft.initialize(members)
        .await
        .map_err(|error| ClientError::Failed(error.to_string()))
}
