//! Every size bound of the engine's vocabulary, in one place.
//!
//! Each loop, buffer and field that could otherwise grow without bound is capped by a
//! named constant here. The compile-time assertions at the end tie them together.

/// Shortest user key, in bytes. The empty key is reserved.
pub const USER_KEY_LEN_MIN: usize = 1;

/// Longest user key, in bytes (stored as a `u16` length where a format needs one).
pub const USER_KEY_LEN_MAX: usize = 65_535;

/// Longest value, in bytes: values are stored with `u32` lengths, so strictly below 4 GiB.
pub const VALUE_LEN_MAX: u64 = u32::MAX as u64;

/// Longest LEB128 encoding of a `u64`.
pub const VARINT_U64_LEN_MAX: usize = 10;

/// Longest LEB128 encoding of a `u32`.
pub const VARINT_U32_LEN_MAX: usize = 5;

/// Most streams one merge may combine (memtables plus tables of every level).
pub const MERGE_SOURCE_COUNT_MAX: usize = 1 << 16;

const _: () = assert!(USER_KEY_LEN_MAX == u16::MAX as usize);
const _: () = assert!(USER_KEY_LEN_MIN >= 1);
const _: () = assert!(VALUE_LEN_MAX == 0xFFFF_FFFF);
const _: () = assert!(VARINT_U64_LEN_MAX * 7 >= 64);
const _: () = assert!(VARINT_U32_LEN_MAX * 7 >= 32);

/// Checks a user key's length against the limits.
///
/// # Errors
/// [`crate::Error::KeyLength`] when the key is empty or too long.
pub fn check_user_key(key: &[u8]) -> crate::Result<()> {
    if (USER_KEY_LEN_MIN..=USER_KEY_LEN_MAX).contains(&key.len()) {
        Ok(())
    } else {
        Err(crate::Error::KeyLength {
            len_bytes: key.len(),
            max: USER_KEY_LEN_MAX,
        })
    }
}

/// Checks a value's length against the limits.
///
/// # Errors
/// [`crate::Error::ValueLength`] when the value is 4 GiB or longer.
pub fn check_value(value: &[u8]) -> crate::Result<()> {
    let len_bytes = value.len() as u64;
    if len_bytes <= VALUE_LEN_MAX {
        Ok(())
    } else {
        Err(crate::Error::ValueLength {
            len_bytes,
            max: VALUE_LEN_MAX,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_limits_are_inclusive() {
        assert!(check_user_key(b"").is_err());
        assert!(check_user_key(b"a").is_ok());
        assert!(check_user_key(&vec![0; USER_KEY_LEN_MAX]).is_ok());
        assert!(check_user_key(&vec![0; USER_KEY_LEN_MAX + 1]).is_err());
    }
}
