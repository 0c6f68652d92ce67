//! [`DataBlockBuilder`]: encodes sorted internal entries into a data block.
//!
//! Layout (see `docs/format/block.md`):
//!
//! ```text
//! entry*            shared varint | unshared varint | value_len varint | value_type u8
//!                   | seqno varint | key suffix [unshared] | value [value_len]
//! restart offsets   u32 x restart_count (offset of every restart entry; the first is 0)
//! [hash index]      bucket u8 x bucket_count | bucket_count u16      (if flagged)
//! trailer           restart_count u32 | flags u8
//! ```
//!
//! Every `restart_interval`-th entry is a restart: it stores its whole user key
//! (`shared == 0`), so a reader can binary-search the restarts and decode forward from
//! any of them. Between restarts, a key stores only the suffix it does not share with
//! the previous key.
//!
//! Invariant (asserted, also in release builds): entries arrive in strictly increasing
//! internal-key order. A violation is a bug in the caller, not bad input.

use std::cmp::Ordering;

use lsm_core::coding::{put_u16, put_u32, put_varint_u32, put_varint_u64};
use lsm_core::limits::{USER_KEY_LEN_MAX, USER_KEY_LEN_MIN};
use lsm_core::{InternalEntry, KeyOrder, SeqNo, ValueType};

use crate::hash_index;
use crate::layout::{
    BLOCK_FLAG_HASH_INDEX, BLOCK_TRAILER_LEN, HASH_RESTART_COUNT_MAX, RESTART_INTERVAL_DEFAULT,
    RESTART_INTERVAL_MAX, RESTART_OFFSET_LEN,
};

/// Builds one data block (or, through [`crate::IndexBlockBuilder`], one index block).
#[derive(Debug, Clone)]
pub struct DataBlockBuilder {
    buffer: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    entries_since_restart: usize,
    entry_count: usize,
    last_key: Vec<u8>,
    last_seqno: SeqNo,
    last_value_type: ValueType,
    /// Hash buckets per distinct user key; 0 turns the hash index off.
    hash_ratio: f64,
    /// `(hash of user key, restart index)` for the first entry of each user key.
    hash_entries: Vec<(u64, usize)>,
    /// The order entries must come in.
    order: KeyOrder,
}

impl DataBlockBuilder {
    /// A builder with a restart every `restart_interval` entries and no hash index.
    ///
    /// # Panics
    /// When `restart_interval` is 0 or above [`RESTART_INTERVAL_MAX`].
    #[must_use]
    pub fn new(restart_interval: usize) -> Self {
        assert!(
            (1..=RESTART_INTERVAL_MAX).contains(&restart_interval),
            "restart interval {restart_interval} outside 1..={RESTART_INTERVAL_MAX}"
        );
        Self {
            buffer: Vec::new(),
            restarts: Vec::new(),
            restart_interval,
            entries_since_restart: 0,
            entry_count: 0,
            last_key: Vec::new(),
            last_seqno: 0,
            last_value_type: ValueType::Value,
            hash_ratio: 0.0,
            hash_entries: Vec::new(),
            order: KeyOrder::lexicographic(),
        }
    }

    /// Adds an in-block hash index with `ratio` buckets per distinct user key (0 = off).
    ///
    /// The index answers point lookups without a binary search. It is written only when
    /// the block has at most 254 restart intervals.
    ///
    /// # Panics
    /// When `ratio` is negative or not finite.
    #[must_use]
    pub fn with_hash_index(mut self, ratio: f64) -> Self {
        assert!(
            ratio.is_finite() && ratio >= 0.0,
            "invalid hash index ratio {ratio}"
        );
        self.hash_ratio = ratio;
        self
    }

    /// The builder for keys in `order` (lexicographic by default).
    #[must_use]
    pub fn with_order(mut self, order: &KeyOrder) -> Self {
        self.order = order.clone();
        self
    }

