//! The messages nodes and clients exchange, and their framing on a TCP stream: a `u32`
//! little-endian length, then the message's postcard encoding.

use std::collections::BTreeMap;

use lsm_raft::{Request, Response, TypeConfig};
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest frame either side accepts (a snapshot chunk is far smaller).
pub const FRAME_LEN_MAX: usize = 64 << 20;

/// What a peer or a client asks a node.
#[derive(Debug, Serialize, Deserialize)]
pub enum Call {
    /// Raft: replicate entries (or a heartbeat).
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// Raft: a candidate asks for a vote.
    Vote(VoteRequest<u64>),
    /// Raft: a chunk of a snapshot.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// Client: make this node's cluster out of these members (once, on one node).
    Initialize(BTreeMap<u64, BasicNode>),
    /// Client: replicate a change (the leader only).
    Write(Request),
    /// Client: a linearizable read of one key (the leader only).
    Read(Vec<u8>),
    /// Client: who this node believes leads, and its last applied index.
    Status,
}

/// Why a client call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientError {
    /// This node does not lead; the leader, if it knows one.
    NotLeader {
        /// The leader's id and address.
        leader: Option<(u64, String)>,
    },
    /// Anything else, as text.
    Failed(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotLeader {
                leader: Some((id, addr)),
            } => {
                write!(f, "not the leader; node {id} at {addr} is")
            }
            Self::NotLeader { leader: None } => f.write_str("not the leader; no leader known"),
            Self::Failed(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for ClientError {}

/// A node's view of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's id.
    pub id: u64,
    /// The leader it knows of.
    pub leader: Option<u64>,
    /// Its current term.
    pub term: u64,
    /// The last log index it applied.
    pub applied: Option<u64>,
}

/// A node's answer, matching the call.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// To [`Call::AppendEntries`].
    AppendEntries(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    /// To [`Call::Vote`].
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    /// To [`Call::InstallSnapshot`].
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
    /// To [`Call::Initialize`].
    Initialize(Result<(), ClientError>),
    /// To [`Call::Write`].
    Write(Result<Response, ClientError>),
    /// To [`Call::Read`].
    Read(Result<Option<Vec<u8>>, ClientError>),
    /// To [`Call::Status`].
    Status(Status),
}

/// Writes one framed message.
///
/// # Errors
/// Encoding and socket errors.
pub async fn send<T: Serialize>(stream: &mut TcpStream, message: &T) -> std::io::Result<()> {
    let bytes = postcard::to_allocvec(message).map_err(std::io::Error::other)?;
    if bytes.len() > FRAME_LEN_MAX {
        return Err(std::io::Error::other("message over the frame limit"));
    }
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    stream.write_all(&len.to_le_bytes()).await?;
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// Reads one framed message; `None` when the peer closed the stream between messages.
///
/// # Errors
/// Socket errors, an oversize frame, and bytes that do not decode.
pub async fn receive<T: DeserializeOwned>(stream: &mut TcpStream) -> std::io::Result<Option<T>> {
    let mut len = [0; 4];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > FRAME_LEN_MAX {
        return Err(std::io::Error::other("frame over the limit"));
    }
    let mut bytes = vec![0; len];
    stream.read_exact(&mut bytes).await?;
    postcard::from_bytes(&bytes)
        .map(Some)
        .map_err(std::io::Error::other)
}

/// Opens a connection for calls (small frames go out at once).
///
/// # Errors
/// Connection errors.
pub async fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// [`call`] on the connection in `slot`, opened to `addr` first when there is none,
/// within `deadline`; any failure empties the slot so that the next call reconnects.
///
/// # Errors
/// As [`call`], and `TimedOut` past the deadline.
pub async fn call_on(
    slot: &mut Option<TcpStream>,
    addr: &str,
    message: &Call,
    deadline: std::time::Duration,
) -> std::io::Result<Reply> {
    let attempt = async {
        if slot.is_none() {
            *slot = Some(connect(addr).await?);
        }
        let stream = slot.as_mut().ok_or(std::io::ErrorKind::NotConnected)?;
        call(stream, message).await
    };
    let outcome = match tokio::time::timeout(deadline, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    };
    if outcome.is_err() {
        *slot = None;
    }
    outcome
}

/// One call on an open connection, and its reply.
///
/// # Errors
/// As [`send`] and [`receive`]; a closed stream is `UnexpectedEof`.
pub async fn call(stream: &mut TcpStream, message: &Call) -> std::io::Result<Reply> {
    send(stream, message).await?;
    receive(stream)
        .await?
        .ok_or_else(|| std::io::ErrorKind::UnexpectedEof.into())
}
