//! The fuzz target body: arbitrary bytes as an encoded filter. The `fuzz/` target calls
//! it, and `cargo test` runs it over the checked-in corpus in `fuzz/corpus/filter_decode/`
//! plus seeded mutations of it.

use crate::{FilterRef, Retrieval};

/// Decodes `data` as a filter and as a retrieval structure and queries whichever
/// decodes: nothing may panic, and a retrieved value fits its bits.
pub fn filter_decode(data: &[u8]) {
    if let Ok(retrieval) = Retrieval::decode(data.to_vec()) {
        let bits = retrieval.value_bits();
        for probe in [0, 1, u64::MAX, data.len() as u64] {
            let value = retrieval.get_hash(probe);
            assert!(
                bits == 32 || value >> bits == 0,
                "{value} exceeds {bits} bits"
            );
        }
    }
    let Ok(filter) = FilterRef::decode(data) else {
        return;
    };
    let stats = filter.stats();
    assert_eq!(stats.size_in_bytes, data.len());
    let mut probe = 0x9E37_79B9_7F4A_7C15_u64;
    for fixed in [0, 1, u64::MAX, u64::MAX / 2] {
        let _ = filter.contains_hash(fixed);
    }
    for _ in 0..64 {
        probe = probe.rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ data.len() as u64;
        let _ = filter.contains_hash(probe);
    }
    let _ = filter.contains(data);
}

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "test arithmetic on small values"
)]
mod tests {
    use super::*;
    use crate::{BurrFilter, FilterPolicy, RibbonWidth};

    #[test]
    fn filter_decode_corpus() {
        lsm_testkit::fuzz::replay("filter_decode", 10_000, filter_decode);
    }

    /// Writes the seed corpus (never overwriting a file): a generator that `cargo xtask fixtures`
    /// runs, not a check.
    #[test]
    #[ignore = "issue 2: corpus generator, run by cargo xtask fixtures"]
    fn write_seed_corpus() {
        let samples = [
            ("empty", 0_u64, FilterPolicy::bits_per_key(7.0).unwrap()),
            ("small", 40, FilterPolicy::bits_per_key(7.0).unwrap()),
            ("layered", 3000, FilterPolicy::fpr(0.01).unwrap()),
            (
                "wide",
                5000,
                FilterPolicy::bits_per_key(9.0)
                    .unwrap()
                    .with_width(RibbonWidth::W128),
            ),
        ];
        for (name, count, policy) in samples {
            let hashes: Vec<u64> = (0..count).collect();
            let bytes = BurrFilter::build(&hashes, &policy).unwrap().encode();
            lsm_testkit::fuzz::write_seed("filter_decode", name, &bytes);
        }
        let pairs: Vec<(u64, u32)> = (0..2000).map(|i| (i, (i / 37) as u32)).collect();
        let retrieval = Retrieval::build(&pairs, &crate::RetrievalPolicy::new(6).unwrap()).unwrap();
        lsm_testkit::fuzz::write_seed("filter_decode", "retrieval", retrieval.as_bytes());
    }
}
