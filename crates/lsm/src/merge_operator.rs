//! [`MergeOperator`]: user-defined read-modify-write without the read.
//!
//! `merge(key, operand, seqno)` writes an operand; a read folds the operands of a key,
//! oldest first, onto the newest value below them (the base), or onto nothing when a
//! tombstone or the end of the key's history comes first. Flush and compaction fold
//! the operands below their GC watermark the same way, so chains stay short. Without an
//! operator, the newest operand reads as the value.
//!
//! The operator must be deterministic, and associative in the sense that folding a
//! chain in pieces (a compaction folds what it holds, a read folds the rest) gives the
//! same value as folding it at once. An error is returned to the read (or aborts the
//! compaction, which loses nothing).

use std::sync::Arc;

use lsm_core::UserValue;
use lsm_core::mvcc::MergeFn;

use crate::error::{Error, Result};

/// Folds merge operands; see the module docs.
pub trait MergeOperator: Send + Sync + std::panic::RefUnwindSafe + 'static {
    /// The value of `key` after applying `operands` (oldest first) to `base_value`
    /// (`None`: no value, or deleted).
    ///
    /// # Errors
    /// [`Error::MergeOperator`] (or any error) for operands it cannot apply.
    fn merge(&self, key: &[u8], base_value: Option<&[u8]>, operands: &[&[u8]])
    -> Result<UserValue>;
}

/// The operator as the streams' merge function.
pub(crate) fn merge_fn(operator: &Arc<dyn MergeOperator>) -> MergeFn<Error> {
    let operator = Arc::clone(operator);
    Arc::new(move |key: &[u8], base: Option<&[u8]>, operands: &[&[u8]]| {
        operator.merge(key, base, operands)
    })
}
