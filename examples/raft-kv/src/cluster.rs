//! Three nodes in one process, for the demo, the benchmark and the tests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use openraft::BasicNode;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::client::Client;
use crate::node::{Node, Store};
use crate::wire::{self, Call, ClientError, Reply};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a cluster's nodes store in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// The engine, each node in its own directory under the cluster's.
    Lsm,
    /// Maps in memory.
    Memory,
}

/// Nodes 1, 2 and 3 on loopback ports, their stores under one directory.
#[derive(Debug)]
pub struct Cluster {
    kind: StoreKind,
    dir: PathBuf,
    addrs: BTreeMap<u64, SocketAddr>,
    nodes: BTreeMap<u64, Node>,
}

impl Cluster {
    /// Starts three nodes, makes them one cluster and waits for a leader.
    ///
    /// # Errors
    /// Socket, store and Raft errors; no leader within ten seconds.
    pub async fn start(kind: StoreKind, dir: PathBuf) -> Result<Self, Error> {
        let mut cluster = Self {
            kind,
            dir,
            addrs: BTreeMap::new(),
            nodes: BTreeMap::new(),
        };
        for id in 1..=3 {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            cluster.addrs.insert(id, listener.local_addr()?);
            let node = Node::start(id, listener, &cluster.store(id)).await?;
            cluster.nodes.insert(id, node);
        }
        let members = cluster
            .addrs
            .iter()
            .map(|(&id, addr)| (id, BasicNode::new(addr.to_string())))
            .collect();
        let mut stream = tokio::net::TcpStream::connect(cluster.addrs[&1]).await?;
        match wire::call(&mut stream, &Call::Initialize(members)).await? {
            Reply::Initialize(outcome) => outcome?,
            reply => return Err(format!("unexpected reply {reply:?}").into()),
        }
        cluster.leader(Duration::from_secs(10)).await?;
        Ok(cluster)
    }

    fn store(&self, id: u64) -> Store {
        match self.kind {
            StoreKind::Lsm => Store::Lsm(self.dir.join(format!("node-{id}"))),
            StoreKind::Memory => Store::Memory,
        }
    }

    /// Every node's address, running or not.
    #[must_use]
    pub fn addrs(&self) -> Vec<String> {
        self.addrs.values().map(ToString::to_string).collect()
    }

    /// A client of the cluster.
    #[must_use]
    pub fn client(&self) -> Client {
        Client::new(self.addrs(), Duration::from_secs(10))
    }

    /// The running node `id`.
    #[must_use]
    pub fn node(&self, id: u64) -> Option<&Node> {
        self.nodes.get(&id)
    }

    /// The leader the running nodes agree on, once they do.
    ///
    /// # Errors
    /// No agreement within `patience`.
    pub async fn leader(&self, patience: Duration) -> Result<u64, Error> {
        let deadline = Instant::now() + patience;
        loop {
            let leaders: Vec<_> = self
                .nodes
                .values()
                .map(|node| node.raft().metrics().borrow().current_leader)
                .collect();
            if let Some(Some(leader)) = leaders.first()
                && self.nodes.contains_key(leader)
                && leaders.iter().all(|seen| *seen == Some(*leader))
            {
                return Ok(*leader);
            }
            if Instant::now() >= deadline {
                return Err(
                    ClientError::Failed(format!("no leader agreed on: {leaders:?}")).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops node `id` (its store stays on disk for the engine).
    pub async fn stop(&mut self, id: u64) {
        if let Some(node) = self.nodes.remove(&id) {
            node.stop().await;
        }
    }

    /// Starts node `id` again on its address and store.
    ///
    /// # Errors
    /// As [`Self::start`].
    pub async fn restart(&mut self, id: u64) -> Result<(), Error> {
        let addr = self.addrs.get(&id).ok_or("no such node")?;
        let listener = TcpListener::bind(addr).await?;
        let node = Node::start(id, listener, &self.store(id)).await?;
        self.nodes.insert(id, node);
        Ok(())
    }

    /// Waits until node `id` has applied `index`.
    ///
    /// # Errors
    /// A node not running, or not there within `patience`.
    pub async fn applied(&self, id: u64, index: u64, patience: Duration) -> Result<(), Error> {
        let node = self.nodes.get(&id).ok_or("node not running")?;
        node.raft()
            .wait(Some(patience))
            .applied_index_at_least(Some(index), "catch up")
            .await?;
        Ok(())
    }

    /// Stops every node.
    pub async fn stop_all(mut self) {
        let ids: Vec<_> = self.nodes.keys().copied().collect();
        for id in ids {
            self.stop(id).await;
        }
    }
}
