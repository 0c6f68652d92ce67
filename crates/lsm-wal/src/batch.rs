//! [`WalBatch`]: what one log record holds, and its encoding (`docs/format/wal.md`).

use lsm_core::coding::{Decoder, put_u64, put_varint_u32, put_varint_u64};
use lsm_core::{SeqNo, Slice};

use crate::layout::{
    OP_INSERT, OP_MERGE, OP_REMOVE, OP_REMOVE_RANGE, OP_REMOVE_WEAK, PAYLOAD_LEN_MIN,
};

/// One change of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalOp {
    /// `key` set to `value`.
    Insert {
        /// The key.
        key: Slice,
        /// The value.
        value: Slice,
    },
    /// `key` deleted.
    Remove {
        /// The key.
        key: Slice,
    },
    /// `key`'s newest older version cancelled (a weak delete).
    RemoveWeak {
        /// The key.
        key: Slice,
    },
    /// A merge operand for `key`.
    Merge {
        /// The key.
        key: Slice,
        /// The operand.
        operand: Slice,
    },
    /// Every key from `start` (inclusive) to `end` (exclusive) deleted.
    RemoveRange {
        /// The first key deleted.
        start: Slice,
        /// The first key after the range.
        end: Slice,
    },
}

/// A change to one keyspace (a tree) of the log's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalEntry {
    /// Which keyspace the change belongs to (the owner's numbering).
    pub keyspace: u32,
    /// The change.
    pub op: WalOp,
}

/// Changes that take effect together at one seqno: one log record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalBatch {
    /// The seqno every change of the batch is written at.
    pub seqno: SeqNo,
    /// The changes, in order.
    pub entries: Vec<WalEntry>,
}

impl WalBatch {
    /// An empty batch at `seqno`.
    #[must_use]
    pub fn new(seqno: SeqNo) -> Self {
        Self {
            seqno,
            entries: Vec::new(),
        }
    }

    /// Adds a change to `keyspace`.
    #[must_use]
    pub fn with(mut self, keyspace: u32, op: WalOp) -> Self {
        self.entries.push(WalEntry { keyspace, op });
        self
    }

    /// An upper bound of the encoding's length (to size its buffer once).
    pub(crate) fn encoded_len_bound(&self) -> usize {
        // Seqno, count; per entry a keyspace, an op and two lengths (varints of at most
        // 10 bytes each), and the bytes.
        let bytes: usize = self
            .entries
            .iter()
            .map(|entry| match &entry.op {
                WalOp::Insert { key, value } => key.len() + value.len(),
                WalOp::Remove { key } | WalOp::RemoveWeak { key } => key.len(),
                WalOp::Merge { key, operand } => key.len() + operand.len(),
                WalOp::RemoveRange { start, end } => start.len() + end.len(),
            })
            .sum();
        8 + 10 + self.entries.len() * (5 + 1 + 10 + 10) + bytes
    }

    /// Appends the record payload to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.seqno);
        put_varint_u64(out, self.entries.len() as u64);
        for entry in &self.entries {
            put_varint_u32(out, entry.keyspace);
            let (op, key, value) = match &entry.op {
                WalOp::Insert { key, value } => (OP_INSERT, key, Some(value)),
                WalOp::Remove { key } => (OP_REMOVE, key, None),
                WalOp::RemoveWeak { key } => (OP_REMOVE_WEAK, key, None),
                WalOp::Merge { key, operand } => (OP_MERGE, key, Some(operand)),
                WalOp::RemoveRange { start, end } => (OP_REMOVE_RANGE, start, Some(end)),
            };
            out.push(op);
            put_varint_u64(out, key.len() as u64);
            out.extend_from_slice(key);
            if let Some(value) = value {
                put_varint_u64(out, value.len() as u64);
                out.extend_from_slice(value);
            }
        }
    }

    /// The batch a payload holds; `None` when it is malformed (a record whose checksum
    /// passed but whose contents do not parse is damage all the same).
    pub(crate) fn decode(payload: &[u8]) -> Option<Self> {
        if payload.len() < PAYLOAD_LEN_MIN {
            return None;
        }
        let mut decoder = Decoder::new(payload);
        let seqno = decoder.u64().ok()?;
        let count = decoder.varint_u64().ok()?;
        // Every entry takes at least three bytes: no count beyond what the bytes hold.
        if count > (decoder.remaining() / 3) as u64 {
            return None;
        }
        let mut entries = Vec::with_capacity(usize::try_from(count).ok()?);
        for _ in 0..count {
            let keyspace = decoder.varint_u32().ok()?;
            let op = decoder.u8().ok()?;
            let mut bytes = || -> Option<Slice> {
                let len = decoder.varint_len().ok()?;
                Some(Slice::new(decoder.bytes(len).ok()?))
            };
            let key = bytes()?;
            let op = match op {
                OP_INSERT => WalOp::Insert {
                    key,
                    value: bytes()?,
                },
                OP_REMOVE => WalOp::Remove { key },
                OP_REMOVE_WEAK => WalOp::RemoveWeak { key },
                OP_MERGE => WalOp::Merge {
                    key,
                    operand: bytes()?,
                },
                OP_REMOVE_RANGE => WalOp::RemoveRange {
                    start: key,
                    end: bytes()?,
                },
                _ => return None,
            };
            entries.push(WalEntry { keyspace, op });
        }
        decoder.is_empty().then_some(Self { seqno, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_survives_its_encoding_and_trailing_bytes_do_not() {
        let batch = WalBatch::new(42)
            .with(
                0,
                WalOp::Insert {
                    key: "a".into(),
                    value: "1".into(),
                },
            )
            .with(7, WalOp::Remove { key: "b".into() })
            .with(1, WalOp::RemoveWeak { key: "c".into() })
            .with(
                u32::MAX,
                WalOp::Merge {
                    key: "d".into(),
                    operand: vec![0; 300].into(),
                },
            )
            .with(
                3,
                WalOp::RemoveRange {
                    start: "e".into(),
                    end: "f".into(),
                },
            );
        let mut bytes = Vec::new();
        batch.encode(&mut bytes);
        assert_eq!(WalBatch::decode(&bytes), Some(batch));
        bytes.push(0);
        assert_eq!(WalBatch::decode(&bytes), None);
        for cut in 0..bytes.len() - 1 {
            assert_eq!(WalBatch::decode(&bytes[..cut]), None, "cut at {cut}");
        }
    }
}
