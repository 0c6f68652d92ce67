//! Golden fixtures of format version 1: one block of each kind, checked in under
//! `tests/fixtures/v1/`. Deterministic encodings must reproduce them byte for byte, and
//! every fixture must keep decoding, so an accidental format change fails here.
//!
//! zstd's output may change between zstd releases, so compressed fixtures are only
//! decoded, never compared with a fresh encoding. `cargo xtask fixtures` writes missing
//! fixtures (`LSM_WRITE_FIXTURES=1`) and never overwrites one.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

#[path = "support/samples.rs"]
mod samples;

use std::path::Path;

use lsm_codec::envelope;
use lsm_codec::{
    BlockHandle, BlockType, Compression, DataBlockBuilder, DecodeOptions, EncodeOptions,
    IndexBlockBuilder, ZstdDictionary,
};
use lsm_core::{Slice, ValueType};

fn fixture(name: &str, fresh: &[u8]) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1");
    lsm_testkit::fixtures::fixture(&dir, name, fresh)
}

fn data_payload() -> Vec<u8> {
    samples::data_block_payload(0, 8)
}

fn hashed_payload() -> Vec<u8> {
    let mut builder = DataBlockBuilder::new(2).with_hash_index(1.5);
    let versions = [
        ("apple", 9, ValueType::Value),
        ("apple", 4, ValueType::Tombstone),
        ("apricot", 7, ValueType::MergeOperand),
        ("banana", 3, ValueType::WeakTombstone),
        ("cherry", 1, ValueType::Indirection),
    ];
    for (key, seqno, value_type) in versions {
        builder.add(
            key.as_bytes(),
            seqno,
            value_type,
            format!("{key}@{seqno}").as_bytes(),
        );
    }
    builder.finish()
}

fn index_payload() -> Vec<u8> {
    let mut builder = IndexBlockBuilder::new(16);
    for (block_idx, key) in ["b", "d", "f"].iter().enumerate() {
        builder.add(
            key.as_bytes(),
            5,
            BlockHandle {
                offset: block_idx as u64 * 4096,
                len_bytes: 4000,
            },
        );
    }
    builder.finish()
}

#[test]
fn payload_encodings_are_stable() {
    assert_eq!(fixture("data_payload.bin", &data_payload()), data_payload());
    assert_eq!(
        fixture("data_payload_hash_index.bin", &hashed_payload()),
        hashed_payload()
    );
    assert_eq!(
        fixture("index_payload.bin", &index_payload()),
        index_payload()
    );
}

#[test]
fn envelopes_decode_and_deterministic_ones_are_stable() {
    let payload = fixture("data_payload.bin", &data_payload());
    let dictionary = ZstdDictionary::new(&fixture("dictionary.bin", samples::dictionary().raw()));
    let cipher = samples::cipher();
    for (name, compression, encrypted) in samples::variants(&dictionary) {
        let cipher = encrypted.then_some(&cipher);
        let options = EncodeOptions {
            compression: &compression,
            cipher,
        };
        let fresh =
            envelope::encode(&payload, BlockType::Data, options, samples::context()).unwrap();
        let stored = fixture(&format!("block_{name}.bin"), &fresh);
        if matches!(compression, Compression::None) {
            assert_eq!(stored, fresh, "{name}: encoding changed");
        }
        let decode_options = DecodeOptions {
            dictionary: Some(&dictionary),
            cipher,
        };
        let decoded = envelope::decode(
            &Slice::from(stored),
            BlockType::Data,
            decode_options,
            samples::context(),
        )
        .unwrap();
        assert_eq!(
            decoded,
            payload.as_slice(),
            "{name}: fixture decodes to other bytes"
        );
    }
}
