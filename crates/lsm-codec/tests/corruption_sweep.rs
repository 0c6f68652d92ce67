//! The corruption sweep: every bit of a sample block in every envelope variant flipped,
//! and every truncation. Each case must give a typed error or the identical payload;
//! never a panic, and never an allocation above the block's declared bound (checked by
//! a counting global allocator, which is why this file is its own test binary with a
//! single test).
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

#[path = "support/samples.rs"]
mod samples;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use lsm_codec::envelope::{self, BlockHeader};
use lsm_codec::{BlockType, DecodeOptions, EncodeOptions, Error};
use lsm_core::Slice;

/// Decodes `bytes` while recording the largest allocation.
fn decode_tracked(bytes: &Slice, options: DecodeOptions<'_>) -> (lsm_codec::Result<Slice>, usize) {
    counting_alloc::largest_allocation(|| {
        envelope::decode(bytes, BlockType::Data, options, samples::context())
    })
}

fn is_typed(error: &Error) -> bool {
    matches!(
        error,
        Error::Corruption {
            file_id: 42,
            block_offset: 4096,
            ..
        } | Error::UnsupportedFormatVersion { .. }
            | Error::DictionaryMismatch { .. }
            | Error::WrongKey { .. }
            | Error::KeyRequired { .. }
    )
}

#[test]
fn every_bit_flip_and_truncation_is_detected() {
    let dictionary = samples::dictionary();
    let cipher = samples::cipher();
    let payload = samples::data_block_payload(0, 8);
    let started = std::time::Instant::now();
    let mut cases = 0_usize;
    for (name, compression, encrypted) in samples::variants(&dictionary) {
        let cipher = encrypted.then_some(&cipher);
        let options = EncodeOptions {
            compression: &compression,
            cipher,
        };
        let block =
            envelope::encode(&payload, BlockType::Data, options, samples::context()).unwrap();
        let header = BlockHeader::decode_from(&block).unwrap();
        let bound = header.uncompressed_len.max(header.stored_len) as usize;
        let decode_options = DecodeOptions {
            dictionary: Some(&dictionary),
            cipher,
        };

        let (clean, _) = decode_tracked(&Slice::from(block.clone()), decode_options);
        assert_eq!(clean.unwrap(), payload.as_slice(), "{name}: clean decode");

        for (bit, damaged) in lsm_testkit::damage::bit_flips(&block, 1) {
            let (result, largest) = decode_tracked(&Slice::from(damaged), decode_options);
            match result {
                Ok(decoded) => assert_eq!(
                    decoded,
                    payload.as_slice(),
                    "{name}: bit {bit} decoded to other bytes"
                ),
                Err(error) => assert!(is_typed(&error), "{name}: bit {bit}: untyped {error:?}"),
            }
            assert!(
                largest <= bound,
                "{name}: bit {bit}: allocation of {largest} above bound {bound}"
            );
            cases += 1;
        }
        for len in 0..block.len() {
            let (result, largest) = decode_tracked(&Slice::from(&block[..len]), decode_options);
            let error = result.expect_err("a truncated block must not decode");
            assert!(
                is_typed(&error),
                "{name}: truncated to {len}: untyped {error:?}"
            );
            assert!(
                largest <= bound,
                "{name}: truncated to {len}: allocation of {largest}"
            );
            cases += 1;
        }
    }
    println!("corruption sweep: {cases} cases, 0 undetected");
    lsm_testkit::reliability::record(
        "G3",
        "block envelope: every bit flip and truncation (allocation bounded)",
        cases as u64,
        "cases",
        started,
    );
}
