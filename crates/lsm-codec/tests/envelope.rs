//! The block envelope: round trips in every variant and the typed error of every misuse.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

#[path = "support/samples.rs"]
mod samples;

use lsm_codec::envelope::{self, BlockHeader};
use lsm_codec::layout::HEADER_LEN;
use lsm_codec::{
    BlockContext, BlockType, Compression, CorruptionKind, DecodeOptions, EncodeOptions,
    EncryptionKey, Error, FILE_SALT_LEN, FileCipher, ZstdDictionary,
};
use lsm_core::Slice;
use proptest::prelude::*;

fn encode(
    payload: &[u8],
    compression: &Compression,
    cipher: Option<&FileCipher>,
    context: BlockContext,
) -> Slice {
    let options = EncodeOptions {
        compression,
        cipher,
    };
    Slice::from(envelope::encode(payload, BlockType::Data, options, context).unwrap())
}

fn decode(
    block: &Slice,
    dictionary: Option<&ZstdDictionary>,
    cipher: Option<&FileCipher>,
    context: BlockContext,
) -> lsm_codec::Result<Slice> {
    envelope::decode(
        block,
        BlockType::Data,
        DecodeOptions { dictionary, cipher },
        context,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_variant_round_trips(
        payload in proptest::collection::vec(any::<u8>(), 0..3000),
        repeat in 1..4_usize,
        level in prop_oneof![Just(-5), Just(1), Just(3), Just(19)],
        file_id in any::<u64>(),
        block_offset in any::<u64>(),
    ) {
        let payload = payload.repeat(repeat);
        let dictionary = ZstdDictionary::new(b"a raw-content dictionary: abcdefghijklmnop");
        let cipher = samples::cipher();
        let context = BlockContext { file_id, block_offset };
        for compression in [Compression::None, Compression::Lz4, Compression::zstd(level), Compression::zstd_dict(level, &dictionary)] {
            for cipher in [None, Some(&cipher)] {
                let block = encode(&payload, &compression, cipher, context);
                let header = BlockHeader::decode_from(&block).unwrap();
                prop_assert_eq!(header.block_len(), block.len() as u64);
                prop_assert_eq!(header.uncompressed_len as usize, payload.len());
                let decoded = decode(&block, Some(&dictionary), cipher, context).unwrap();
                prop_assert_eq!(decoded.as_bytes(), payload.as_slice());
            }
        }
    }

    #[test]
    fn parts_encode_as_their_concatenation_after_what_the_buffer_holds(
        payload in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
        held in proptest::collection::vec(any::<u8>(), 0..40),
        block_offset in any::<u64>(),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(payload.len() + 1)).collect();
        cuts.sort_unstable();
        let mut parts = Vec::new();
        let mut from = 0;
        for cut in cuts.into_iter().chain([payload.len()]) {
            parts.push(&payload[from..cut]);
            from = cut;
        }
        let cipher = samples::cipher();
        let context = BlockContext { file_id: 3, block_offset };
        for compression in [Compression::None, Compression::Lz4, Compression::zstd(3)] {
            for cipher in [None, Some(&cipher)] {
                let options = EncodeOptions { compression: &compression, cipher };
                let mut out = held.clone();
                envelope::encode_parts_into(&parts, BlockType::Data, options, context, &mut out)
                    .unwrap();
                let whole = encode(&payload, &compression, cipher, context);
                prop_assert_eq!(&out[..held.len()], held.as_slice());
                prop_assert_eq!(&out[held.len()..], whole.as_bytes());
            }
        }
    }
}

#[test]
fn incompressible_payloads_are_stored_plain() {
    let payload: Vec<u8> = (0..=255).collect();
    let block = encode(&payload, &Compression::zstd(3), None, samples::context());
    let header = BlockHeader::decode_from(&block).unwrap();
    assert_eq!(header.compression, 0);
    assert_eq!(header.stored_len as usize, payload.len());
}

#[test]
fn trained_dictionary_beats_plain_zstd_on_small_blocks() {
    let dictionary = samples::dictionary();
    let payload = samples::data_block_payload(0, 5);
    let plain = encode(&payload, &Compression::zstd(3), None, samples::context());
    let with_dict = encode(
        &payload,
        &Compression::zstd_dict(3, &dictionary),
        None,
        samples::context(),
    );
    assert!(
        with_dict.len() < plain.len(),
        "dictionary {} vs plain {}",
        with_dict.len(),
        plain.len()
    );
}

