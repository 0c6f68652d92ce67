//! Checks of what a caller writes against the engine's limits.
//!
//! Owns the write-side argument rules: a user key is 1 to `USER_KEY_LEN_MAX` bytes, a
//! value at most `VALUE_LEN_MAX` bytes, a range-tombstone bound at most
//! `USER_KEY_LEN_MAX` bytes (the empty start bound is valid: it covers from the smallest
//! key), and a seqno at most [`MAX_SEQNO`]. The `try_*` writes and
//! [`crate::AbstractTree::apply_batch`] return [`Error::InvalidArgument`] before writing
//! anything; the plain writes panic on the same rules, by contract.

use lsm_core::limits::{self, USER_KEY_LEN_MAX, USER_KEY_LEN_MIN, VALUE_LEN_MAX};
use lsm_core::{InternalEntry, MAX_SEQNO, RangeTombstone, SeqNo};

use crate::error::{Argument, Error, Result};

/// Checks a key, a value and a seqno a caller writes.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the first argument out of its limits.
pub(crate) fn check_write(key: &[u8], value: &[u8], seqno: SeqNo) -> Result<()> {
    // The rules are the vocabulary's (`lsm_core::limits`); this names what broke them.
    limits::check_user_key(key).map_err(|_| {
        let len = key.len() as u64;
        let limit = if key.len() < USER_KEY_LEN_MIN {
            USER_KEY_LEN_MIN
        } else {
            USER_KEY_LEN_MAX
        };
        Error::InvalidArgument {
            what: Argument::KeyLength,
            len,
            limit: limit as u64,
        }
    })?;
    limits::check_value(value).map_err(|_| Error::InvalidArgument {
        what: Argument::ValueLength,
        len: value.len() as u64,
        limit: VALUE_LEN_MAX,
    })?;
    check_seqno(seqno)
}

/// Checks an entry a caller writes (as [`check_write`]).
///
/// # Errors
/// As [`check_write`].
pub(crate) fn check_entry(entry: &InternalEntry) -> Result<()> {
    check_write(&entry.key.user_key, &entry.value, entry.key.seqno)
}

/// Checks the bounds and seqno of a range delete a caller writes (bounds in any order:
/// an empty range writes nothing but is still checked).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the first argument out of its limits.
pub(crate) fn check_range(start: &[u8], end: &[u8], seqno: SeqNo) -> Result<()> {
    for bound in [start, end] {
        check_len(
            Argument::RangeBoundLength,
            bound.len() as u64,
            USER_KEY_LEN_MAX as u64,
        )?;
    }
    check_seqno(seqno)
}

/// Checks a range tombstone a caller writes (as [`check_range`]).
///
/// # Errors
/// As [`check_range`].
pub(crate) fn check_range_tombstone(tombstone: &RangeTombstone) -> Result<()> {
    check_range(&tombstone.start, &tombstone.end, tombstone.seqno)
}

/// Checks a seqno a caller writes at.
///
/// # Errors
/// [`Error::InvalidArgument`] when it is above [`MAX_SEQNO`].
pub(crate) fn check_seqno(seqno: SeqNo) -> Result<()> {
    check_len(Argument::Seqno, seqno, MAX_SEQNO)
}

fn check_len(what: Argument, len: u64, max: u64) -> Result<()> {
    if len <= max {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what,
            len,
            limit: max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::describe;

    fn rejected(result: Result<()>) -> Option<(Argument, u64, u64)> {
        match result {
            Ok(()) => None,
            Err(Error::InvalidArgument { what, len, limit }) => Some((what, len, limit)),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn keys_and_values_are_checked_at_both_ends_of_their_limits() {
        let max = USER_KEY_LEN_MAX;
        assert_eq!(
            rejected(check_write(b"", b"", 0)),
            Some((Argument::KeyLength, 0, 1))
        );
        assert_eq!(rejected(check_write(b"k", b"", 0)), None);
        assert_eq!(rejected(check_write(&vec![7; max], b"v", 0)), None);
        assert_eq!(
            rejected(check_write(&vec![7; max + 1], b"v", 0)),
            Some((Argument::KeyLength, max as u64 + 1, max as u64))
        );
        assert_eq!(rejected(check_write(b"k", b"v", MAX_SEQNO)), None);
        assert_eq!(
            rejected(check_write(b"k", b"v", MAX_SEQNO + 1)),
            Some((Argument::Seqno, MAX_SEQNO + 1, MAX_SEQNO))
        );
    }

    #[test]
    fn range_bounds_may_be_empty_but_not_too_long() {
        let max = USER_KEY_LEN_MAX;
        assert_eq!(rejected(check_range(b"", b"", 0)), None);
        assert_eq!(rejected(check_range(b"", &vec![1; max], 0)), None);
        assert_eq!(
            rejected(check_range(&vec![1; max + 1], b"z", 0)),
            Some((Argument::RangeBoundLength, max as u64 + 1, max as u64))
        );
        assert_eq!(
            rejected(check_range(b"a", b"b", SeqNo::MAX)),
            Some((Argument::Seqno, SeqNo::MAX, MAX_SEQNO))
        );
    }

    #[test]
    fn the_message_says_which_bound_was_broken() {
        assert_eq!(
            describe(Argument::KeyLength, 0, 1),
            "key length 0 is below the minimum of 1"
        );
        assert_eq!(
            describe(Argument::ValueLength, 9, 8),
            "value length 9 is above the maximum of 8"
        );
    }
}
