//! Key-range slices of a large merge, for sub-compactions.
//!
//! A merge of many bytes is cut into slices of about equal input bytes that run in
//! parallel, each writing its own tables; the outputs of all slices are installed in one
//! edit. Slices are cut between user keys (a boundary key starts the next slice), so a
//! key's versions are all in one slice and the outputs of different slices are disjoint.

use lsm_core::{KeyOrder, UserKey};

/// Boundaries cutting `blocks` (each block's last user key and its bytes, in any order;
/// keys compare in `order`)
/// into at most `slice_count` slices of about equal bytes: slice `i` covers the keys from
/// boundary `i - 1` (inclusive; the first slice starts unbounded) up to boundary `i`
/// (exclusive; the last slice ends unbounded). Returns fewer boundaries when the blocks
/// do not allow more distinct cuts.
#[must_use]
pub fn slice_boundaries(
    order: &KeyOrder,
    mut blocks: Vec<(UserKey, u64)>,
    slice_count: usize,
) -> Vec<UserKey> {
    if slice_count < 2 || blocks.is_empty() {
        return Vec::new();
    }
    blocks.sort_by(|a, b| order.cmp(&a.0, &b.0));
    let total: u64 = blocks.iter().map(|(_, bytes)| bytes).sum();
    let mut boundaries: Vec<UserKey> = Vec::with_capacity(slice_count - 1);
    let mut accumulated = 0_u64;
    let mut next_cut = 1_u64;
    for (key, bytes) in &blocks {
        accumulated += bytes;
        let slices = slice_count as u64;
        while next_cut < slices
            && accumulated.saturating_mul(slices) >= total.saturating_mul(next_cut)
        {
            if boundaries.last() != Some(key) {
                boundaries.push(key.clone());
            }
            next_cut += 1;
        }
    }
    // A cut at the very last key would leave the last slice empty.
    if boundaries.last() == blocks.last().map(|(key, _)| key) {
        boundaries.pop();
    }
    boundaries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(keys: &[(&str, u64)]) -> Vec<(UserKey, u64)> {
        keys.iter()
            .map(|(key, bytes)| (UserKey::from(*key), *bytes))
            .collect()
    }

    #[test]
    fn cuts_by_bytes_between_distinct_keys() {
        let input = blocks(&[
            ("d", 10),
            ("a", 10),
            ("b", 10),
            ("c", 10),
            ("e", 10),
            ("f", 10),
        ]);
        let cuts = slice_boundaries(&KeyOrder::lexicographic(), input.clone(), 3);
        assert_eq!(cuts, [UserKey::from("b"), UserKey::from("d")]);
        assert!(slice_boundaries(&KeyOrder::lexicographic(), input.clone(), 1).is_empty());
        assert_eq!(
            slice_boundaries(&KeyOrder::lexicographic(), input, 100).len(),
            5,
            "no more cuts than keys allow"
        );
        let same = blocks(&[("a", 10), ("a", 10), ("a", 10)]);
        assert!(slice_boundaries(&KeyOrder::lexicographic(), same, 3).is_empty());
    }
}
