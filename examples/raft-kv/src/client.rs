//! A client that finds the leader by itself, follows redirections and rides out a
//! leader's death by trying the other nodes until its deadline.

use std::time::Duration;

use lsm_raft::{Request, Response};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::wire::{self, Call, ClientError, Reply, Status};

/// A client of a cluster, by the nodes' addresses.
#[derive(Debug)]
pub struct Client {
    nodes: Vec<String>,
    target: usize,
    stream: Option<TcpStream>,
    patience: Duration,
}

impl Client {
    /// A client of the nodes at `nodes`, giving each call up to `patience` to succeed.
    #[must_use]
    pub fn new(nodes: Vec<String>, patience: Duration) -> Self {
        Self {
            nodes,
            target: 0,
            stream: None,
            patience,
        }
    }

    /// Replicates `request`; returns once a majority has it and the leader applied it.
    /// A write retried after a lost connection may apply twice (each request here is
    /// idempotent).
    ///
    /// # Errors
    /// [`ClientError::Failed`] for a refused request or when no leader answered in time.
    pub async fn write(&mut self, request: Request) -> Result<Response, ClientError> {
        match self.call(Call::Write(request)).await? {
            Reply::Write(outcome) => outcome,
            reply => Err(ClientError::Failed(format!("unexpected reply {reply:?}"))),
        }
    }

    /// Reads `key` linearizably: the answer reflects every write acknowledged before the
    /// read began.
    ///
    /// # Errors
    /// As [`Self::write`].
    pub async fn read(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        match self.call(Call::Read(key.to_vec())).await? {
            Reply::Read(outcome) => outcome,
            reply => Err(ClientError::Failed(format!("unexpected reply {reply:?}"))),
        }
    }

    /// One node's view of the cluster.
    ///
    /// # Errors
    /// Connection errors.
    pub async fn status(addr: &str) -> std::io::Result<Status> {
        let mut stream = wire::connect(addr).await?;
        match wire::call(&mut stream, &Call::Status).await? {
            Reply::Status(status) => Ok(status),
            reply => Err(std::io::Error::other(format!("unexpected reply {reply:?}"))),
        }
    }

    /// Sends `call` to the node it believes leads, following redirections and moving
    /// on from nodes that do not answer, until the deadline.
    async fn call(&mut self, call: Call) -> Result<Reply, ClientError> {
        if self.nodes.is_empty() {
            return Err(ClientError::Failed("no node to call".to_owned()));
        }
        let deadline = Instant::now() + self.patience;
        let mut last_error = ClientError::Failed("no node answered".to_owned());
        while Instant::now() < deadline {
            match self.try_once(&call).await {
                Ok(Reply::Write(Err(ClientError::NotLeader { leader })))
                | Ok(Reply::Read(Err(ClientError::NotLeader { leader }))) => {
                    last_error = ClientError::NotLeader {
                        leader: leader.clone(),
                    };
                    self.stream = None;
                    match leader
                        .and_then(|(_, addr)| self.nodes.iter().position(|node| *node == addr))
                    {
                        Some(index) => self.target = index,
                        None => {
                            self.target = (self.target + 1) % self.nodes.len();
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                Ok(reply) => return Ok(reply),
                Err(error) => {
                    last_error =
                        ClientError::Failed(format!("{}: {error}", self.nodes[self.target]));
                    self.stream = None;
                    self.target = (self.target + 1) % self.nodes.len();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        Err(last_error)
    }

    async fn try_once(&mut self, call: &Call) -> std::io::Result<Reply> {
        let addr = &self.nodes[self.target];
        wire::call_on(&mut self.stream, addr, call, self.patience).await
    }
}