    /// Adds an entry.
    ///
    /// # Panics
    /// When the entry does not sort strictly after the previous one, or the key or value
    /// is outside the limits (callers check user input before it reaches a block).
    pub fn add(&mut self, user_key: &[u8], seqno: SeqNo, value_type: ValueType, value: &[u8]) {
        assert!(
            (USER_KEY_LEN_MIN..=USER_KEY_LEN_MAX).contains(&user_key.len()),
            "user key length {} outside the limits",
            user_key.len()
        );
        let value_len = u32::try_from(value.len()).expect("values are below 4 GiB (limits.rs)");
        if self.entry_count > 0 {
            let ordering = self.order.cmp_parts(
                (&self.last_key, self.last_seqno, self.last_value_type),
                (user_key, seqno, value_type),
            );
            assert!(ordering == Ordering::Less, "block entries out of order");
        }

        let is_restart = self
            .entries_since_restart
            .is_multiple_of(self.restart_interval);
        let shared = if is_restart {
            let offset = u32::try_from(self.buffer.len()).expect("block offsets fit in u32");
            self.restarts.push(offset);
            self.entries_since_restart = 0;
            0
        } else {
            shared_prefix_len(&self.last_key, user_key)
        };
        let is_new_user_key = self.entry_count == 0 || self.last_key != user_key;
        if is_new_user_key && self.hash_ratio > 0.0 {
            self.hash_entries
                .push((hash_index::hash(user_key), self.restarts.len() - 1));
        }

        let suffix = &user_key[shared..];
        put_varint_u32(&mut self.buffer, len_u32(shared));
        put_varint_u32(&mut self.buffer, len_u32(suffix.len()));
        put_varint_u32(&mut self.buffer, value_len);
        self.buffer.push(value_type.tag());
        put_varint_u64(&mut self.buffer, seqno);
        self.buffer.extend_from_slice(suffix);
        self.buffer.extend_from_slice(value);

        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(suffix);
        self.last_seqno = seqno;
        self.last_value_type = value_type;
        self.entries_since_restart += 1;
        self.entry_count += 1;
    }

    /// Adds an entry.
    ///
    /// # Panics
    /// As [`Self::add`].
    pub fn add_entry(&mut self, entry: &InternalEntry) {
        self.add(
            &entry.key.user_key,
            entry.key.seqno,
            entry.key.value_type,
            &entry.value,
        );
    }

    /// How many entries were added since the last [`Self::finish`].
    #[must_use]
    pub fn entry_count(&self) -> usize {
        self.entry_count
    }

    /// Whether no entry was added since the last [`Self::finish`].
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entry_count == 0
    }

    /// The length the block would have if finished now, without a hash index.
    #[must_use]
    pub fn estimated_len(&self) -> usize {
        self.buffer.len() + self.restarts.len().max(1) * RESTART_OFFSET_LEN + BLOCK_TRAILER_LEN
    }

    /// The last user key added, if any.
    #[must_use]
    pub fn last_user_key(&self) -> Option<&[u8]> {
        (self.entry_count > 0).then_some(self.last_key.as_slice())
    }

    /// Encodes the block and resets the builder for the next one.
    ///
    /// # Panics
    /// When no entry was added: a block holds at least one entry.
    #[must_use]
    pub fn finish(&mut self) -> Vec<u8> {
        assert!(self.entry_count > 0, "finishing an empty block");
        let mut block = std::mem::take(&mut self.buffer);
        for &restart in &self.restarts {
            put_u32(&mut block, restart);
        }
        let mut flags = 0;
        let restart_count = self.restarts.len();
        if self.hash_ratio > 0.0 && restart_count > 0 && restart_count <= HASH_RESTART_COUNT_MAX {
            let buckets = hash_index::build(&self.hash_entries, self.hash_ratio);
            block.extend_from_slice(&buckets);
            let bucket_count = u16::try_from(buckets.len()).expect("bucket count is capped");
            put_u16(&mut block, bucket_count);
            flags |= BLOCK_FLAG_HASH_INDEX;
        }
        put_u32(&mut block, len_u32(restart_count));
        block.push(flags);

        self.restarts.clear();
        self.hash_entries.clear();
        self.entries_since_restart = 0;
        self.entry_count = 0;
        self.last_key.clear();
        block
    }
}

impl Default for DataBlockBuilder {
    fn default() -> Self {
        Self::new(RESTART_INTERVAL_DEFAULT)
    }
}

fn shared_prefix_len(left: &[u8], right: &[u8]) -> usize {
    left.iter()
        .zip(right)
        .take_while(|(left_byte, right_byte)| left_byte == right_byte)
        .count()
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("lengths inside a block fit in u32")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "out of order")]
    fn out_of_order_entries_are_a_bug() {
        let mut builder = DataBlockBuilder::default();
        builder.add(b"b", 1, ValueType::Value, b"");
        builder.add(b"a", 1, ValueType::Value, b"");
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn older_version_before_newer_is_a_bug() {
        let mut builder = DataBlockBuilder::default();
        builder.add(b"a", 1, ValueType::Value, b"");
        builder.add(b"a", 2, ValueType::Value, b"");
    }

    #[test]
    fn prefix_truncation_shares_with_previous_key() {
        let mut builder = DataBlockBuilder::new(4);
        builder.add(b"apple", 1, ValueType::Value, b"x");
        builder.add(b"apply", 1, ValueType::Value, b"y");
        let block = builder.finish();
        // Second entry: shared 4, unshared 1, value_len 1, type 0, seqno 1, "y", "y".
        let second = &block[11..18];
        assert_eq!(second, &[4, 1, 1, 0, 1, b'y', b'y']);
        assert!(builder.is_empty());
    }
}
