//! The retrieval structure's promises: every key of the set gets its value back, at every
//! size, width and value width; duplicates and collisions; space; round trips; and bytes
//! that are not a retrieval structure.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "test helpers unwrap and do small arithmetic"
)]

use lsm_burr::{
    BurrFilter, Error, FilterPolicy, FilterRef, Retrieval, RetrievalPolicy, RibbonWidth,
};
use proptest::prelude::*;

use lsm_testkit::rng::random_u64s;

fn mask(bits: u32) -> u32 {
    if bits == 32 {
        u32::MAX
    } else {
        (1 << bits) - 1
    }
}

/// `count` random hashes, each with a value of `bits` bits drawn from another stream.
fn pairs(count: usize, bits: u32, seed: u64) -> Vec<(u64, u32)> {
    let values = random_u64s(count, seed ^ 0xABCD);
    random_u64s(count, seed)
        .into_iter()
        .zip(values)
        .map(|(hash, value)| (hash, value as u32 & mask(bits)))
        .collect()
}

fn assert_retrieves(given: &[(u64, u32)], policy: &RetrievalPolicy) -> Retrieval {
    let built = Retrieval::build(given, policy).unwrap();
    let decoded = Retrieval::decode(built.as_bytes().to_vec()).unwrap();
    for &(hash, value) in given {
        assert_eq!(
            built.get_hash(hash),
            value,
            "{} keys, {policy:?}",
            given.len()
        );
        assert_eq!(decoded.get_hash(hash), value, "decoded copy");
    }
    built
}

#[test]
fn every_key_gets_its_value_across_sizes_widths_and_value_bits() {
    for width in [RibbonWidth::W64, RibbonWidth::W128] {
        for count in [0, 1, 2, 3, 63, 64, 65, 127, 129, 1000, 20_000] {
            for bits in [1, 2, 5, 8, 13, 16, 24, 32] {
                let policy = RetrievalPolicy::new(bits)
                    .unwrap()
                    .with_width(width)
                    .with_seed(u64::from(bits));
                assert_retrieves(&pairs(count, bits, count as u64), &policy);
            }
        }
    }
}

#[test]
fn block_numbers_of_sorted_keys_are_retrieved() {
    // The table's use: keys in order, a run of consecutive keys per block.
    let given: Vec<(u64, u32)> = (0..50_000_u32)
        .map(|i| (lsm_burr::hash(format!("user-{i:08}").as_bytes()), i / 37))
        .collect();
    let bits = 32 - (50_000_u32 / 37).leading_zeros();
    let built = assert_retrieves(&given, &RetrievalPolicy::new(bits).unwrap());
    assert_eq!(built.key_count(), 50_000);
    assert_eq!(built.value_bits(), bits);
    assert_eq!(built.get(b"user-00000100"), 100 / 37);
}

#[test]
fn space_is_close_to_the_value_bits() {
    for bits in [4, 11, 16] {
        let built = Retrieval::build(
            &pairs(100_000, bits, 9),
            &RetrievalPolicy::new(bits).unwrap(),
        )
        .unwrap();
        let bits_per_key = built.size_in_bytes() as f64 * 8.0 / 100_000.0;
        assert!(
            bits_per_key < f64::from(bits) * 1.02 + 0.1,
            "{bits} value bits: {bits_per_key:.3} bits per key"
        );
    }
}

#[test]
fn duplicates_and_conflicts() {
    let mut given = pairs(500, 10, 1);
    given.extend_from_slice(&given.clone()[..100]);
    let built = assert_retrieves(&given, &RetrievalPolicy::new(10).unwrap());
    assert_eq!(built.key_count(), 500);

    let (hash, value) = given[7];
    given.push((hash, value ^ 1));
    assert_eq!(
        Retrieval::build(&given, &RetrievalPolicy::new(10).unwrap()).unwrap_err(),
        Error::ConflictingValues { hash }
    );
}

#[test]
fn bad_policies_and_values_are_errors() {
    assert_eq!(
        RetrievalPolicy::new(0).unwrap_err(),
        Error::InvalidValueBits(0)
    );
    assert_eq!(
        RetrievalPolicy::new(33).unwrap_err(),
        Error::InvalidValueBits(33)
    );
    assert_eq!(
        Retrieval::build(&[(1, 0b100)], &RetrievalPolicy::new(2).unwrap()).unwrap_err(),
        Error::ValueTooWide { value: 4, bits: 2 }
    );
}

#[test]
fn filters_and_retrieval_structures_do_not_read_as_each_other() {
    let retrieval =
        Retrieval::build(&pairs(3000, 8, 2), &RetrievalPolicy::new(8).unwrap()).unwrap();
    assert!(matches!(
        FilterRef::decode(retrieval.as_bytes()),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        BurrFilter::decode(retrieval.as_bytes().to_vec()),
        Err(Error::Malformed { .. })
    ));
    let filter = BurrFilter::build(
        &random_u64s(3000, 2),
        &FilterPolicy::bits_per_key(8.0).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        Retrieval::decode(filter.encode()),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn truncated_and_damaged_bytes_are_errors_or_answers_never_panics() {
    let built = Retrieval::build(&pairs(2000, 12, 3), &RetrievalPolicy::new(12).unwrap()).unwrap();
    let bytes = built.as_bytes();
    for len in 0..bytes.len() {
        assert!(
            Retrieval::decode(bytes[..len].to_vec()).is_err(),
            "truncated to {len}"
        );
    }
    for position in 0..bytes.len().min(64) {
        let mut damaged = bytes.to_vec();
        damaged[position] ^= 0x5A;
        if let Ok(decoded) = Retrieval::decode(damaged) {
            for hash in random_u64s(100, 4) {
                assert!(decoded.get_hash(hash) <= mask(decoded.value_bits()));
            }
        }
    }
}

#[test]
fn retrieval_structures_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Retrieval>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_sets_retrieve_their_values(
        hashes in proptest::collection::btree_set(any::<u64>(), 0..600),
        bits in 1_u32..=32,
        seed in any::<u64>(),
    ) {
        let given: Vec<(u64, u32)> = hashes
            .iter()
            .map(|&hash| (hash, (hash.rotate_left(13) as u32) & mask(bits)))
            .collect();
        let policy = RetrievalPolicy::new(bits).unwrap().with_seed(seed);
        let built = Retrieval::build(&given, &policy).unwrap();
        for &(hash, value) in &given {
            prop_assert_eq!(built.get_hash(hash), value);
        }
    }
}
