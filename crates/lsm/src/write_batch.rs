//! [`WriteBatch`]: writes applied together at one seqno.
//!
//! [`crate::AbstractTree::apply_batch`] writes every entry at the batch's seqno while
//! holding the write gate (so no memtable is sealed, and no flush can make part of the
//! batch durable, between two of its entries), then publishes the visible seqno past it:
//! readers at the visible seqno see all of the batch or none of it.
//!
//! One key takes one kind of operation per batch: repeated merges of a key are folded in
//! batch order (with the tree's merge operator into one operand, which its associativity
//! allows; without one, the last operand is the value, as a read would see it); any
//! other mix on one key is refused with [`Error::MixedOperationBatch`]. Repeating an
//! insert or a delete of a key keeps the last.

use std::collections::HashMap;

use lsm_core::{InternalEntry, SeqNo, UserKey, UserValue, ValueType};

use crate::error::{Error, Result};
use crate::merge_operator::MergeOperator;

/// Writes applied together; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    entries: Vec<(UserKey, UserValue, ValueType)>,
}

impl WriteBatch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `capacity` entries.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Writes `key` = `value`.
    pub fn insert<K: Into<UserKey>, V: Into<UserValue>>(&mut self, key: K, value: V) {
        self.entries
            .push((key.into(), value.into(), ValueType::Value));
    }

    /// Deletes `key`.
    pub fn remove<K: Into<UserKey>>(&mut self, key: K) {
        self.entries
            .push((key.into(), UserValue::empty(), ValueType::Tombstone));
    }

    /// Deletes `key` with a weak tombstone.
    pub fn remove_weak<K: Into<UserKey>>(&mut self, key: K) {
        self.entries
            .push((key.into(), UserValue::empty(), ValueType::WeakTombstone));
    }

    /// Writes a merge operand for `key`.
    pub fn merge<K: Into<UserKey>, V: Into<UserValue>>(&mut self, key: K, operand: V) {
        self.entries
            .push((key.into(), operand.into(), ValueType::MergeOperand));
    }

    /// Entries written so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entries to write at `seqno`, one per key (see the module docs).
    pub(crate) fn into_entries(
        self,
        seqno: SeqNo,
        operator: Option<&dyn MergeOperator>,
    ) -> Result<Vec<InternalEntry>> {
        let mut slot_of: HashMap<UserKey, usize> = HashMap::with_capacity(self.entries.len());
        let mut slots: Vec<(UserKey, ValueType, Vec<UserValue>)> = Vec::new();
        for (key, value, value_type) in self.entries {
            match slot_of.get(&key) {
                Some(&slot) => {
                    let (_, kind, values) = &mut slots[slot];
                    if *kind != value_type {
                        return Err(Error::MixedOperationBatch);
                    }
                    if value_type == ValueType::MergeOperand {
                        values.push(value);
                    } else {
                        *values = vec![value];
                    }
                }
                None => {
                    slot_of.insert(key.clone(), slots.len());
                    slots.push((key, value_type, vec![value]));
                }
            }
        }
        slots
            .into_iter()
            .map(|(key, value_type, mut values)| {
                let value = match (value_type, operator) {
                    (ValueType::MergeOperand, Some(operator)) if values.len() > 1 => {
                        let operands: Vec<&[u8]> =
                            values.iter().map(|value| value.as_bytes()).collect();
                        operator.merge(&key, None, &operands)?
                    }
                    _ => values.pop().unwrap_or_default(),
                };
                Ok(InternalEntry::new(key, value, seqno, value_type))
            })
            .collect()
    }
}
