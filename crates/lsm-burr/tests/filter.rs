//! The filter's promises, group by group: no false negatives, false-positive rates,
//! space, duplicates, structured input, determinism, round trips, bad input, and
//! thread safety. Sizes are kept small enough for CI; the bench measures the large ones.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "test helpers unwrap and do small arithmetic"
)]

use lsm_burr::{BurrFilter, Error, FilterPolicy, FilterRef, RibbonWidth};
use proptest::prelude::*;

use lsm_testkit::rng::random_u64s as random_hashes;

fn policy(bits: f64, width: RibbonWidth, seed: u64) -> FilterPolicy {
    FilterPolicy::bits_per_key(bits)
        .unwrap()
        .with_width(width)
        .with_seed(seed)
}

fn assert_no_false_negatives(hashes: &[u64], policy: &FilterPolicy) -> BurrFilter {
    let filter = BurrFilter::build(hashes, policy).unwrap();
    let bytes = filter.encode();
    let view = FilterRef::decode(&bytes).unwrap();
    for &hash in hashes {
        assert!(
            filter.contains_hash(hash),
            "false negative, {} keys, {policy:?}",
            hashes.len()
        );
        assert!(view.contains_hash(hash), "false negative in the view");
    }
    filter
}

/// Measured false-positive rate over `negatives` fresh hashes.
fn measured_fpr(filter: &BurrFilter, negatives: usize, seed: u64) -> f64 {
    let hits = random_hashes(negatives, seed)
        .into_iter()
        .filter(|&hash| filter.contains_hash(hash))
        .count();
    hits as f64 / negatives as f64
}

/// Asserts `measured` is within `tolerance` (relative) of `design`, widened to six binomial
/// standard deviations where the sample is too small for the tolerance.
fn assert_fpr_near(measured: f64, design: f64, negatives: usize, tolerance: f64, what: &str) {
    let sigma = (design * (1.0 - design) / negatives as f64).sqrt();
    let bound = (design * tolerance).max(6.0 * sigma);
    assert!(
        (measured - design).abs() <= bound,
        "{what}: FPR {measured:.6} vs design {design:.6} (bound {bound:.6})"
    );
}

