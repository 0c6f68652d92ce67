//! openraft's network over loopback TCP: one connection per peer, opened on first use
//! and again after any failure.

use lsm_raft::TypeConfig;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
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

/// What Raft on the peer answered.
type Outcome<T, E> = Result<T, RaftError<u64, E>>;

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

impl Peer {
    /// Sends `call` within the call's deadline and takes the answer `pick` expects: a
    /// peer that cannot be reached, or answers something else, is an error of the
    /// network; an error Raft raised on the peer is the peer's.
    async fn rpc<T, E: std::error::Error>(
        &mut self,
        call: Call,
        option: &RPCOption,
        pick: fn(Reply) -> Option<Outcome<T, E>>,
    ) -> RpcResult<T, E> {
        let reply = wire::call_on(&mut self.stream, &self.addr, &call, option.hard_ttl())
            .await
            .map_err(|error| RPCError::Unreachable(Unreachable::new(&error)))?;
        match pick(reply) {
            Some(Ok(response)) => Ok(response),
            Some(Err(error)) => Err(RPCError::RemoteError(RemoteError::new(self.target, error))),
            None => {
                let error = std::io::Error::other(format!(
                    "node {} answered with another kind of message",
                    self.target
                ));
                Err(RPCError::Network(NetworkError::new(&error)))
            }
        }
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        self.rpc(Call::AppendEntries(rpc), &option, |reply| match reply {
            Reply::AppendEntries(outcome) => Some(outcome),
            _ => None,
        })
        .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        self.rpc(Call::InstallSnapshot(rpc), &option, |reply| match reply {
            Reply::InstallSnapshot(outcome) => Some(outcome),
            _ => None,
        })
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<u64>> {
        self.rpc(Call::Vote(rpc), &option, |reply| match reply {
            Reply::Vote(outcome) => Some(outcome),
            _ => None,
        })
        .await
    }
}
