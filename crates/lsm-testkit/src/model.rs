//! Helpers shared by model-based tests.

use std::ops::Bound;

use lsm_core::{InternalEntry, SeqNo, ValueType};

use proptest::prelude::{Just, Strategy, prop_oneof};

/// Whether `key` lies within the user-key bounds `lower`..`upper`.
#[must_use]
pub fn in_bounds(key: &[u8], lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    in_bounds_in(&lsm_core::KeyOrder::lexicographic(), key, lower, upper)
}

/// Whether `key` lies within `lower..upper` in `order`.
pub fn in_bounds_in(
    order: &lsm_core::KeyOrder,
    key: &[u8],
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
) -> bool {
    order.contains(lower.as_ref(), upper.as_ref(), key)
}

/// Range bounds over keys drawn from `keys()`: included, excluded or unbounded.
pub fn bound_strategy<S>(keys: impl Fn() -> S) -> impl Strategy<Value = Bound<Vec<u8>>>
where
    S: Strategy<Value = Vec<u8>>,
{
    prop_oneof![
        keys().prop_map(Bound::Included),
        keys().prop_map(Bound::Excluded),
        Just(Bound::Unbounded),
    ]
}

/// Entries in internal-key order with one version per (user key, seqno), as the engine
/// guarantees: what blocks, memtables and tables are built from in model tests.
#[must_use]
pub fn sorted_entries(raw: Vec<(Vec<u8>, SeqNo, ValueType, Vec<u8>)>) -> Vec<InternalEntry> {
    sorted_entries_in(&lsm_core::KeyOrder::lexicographic(), raw)
}

/// [`sorted_entries`] in `order`.
pub fn sorted_entries_in(
    order: &lsm_core::KeyOrder,
    raw: Vec<(Vec<u8>, SeqNo, ValueType, Vec<u8>)>,
) -> Vec<InternalEntry> {
    let mut entries: Vec<InternalEntry> = raw
        .into_iter()
        .map(|(key, seqno, value_type, value)| InternalEntry::new(key, value, seqno, value_type))
        .collect();
    entries.sort_by(|left, right| order.cmp_internal(&left.key, &right.key));
    entries.dedup_by(|a, b| a.key.user_key == b.key.user_key && a.key.seqno == b.key.seqno);
    entries
}
