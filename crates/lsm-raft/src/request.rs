//! The commands the key-value state machine applies, and what it answers.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

/// A change to the replicated key-value map: the application data of a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Sets `key` to `value`.
    Set {
        /// The key.
        key: Vec<u8>,
        /// Its new value.
        value: Vec<u8>,
    },
    /// Removes `key`.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
    /// Removes every key from `start` (inclusive) to `end` (exclusive).
    DeleteRange {
        /// The first key removed.
        start: Vec<u8>,
        /// The first key kept.
        end: Vec<u8>,
    },
    /// Several requests in one log entry, applied in order and all together: how a
    /// server turns many concurrent client writes into one append and one sync.
    Batch(Vec<Request>),
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Set { key, value } => {
                write!(f, "set {} ({} bytes)", key.escape_ascii(), value.len())
            }
            Self::Delete { key } => write!(f, "delete {}", key.escape_ascii()),
            Self::DeleteRange { start, end } => {
                write!(
                    f,
                    "delete [{}, {})",
                    start.escape_ascii(),
                    end.escape_ascii()
                )
            }
            Self::Batch(requests) => write!(f, "batch of {}", requests.len()),
        }
    }
}

/// The longest user key the map holds: the engine's key limit less the byte the state
/// machine's key layout puts in front of it.
pub const KEY_LEN_MAX: usize = u16::MAX as usize - 1;

/// The longest value the map holds: the engine's value limit.
pub const VALUE_LEN_MAX: usize = u32::MAX as usize;

/// Why the state machine refused a request (every replica refuses it alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestError {
    /// A key longer than [`KEY_LEN_MAX`].
    KeyTooLong {
        /// Its length.
        len: usize,
    },
    /// A value longer than [`VALUE_LEN_MAX`].
    ValueTooLong {
        /// Its length.
        len: usize,
    },
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyTooLong { len } => {
                write!(f, "a key of {len} bytes is longer than {KEY_LEN_MAX}")
            }
            Self::ValueTooLong { len } => {
                write!(f, "a value of {len} bytes is longer than {VALUE_LEN_MAX}")
            }
        }
    }
}

impl std::error::Error for RequestError {}

impl Request {
    /// Whether the state machine will apply the request: check it before proposing it,
    /// since a refused request still takes its place in the log. A batch is refused
    /// whole when any of its requests is.
    ///
    /// # Errors
    /// A key or value over the limits.
    pub fn check(&self) -> Result<(), RequestError> {
        let key_ok = |key: &[u8]| {
            if key.len() > KEY_LEN_MAX {
                Err(RequestError::KeyTooLong { len: key.len() })
            } else {
                Ok(())
            }
        };
        match self {
            Self::Set { key, value } => {
                key_ok(key)?;
                if value.len() > VALUE_LEN_MAX {
                    return Err(RequestError::ValueTooLong { len: value.len() });
                }
                Ok(())
            }
            Self::Delete { key } => key_ok(key),
            Self::DeleteRange { start, end } => key_ok(start).and_then(|()| key_ok(end)),
            Self::Batch(requests) => requests.iter().try_for_each(Self::check),
        }
    }
}

/// What applying a log entry answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The entry's log index, so that a client can wait for a replica to have applied
    /// its own write.
    pub log_index: u64,
    /// Why the request was refused (nothing changed), or `None` once it is applied.
    pub refused: Option<RequestError>,
}

openraft::declare_raft_types!(
    /// The Raft type configuration of a replicated key-value map: [`Request`] entries,
    /// `u64` node ids, [`openraft::BasicNode`] addresses, snapshots as byte streams, on
    /// tokio.
    pub TypeConfig:
        D = Request,
        R = Response,
);
