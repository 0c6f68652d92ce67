//! The log's errors.

use std::io;

/// A log error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file system failed.
    #[error("log I/O: {0}")]
    Io(#[from] io::Error),
    /// A record that is not a torn tail failed its checks (recovery in
    /// [`crate::Recovery::Strict`] stops here).
    #[error("log segment {segment} is damaged at byte {offset}: {reason}")]
    Damaged {
        /// The segment's id.
        segment: u64,
        /// The damaged record's offset in the segment.
        offset: u64,
        /// What failed.
        reason: &'static str,
    },
    /// A segment's header is not one this build reads.
    #[error("log segment {segment} has a bad header: {reason}")]
    BadHeader {
        /// The segment's id (from its file name).
        segment: u64,
        /// What failed.
        reason: &'static str,
    },
    /// Records whose seqnos go backwards.
    #[error("log records out of order: seqno {seqno} after {previous} (segment {segment})")]
    OutOfOrder {
        /// The segment holding the later record (0 when [`crate::Wal::submit`] refused
        /// it).
        segment: u64,
        /// The earlier record's seqno.
        previous: u64,
        /// The later record's seqno.
        seqno: u64,
    },
    /// A write or a sync failed earlier: what was written since is in an unknown state,
    /// so no later write is acknowledged. Reopen the log to recover.
    #[error("the log failed earlier ({0:?}); no write is acknowledged until it is reopened")]
    Poisoned(io::ErrorKind),
    /// The log is encrypted and no key was given.
    #[error("the log is encrypted: a key is required")]
    EncryptionRequired,
    /// A key was given for a log written without encryption.
    #[error("the log was written without encryption")]
    NotEncrypted,
    /// The key is not the one the log was written under.
    #[error("wrong key for this log")]
    WrongKey,
    /// The log's key file is damaged.
    #[error("the log's key file is damaged: {0}")]
    BadKeyFile(&'static str),
    /// The system's random source failed (drawing a new log's salt).
    #[error("the random source failed")]
    Random,
    /// A batch whose encoding is over [`crate::layout::PAYLOAD_LEN_MAX`].
    #[error("a log record of {0} bytes is over the limit")]
    RecordTooLarge(usize),
}

/// A log result.
pub type Result<T> = std::result::Result<T, Error>;