#[test]
fn no_false_negatives_across_sizes_widths_and_result_bits() {
    let result_bits: Vec<u32> = (1..=16).chain([20, 24, 32]).collect();
    for width in [RibbonWidth::W64, RibbonWidth::W128] {
        for count in [0, 1, 2, 3, 63, 64, 65, 127, 128, 129, 1000] {
            for &bits in &result_bits {
                for seed in [0, 1, 7] {
                    let hashes = random_hashes(count, seed * 1000 + u64::from(bits));
                    assert_no_false_negatives(&hashes, &policy(f64::from(bits), width, seed));
                }
            }
        }
        for count in [10_000, 100_000] {
            for bits in [1.0, 7.0, 8.0, 10.0, 16.0, 6.72] {
                assert_no_false_negatives(&random_hashes(count, 3), &policy(bits, width, 0));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_filters_have_no_false_negatives(
        count in 0..3000_usize,
        bits in 1.0..=32.0_f64,
        wide in any::<bool>(),
        seed in any::<u64>(),
        hash_seed in any::<u64>(),
    ) {
        let width = if wide { RibbonWidth::W128 } else { RibbonWidth::W64 };
        assert_no_false_negatives(&random_hashes(count, hash_seed), &policy(bits, width, seed));
    }
}

#[test]
fn false_positive_rates_match_the_design() {
    let negatives = 2_000_000;
    for (count, bits) in [
        (100_000, 1.0),
        (100_000, 4.0),
        (100_000, 7.0),
        (100_000, 8.0),
        (100_000, 10.0),
        (100_000, 12.0),
        (100_000, 16.0),
        (1, 7.0),
        (10, 7.0),
        (100, 7.0),
        (1000, 7.0),
        (10_000, 7.0),
    ] {
        let policy = policy(bits, RibbonWidth::W64, 0);
        let filter = BurrFilter::build(&random_hashes(count, 11), &policy).unwrap();
        let fpr = measured_fpr(&filter, negatives, 99);
        assert_fpr_near(
            fpr,
            policy.design_fpr(),
            negatives,
            0.05,
            &format!("{count} keys, r={bits}"),
        );
    }
    for fpr_goal in [0.01, 0.001] {
        let policy = FilterPolicy::fpr(fpr_goal).unwrap();
        let filter = BurrFilter::build(&random_hashes(100_000, 12), &policy).unwrap();
        let fpr = measured_fpr(&filter, negatives, 98);
        assert_fpr_near(fpr, fpr_goal, negatives, 0.05, &format!("fpr({fpr_goal})"));
    }
}

#[test]
fn structured_inputs_build_and_keep_their_rates() {
    let count = 50_000_u64;
    let inputs: [(&str, Vec<u64>); 3] = [
        ("consecutive", (0..count).collect()),
        ("strided by 2^32", (0..count).map(|idx| idx << 32).collect()),
        (
            "high bits only",
            (0..count).map(|idx| idx.reverse_bits()).collect(),
        ),
    ];
    for (name, hashes) in inputs {
        let policy = policy(7.0, RibbonWidth::W64, 0);
        let filter = assert_no_false_negatives(&hashes, &policy);
        // Negatives from the same structure, beyond the members.
        let negatives: Vec<u64> = match name {
            "consecutive" => (count..count * 21).collect(),
            "strided by 2^32" => (count..count * 21).map(|idx| idx << 32).collect(),
            _ => (count..count * 21).map(|idx| idx.reverse_bits()).collect(),
        };
        let hits = negatives
            .iter()
            .filter(|&&hash| filter.contains_hash(hash))
            .count();
        let fpr = hits as f64 / negatives.len() as f64;
        assert_fpr_near(fpr, policy.design_fpr(), negatives.len(), 0.05, name);
    }
}

/// Payload bits per key over the result bits, minus one: the space overhead.
fn payload_overhead(filter: &BurrFilter, design_bits: f64) -> f64 {
    let stats = filter.stats();
    let payload_bits = (stats.size_in_bytes - stats.header_len_bytes) as f64 * 8.0;
    payload_bits / stats.key_count as f64 / design_bits - 1.0
}

#[test]
fn space_stays_within_the_goals() {
    for (count, width, bits, goal) in [
        (1000, RibbonWidth::W64, 7.0, 0.05),
        (1000, RibbonWidth::W64, 10.0, 0.05),
        (10_000, RibbonWidth::W64, 7.0, 0.01),
        (10_000, RibbonWidth::W64, 10.0, 0.01),
        (100_000, RibbonWidth::W64, 7.0, 0.0035),
        (100_000, RibbonWidth::W64, 10.0, 0.0035),
        (1_000_000, RibbonWidth::W64, 7.0, 0.003),
        (1_000_000, RibbonWidth::W128, 7.0, 0.0015),
    ] {
        let hashes = random_hashes(count, 5);
        let filter = BurrFilter::build(&hashes, &policy(bits, width, 0)).unwrap();
        assert!(
            hashes.iter().all(|&hash| filter.contains_hash(hash)),
            "false negative at {count} keys"
        );
        let overhead = payload_overhead(&filter, bits);
        assert!(
            overhead <= goal,
            "{count} keys, {width:?}, r={bits}: {:.3}% over (goal {:.2}%)",
            overhead * 100.0,
            goal * 100.0
        );
        let stats = filter.stats();
        assert!(stats.header_len_bytes <= 32 + 16 * stats.layer_key_counts.len());
    }
    for (fpr, max_bits) in [(0.01, 6.75), (0.001, 10.01)] {
        let filter = BurrFilter::build(
            &random_hashes(1_000_000, 6),
            &FilterPolicy::fpr(fpr).unwrap(),
        )
        .unwrap();
        let bits = filter.stats().bits_per_key;
        assert!(
            bits <= max_bits,
            "fpr {fpr}: {bits:.4} bits per key (goal {max_bits})"
        );
    }
}

#[test]
fn duplicates_give_the_filter_of_the_distinct_set() {
    let distinct = random_hashes(20_000, 8);
    let policy = policy(7.0, RibbonWidth::W64, 0);
    let expected = BurrFilter::build(&distinct, &policy).unwrap().encode();
    let twice_or_thrice: Vec<u64> = distinct
        .iter()
        .flat_map(|&hash| std::iter::repeat_n(hash, 2 + (hash % 2) as usize))
        .collect();
    assert_eq!(
        BurrFilter::build(&twice_or_thrice, &policy)
            .unwrap()
            .encode(),
        expected
    );

    let all_equal = vec![42_u64; 10_000];
    let filter = assert_no_false_negatives(&all_equal, &policy);
    assert_eq!(filter.key_count(), 1);
    assert_eq!(
        filter.encode(),
        BurrFilter::build(&[42], &policy).unwrap().encode()
    );

    // Prefix-filter-like: 100,000 keys sharing 1,000 prefixes.
    let prefixes = random_hashes(1000, 9);
    let keys: Vec<u64> = (0..100_000).map(|idx| prefixes[idx % 1000]).collect();
    let filter = assert_no_false_negatives(&keys, &policy);
    assert_eq!(
        filter.encode(),
        BurrFilter::build(&prefixes, &policy).unwrap().encode()
    );
}

#[test]
fn output_is_deterministic_and_pinned() {
    let hashes = random_hashes(50_000, 13);
    let policy = FilterPolicy::fpr(0.01).unwrap().with_seed(5);
    let bytes = BurrFilter::build(&hashes, &policy).unwrap().encode();
    let mut shuffled = hashes;
    shuffled.reverse();
    shuffled.rotate_left(12_345);
    assert_eq!(
        BurrFilter::build(&shuffled, &policy).unwrap().encode(),
        bytes
    );
    // A format change must be deliberate: this digest changes with any byte.
    let digest = xxhash_rust::xxh3::xxh3_64(&bytes);
    assert_eq!(
        digest, GOLDEN_DIGEST,
        "encoding changed: {digest:#018x}; bump the format version"
    );
}

const GOLDEN_DIGEST: u64 = 0xd0bd_7812_971f_c385;

#[test]
fn round_trips_answer_identically() {
    for width in [RibbonWidth::W64, RibbonWidth::W128] {
        let hashes = random_hashes(30_000, 14);
        let filter =
            BurrFilter::build(&hashes, &FilterPolicy::fpr(0.02).unwrap().with_width(width))
                .unwrap();
        let bytes = filter.encode();
        let view = FilterRef::decode(&bytes).unwrap();
        for probe in random_hashes(1_000_000, 15)
            .into_iter()
            .chain(hashes)
            .chain([0, u64::MAX])
        {
            assert_eq!(filter.contains_hash(probe), view.contains_hash(probe));
        }
        assert_eq!(view.stats(), filter.stats());
        let owned = BurrFilter::decode(bytes.clone()).unwrap();
        assert_eq!(owned.encode(), bytes);
        assert!(BurrFilter::decode(bytes[..bytes.len() - 1].to_vec()).is_err());
        assert_eq!(view.size_in_bytes(), bytes.len());
        assert_eq!(filter.size_in_bytes(), bytes.len());
    }
    let empty = BurrFilter::build(&[], &FilterPolicy::fpr(0.01).unwrap()).unwrap();
    let bytes = empty.encode();
    let view = FilterRef::decode(&bytes).unwrap();
    assert!(!view.contains_hash(0) && !empty.contains(b"anything"));
}

#[test]
fn truncated_and_damaged_headers_are_errors() {
    let filter =
        BurrFilter::build(&random_hashes(5000, 16), &FilterPolicy::fpr(0.01).unwrap()).unwrap();
    let bytes = filter.encode();
    for len in 0..bytes.len() {
        assert!(
            FilterRef::decode(&bytes[..len]).is_err(),
            "truncated to {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(FilterRef::decode(&longer).is_err());

    let header_len = filter.stats().header_len_bytes;
    for position in 0..header_len {
        for value in [0_u8, 1, 0x7F, 0x80, 0xFF, bytes[position] ^ 0x10] {
            let mut damaged = bytes.clone();
            damaged[position] = value;
            if damaged == bytes {
                continue;
            }
            // A header byte change either fails to parse, or parses to a filter that
            // answers without panicking (lengths must still add up).
            if let Ok(view) = FilterRef::decode(&damaged) {
                for probe in [0, 1, u64::MAX].into_iter().chain(random_hashes(100, 17)) {
                    let _ = view.contains_hash(probe);
                }
            }
        }
    }
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(matches!(
        FilterRef::decode(&wrong_magic),
        Err(Error::Malformed { .. })
    ));
    let mut future = bytes.clone();
    future[1] = 2;
    assert_eq!(
        FilterRef::decode(&future).unwrap_err(),
        Error::UnsupportedVersion { found: 2, max: 1 }
    );
    // Absurd counts: a key count of u64::MAX, and a layer count far beyond the limit.
    let mut absurd = bytes[..7].to_vec();
    absurd.extend_from_slice(&[0xFF; 9]);
    absurd.push(0x01);
    assert!(FilterRef::decode(&absurd).is_err());
    let mut many_layers = bytes[..7].to_vec();
    many_layers.extend_from_slice(&[0x10, 0xFF, 0xFF, 0xFF, 0x0F]);
    assert!(FilterRef::decode(&many_layers).is_err());
}

#[test]
fn filters_are_send_and_sync_and_agree_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BurrFilter>();
    assert_send_sync::<FilterRef<'static>>();
    let hashes = random_hashes(20_000, 18);
    let filter = BurrFilter::build(&hashes, &FilterPolicy::fpr(0.01).unwrap()).unwrap();
    let probes = random_hashes(50_000, 19);
    let sequential: Vec<bool> = probes
        .iter()
        .map(|&hash| filter.contains_hash(hash))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    probes
                        .iter()
                        .map(|&hash| filter.contains_hash(hash))
                        .collect::<Vec<bool>>()
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), sequential);
        }
    });
}

#[test]
fn keys_hash_with_xxh3() {
    assert_eq!(lsm_burr::hash(b"key"), xxhash_rust::xxh3::xxh3_64(b"key"));
    let filter =
        BurrFilter::build(&[lsm_burr::hash(b"key")], &FilterPolicy::fpr(0.01).unwrap()).unwrap();
    assert!(filter.contains(b"key"));
}
