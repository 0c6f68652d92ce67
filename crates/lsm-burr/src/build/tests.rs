//! Unit tests of construction: the algebra against a naive check, the base-layer retry
//! path, and the inverse of the remix.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "test arithmetic on small values"
)]

use super::*;
use crate::BurrFilter;
use crate::coeff::Coeff;

#[test]
fn unmix_inverts_mix() {
    for x in [0, 1, 2, u64::MAX, 0xDEAD_BEEF, 1 << 63] {
        assert_eq!(unmix(mix(x, 77), 77), x);
    }
}

#[test]
fn forced_base_retries_still_build_correct_filters() {
    // No slack: the base layer needs growth and new seeds.
    let knobs = BuildKnobs {
        base_slack_per_64: 0,
        base_attempts_max: BASE_ATTEMPTS_MAX,
    };
    let policy = FilterPolicy::bits_per_key(8.0).unwrap();
    let hashes: Vec<u64> = (0..60).collect();
    let filter = BurrFilter::build_with_knobs(&hashes, &policy, knobs).unwrap();
    assert!(hashes.iter().all(|&hash| filter.contains_hash(hash)));
}

#[test]
fn exhausted_attempts_are_an_error() {
    let knobs = BuildKnobs {
        base_slack_per_64: 0,
        base_attempts_max: 0,
    };
    let policy = FilterPolicy::bits_per_key(8.0).unwrap();
    let hashes: Vec<u64> = (0..40).collect();
    assert_eq!(
        BurrFilter::build_with_knobs(&hashes, &policy, knobs).unwrap_err(),
        Error::ConstructionFailed { attempts: 0 }
    );
}

/// Solution bit `column` of `slot` in an interleaved layer, read naively.
fn interleaved_bit(
    bytes: &[u8],
    layer: &crate::layout::BumpLayer,
    row_bits: usize,
    lower_columns: usize,
    slot: usize,
    column: usize,
) -> u32 {
    let block = slot / row_bits;
    let word = block * lower_columns + block.saturating_sub(layer.lower_blocks) + column;
    let bit = word * row_bits + slot % row_bits;
    let byte = bytes[layer.solution.start + bit / 8];
    u32::from((byte >> (bit % 8)) & 1)
}

/// The algebra, checked without the query code: each key's equation holds at the first
/// layer that does not bump it, and the layers bump few keys.
#[test]
fn every_key_solves_its_equation_in_exactly_one_layer() {
    for (count, width) in [
        (3000_u64, RibbonWidth::W64),
        (20_000, RibbonWidth::W64),
        (12_000, RibbonWidth::W128),
    ] {
        let hashes: Vec<u64> = (0..count).map(|idx| mix(idx, 99)).collect();
        let policy = FilterPolicy::fpr(0.01).unwrap().with_width(width);
        let filter = BurrFilter::build(&hashes, &policy).unwrap();
        let bytes = filter.as_bytes();
        let layout = crate::layout::Layout::decode(bytes).unwrap();
        let row_bits = width.bits() as usize;
        let lower_columns = layout.result_bits as usize - 1;
        let mut answered = vec![0_u64; layout.bump.len() + 1];
        for &hash in &hashes {
            let mut raw = hash;
            let mut layer_idx = None;
            for (idx, layer) in layout.bump.iter().enumerate() {
                let key = mix(raw, layer.seed);
                let start = fastrange(key, layer.num_starts);
                let bucket = start >> layer.bucket_shift;
                let threshold = (bytes[layer.thresholds.start + (bucket / 4) as usize]
                    >> (2 * (bucket % 4)))
                    & 3;
                let class = class_of(
                    start % (1 << layer.bucket_shift),
                    layer.bucket_shift,
                    layer.lower,
                    layer.upper,
                );
                if class < threshold {
                    let start = start as usize;
                    let block = start / row_bits;
                    let columns = if block < layer.lower_blocks {
                        lower_columns
                    } else {
                        lower_columns + 1
                    };
                    let coefficient: Vec<bool> = (0..row_bits)
                        .map(|bit| {
                            if row_bits == 64 {
                                (u64::from_hash(key) >> bit) & 1 == 1
                            } else {
                                (u128::from_hash(key) >> bit) & 1 == 1
                            }
                        })
                        .collect();
                    for column in 0..columns {
                        let mut parity = 0;
                        for (bit, &set) in coefficient.iter().enumerate() {
                            if set {
                                parity ^= interleaved_bit(
                                    bytes,
                                    layer,
                                    row_bits,
                                    lower_columns,
                                    start + bit,
                                    column,
                                );
                            }
                        }
                        let expected = (fingerprint(key, u32::MAX) >> column) & 1;
                        assert_eq!(parity, expected, "layer {idx}, column {column}");
                    }
                    layer_idx = Some(idx);
                    break;
                }
                raw = key;
            }
            let layer_idx = layer_idx.unwrap_or(layout.bump.len());
            answered[layer_idx] += 1;
            if layer_idx == layout.bump.len() {
                assert!(filter.contains_hash(hash), "base layer member lost");
            }
        }
        // The layers' key counts are exactly the keys that reach them.
        let mut reaching = count;
        for (idx, layer) in layout.bump.iter().enumerate() {
            assert_eq!(layer.key_count, reaching);
            reaching -= answered[idx];
            let buckets = layer.num_starts >> layer.bucket_shift;
            if buckets >= 16 {
                let bumped_share = reaching as f64 / layer.key_count as f64;
                assert!(
                    bumped_share <= 0.10,
                    "layer {idx} bumps {:.1}%",
                    bumped_share * 100.0
                );
            }
        }
        assert_eq!(layout.base.key_count, reaching);
    }
}

#[test]
fn section_lengths_follow_the_layout_rules() {
    for width in [RibbonWidth::W64, RibbonWidth::W128] {
        let hashes: Vec<u64> = (0..50_000).collect();
        let policy = FilterPolicy::fpr(0.003).unwrap().with_width(width);
        let filter = BurrFilter::build(&hashes, &policy).unwrap();
        let layout = crate::layout::Layout::decode(filter.as_bytes()).unwrap();
        let row_bytes = width.bits() as usize / 8;
        for layer in &layout.bump {
            let buckets = layer.num_starts.div_ceil(1 << layer.bucket_shift) as usize;
            assert_eq!(layer.thresholds.len(), (buckets * 2).div_ceil(8));
            let words = layer.block_count * layout.result_bits as usize - layer.lower_blocks;
            assert_eq!(layer.solution.len(), words * row_bytes);
            assert_eq!(
                layer.num_starts,
                (layer.block_count * width.bits() as usize - width.bits() as usize + 1) as u64
            );
        }
        assert_eq!(
            layout.base.solution.len(),
            (layout.base.slot_count * u64::from(layout.result_bits)).div_ceil(8) as usize
        );
        assert_eq!(layout.base.solution.end, filter.size_in_bytes());
    }
}
