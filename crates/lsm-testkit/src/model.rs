//! Helpers shared by model-based tests.

use std::ops::Bound;

use proptest::prelude::{Just, Strategy, prop_oneof};

/// Whether `key` lies within the user-key bounds `lower`..`upper`.
#[must_use]
pub fn in_bounds(key: &[u8], lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let above = match lower {
        Bound::Included(bound) => key >= bound.as_slice(),
        Bound::Excluded(bound) => key > bound.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(bound) => key <= bound.as_slice(),
        Bound::Excluded(bound) => key < bound.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
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
