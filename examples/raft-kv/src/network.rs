//! openraft's network over loopback TCP: one connection per peer, opened on first use
//! and again after any failure.

use lsm_raft::TypeConfig;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory};
use tokio::net::TcpStream;

use crate::wire::{self, Call, Reply};

/// Makes a [`Peer`] for each node the leader replicates to.
#[derive(Clone, Debug, Default)]
pub struct Network;

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Peer {
        Peer {
            target,
            addr: node.addr.clone(),
            stream: None,
        }
    }
}

/// The connection to one peer.
#[derive(Debug)]
pub struct Peer {
    target: u64,
    addr: String,
    stream: Option<TcpStream>,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

impl Peer {
    /// Sends `call` within the call's deadline; a failure drops the connection, so the
    /// next call reconnects.
    async fn call(&mut self, call: Call, option: &RPCOption) -> Result<Reply, std::io::Error> {
        let attempt = async {
            if self.stream.is_none() {
                let stream = TcpStream::connect(&self.addr).await?;
                stream.set_nodelay(true)?;
                self.stream = Some(stream);
            }
            let stream = self
                .stream
                .as_mut()
                .ok_or(std::io::ErrorKind::NotConnected)?;
            wire::call(stream, &call).await
        };
        let outcome = match tokio::time::timeout(option.hard_ttl(), attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        };
        if outcome.is_err() {
            self.stream = None;
        }
        outcome
    }

    fn unexpected<E: std::error::Error>(
        &self,
        reply: &Reply,
    ) -> RPCError<u64, BasicNode, RaftError<u64, E>> {
        let error = std::io::Error::other(format!("node {} answered {reply:?}", self.target));
        RPCError::Network(NetworkError::new(&error))
    }
}

fn unreachable<E: std::error::Error>(
    error: &std::io::Error,
) -> RPCError<u64, BasicNode, RaftError<u64, E>> {
    RPCError::Unreachable(Unreachable::new(error))
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        match self.call(Call::AppendEntries(rpc), &option).await {
            Ok(Reply::AppendEntries(Ok(response))) => Ok(response),
            Ok(Reply::AppendEntries(Err(error))) => Err(RPCError::RemoteError(
                openraft::error::RemoteError::new(self.target, error),
            )),
            Ok(reply) => Err(self.unexpected(&reply)),
            Err(error) => Err(unreachable(&error)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        match self.call(Call::InstallSnapshot(rpc), &option).await {
            Ok(Reply::InstallSnapshot(Ok(response))) => Ok(response),
            Ok(Reply::InstallSnapshot(Err(error))) => Err(RPCError::RemoteError(
                openraft::error::RemoteError::new(self.target, error),
            )),
            Ok(reply) => Err(self.unexpected(&reply)),
            Err(error) => Err(unreachable(&error)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<u64>> {
        match self.call(Call::Vote(rpc), &option).await {
            Ok(Reply::Vote(Ok(response))) => Ok(response),
            Ok(Reply::Vote(Err(error))) => Err(RPCError::RemoteError(
                openraft::error::RemoteError::new(self.target, error),
            )),
            Ok(reply) => Err(self.unexpected(&reply)),
            Err(error) => Err(unreachable(&error)),
        }
    }
}