#[test]
fn wrong_or_missing_dictionary_is_a_typed_error() {
    let dictionary = samples::dictionary();
    let other = ZstdDictionary::new(b"another dictionary");
    let payload = samples::data_block_payload(0, 20);
    let block = encode(
        &payload,
        &Compression::zstd_dict(3, &dictionary),
        None,
        samples::context(),
    );
    assert!(matches!(
        decode(&block, None, None, samples::context()),
        Err(Error::DictionaryMissing { dict_id }) if dict_id == dictionary.id()
    ));
    assert!(matches!(
        decode(&block, Some(&other), None, samples::context()),
        Err(Error::DictionaryMismatch { expected, found }) if expected == dictionary.id() && found == other.id()
    ));
}

#[test]
fn wrong_key_is_reported_as_such_for_many_keys() {
    let payload = samples::data_block_payload(0, 20);
    let block = encode(
        &payload,
        &Compression::zstd(1),
        Some(&samples::cipher()),
        samples::context(),
    );
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..1000 {
        let mut key = [0; 32];
        for chunk in key.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        let cipher = FileCipher::new(&EncryptionKey::new(key), &[0x5A; FILE_SALT_LEN]);
        let result = decode(&block, None, Some(&cipher), samples::context());
        assert!(
            matches!(
                result,
                Err(Error::WrongKey {
                    file_id: 42,
                    block_offset: 4096
                })
            ),
            "{result:?}"
        );
    }
    assert!(matches!(
        decode(&block, None, None, samples::context()),
        Err(Error::KeyRequired { .. })
    ));
}

#[test]
fn plaintext_block_in_an_encrypted_file_is_rejected() {
    let block = encode(b"payload", &Compression::None, None, samples::context());
    assert!(matches!(
        decode(&block, None, Some(&samples::cipher()), samples::context()),
        Err(Error::Corruption {
            kind: CorruptionKind::NotEncrypted,
            ..
        })
    ));
}

/// Rewrites a block's checksum for another context, as an attacker (or a misdirected
/// write that happens to carry a valid checksum) would.
fn reseal_checksum(block: &[u8], context: BlockContext) -> Slice {
    let mut bytes = block.to_vec();
    let mut builder = lsm_core::checksum::ChecksumBuilder::with_seed(context.checksum_seed());
    builder.update(&bytes[..20]);
    builder.update(&bytes[HEADER_LEN..]);
    bytes[20..28].copy_from_slice(&builder.finish().into_raw().to_le_bytes());
    Slice::from(bytes)
}

#[test]
fn moved_blocks_fail_their_checksum_and_their_authentication() {
    let original = samples::context();
    let elsewhere = [
        BlockContext {
            file_id: 42,
            block_offset: 8192,
        },
        BlockContext {
            file_id: 43,
            block_offset: 4096,
        },
    ];
    for cipher in [None, Some(samples::cipher())] {
        let block = encode(
            b"some payload bytes",
            &Compression::None,
            cipher.as_ref(),
            original,
        );
        for context in elsewhere {
            assert!(matches!(
                decode(&block, None, cipher.as_ref(), context),
                Err(Error::Corruption {
                    kind: CorruptionKind::ChecksumMismatch { .. },
                    ..
                })
            ));
            let resealed = reseal_checksum(&block, context);
            let result = decode(&resealed, None, cipher.as_ref(), context);
            if cipher.is_some() {
                // The AAD binds file and offset: authentication fails even with a valid checksum.
                assert!(matches!(
                    result,
                    Err(Error::Corruption {
                        kind: CorruptionKind::AuthenticationFailed,
                        ..
                    })
                ));
            } else {
                assert_eq!(result.unwrap(), b"some payload bytes");
            }
        }
    }
}

