//! What a command can end with, and the exit status of each.

use std::fmt;

/// The exit statuses of `lsm` (also in the crate docs and `lsm --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The command did what it was asked and found nothing wrong.
    Ok = 0,
    /// The answer is negative: damage found (`verify`), a key not found (`get`).
    Negative = 1,
    /// The command line is wrong (also what the argument parser exits with).
    Usage = 2,
    /// No tree (or tree file) at the path given.
    NotFound = 3,
    /// The key: missing, wrong, unreadable, or given to a tree without encryption.
    Key = 4,
    /// Another process has the tree open.
    Locked = 5,
    /// Anything else: I/O errors, a tree that does not open, another key order.
    Failed = 6,
}

/// A command's failure: the status to exit with and what to tell the user.
#[derive(Debug)]
pub struct CliError {
    /// The exit status.
    pub status: Status,
    /// The message (one line).
    pub message: String,
}

impl CliError {
    /// A failure with `status`.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<lsm::Error> for CliError {
    fn from(error: lsm::Error) -> Self {
        use lsm::Error;
        let status = match &error {
            Error::WrongKey | Error::EncryptionRequired | Error::NotEncrypted => Status::Key,
            Error::Locked(_) => Status::Locked,
            Error::NotATreeFile { .. } => Status::NotFound,
            Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => Status::NotFound,
            _ => Status::Failed,
        };
        let hint = match &error {
            Error::ManifestMissing(_) => " (run `lsm repair` to rebuild it)",
            Error::Locked(_) => " (close the program that has it open)",
            _ => "",
        };
        Self::new(status, format!("{error}{hint}"))
    }
}

/// A command's result.
pub type Result<T> = std::result::Result<T, CliError>;