#[test]
fn future_versions_and_foreign_types_are_typed_errors() {
    let context = samples::context();
    let block = encode(b"payload", &Compression::None, None, context);
    let mut future = block.to_vec();
    future[3] = lsm_codec::layout::FORMAT_VERSION + 1;
    let future = reseal_checksum(&future, context);
    assert!(matches!(
        decode(&future, None, None, context),
        Err(Error::UnsupportedFormatVersion { found: 3, max: 2 })
    ));
    // A block is written with the lowest version that reads it: LZ4 needs 2, the rest 1
    // (so readers of version 1 keep reading what does not use LZ4).
    let payload = b"payload payload payload payload payload payload".repeat(4);
    let lz4 = encode(&payload, &Compression::Lz4, None, context);
    assert_eq!((lz4[1], lz4[3]), (3, 2));
    assert_eq!(decode(&lz4, None, None, context).unwrap(), payload);
    let zstd = encode(&payload, &Compression::zstd(3), None, context);
    assert_eq!((zstd[1], zstd[3]), (1, 1));
    // LZ4 under version 1 is refused as corrupt (no version-1 writer made it).
    let mut old_lz4 = lz4.to_vec();
    old_lz4[3] = 1;
    assert!(matches!(
        decode(&reseal_checksum(&old_lz4, context), None, None, context),
        Err(Error::Corruption {
            kind: CorruptionKind::InvalidHeaderField { .. },
            ..
        })
    ));
    assert!(matches!(
        envelope::decode(&block, BlockType::Index, DecodeOptions::default(), context),
        Err(Error::Corruption {
            kind: CorruptionKind::UnexpectedBlockType {
                expected: 2,
                found: 1
            },
            ..
        })
    ));
}

#[test]
fn zeroed_and_empty_input_is_corrupt() {
    let context = samples::context();
    for bytes in [vec![], vec![0; 10], vec![0; 4096]] {
        let result = decode(&Slice::from(bytes), None, None, context);
        assert!(
            matches!(
                result,
                Err(Error::Corruption {
                    file_id: 42,
                    block_offset: 4096,
                    ..
                })
            ),
            "{result:?}"
        );
    }
}

/// G8: no (key, nonce) pair repeats over 10^7 block encryptions. A block's key is derived
/// from its file's salt and its nonce is the salt's first bytes with the block's offset,
/// so a repeat needs two blocks of files with one salt at one offset. The blocks here are
/// those of 10 opens of a tree (each with its own salt source), each writing the same
/// 1,000 ids of each of the 3 file kinds (as ids reused after crashes would be), 333
/// blocks of 4 KiB per file: every (salt, offset) pair is distinct. Run with
/// `--ignored` (about 10 s and 1 GB in release).
#[test]
#[ignore = "issue 19: ten million blocks (about 10 s and 1 GB in release); run with --ignored"]
fn no_nonce_repeats_over_ten_million_block_encryptions() {
    let mut seen = std::collections::HashSet::with_capacity(10_000_000);
    let mut blocks = 0_u64;
    for _open in 0..10 {
        let salts = lsm_codec::SaltSource::new().unwrap();
        for kind in 0..3_u8 {
            for file_id in 0..1_000_u64 {
                let salt = salts.salt_for(kind, file_id);
                for block in 0..333_u64 {
                    assert!(seen.insert((salt, block * 4096)), "a nonce repeats");
                    blocks += 1;
                }
            }
        }
    }
    assert!(blocks >= 9_990_000);
    println!("{blocks} block encryptions, 0 repeated (key, nonce) pairs");
}

#[test]
fn blocks_compressed_ahead_are_sealed_into_the_same_bytes() {
    let dictionary = ZstdDictionary::new(b"lorem ipsum dolor sit amet, consectetur");
    let cipher = FileCipher::new(&EncryptionKey::new([5; 32]), &[7; FILE_SALT_LEN]);
    let text = b"lorem ipsum dolor sit amet, consectetur adipiscing elit ".repeat(40);
    let noise: Vec<u8> = (0..2000_u32)
        .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    for compression in [
        Compression::None,
        Compression::Lz4,
        Compression::zstd(3),
        Compression::zstd_dict(3, &dictionary),
    ] {
        for payload in [&text[..], &noise[..], &[][..]] {
            for cipher in [None, Some(&cipher)] {
                let context = BlockContext {
                    file_id: 3,
                    block_offset: 4096,
                };
                let options = EncodeOptions {
                    compression: &compression,
                    cipher,
                };
                let whole = envelope::encode(payload, BlockType::Data, options, context).unwrap();
                let compressed = envelope::compress(payload, &compression).unwrap();
                let mut sealed = vec![1, 2, 3];
                envelope::encode_compressed_into(
                    payload,
                    &compressed,
                    BlockType::Data,
                    cipher,
                    context,
                    &mut sealed,
                )
                .unwrap();
                assert_eq!(&sealed[..3], &[1, 2, 3]);
                assert_eq!(
                    sealed[3..],
                    whole,
                    "{compression:?}, {} bytes",
                    payload.len()
                );
            }
        }
    }
}
