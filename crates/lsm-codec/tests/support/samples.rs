//! Deterministic sample blocks shared by the integration tests.

#![allow(dead_code, reason = "each test binary uses a different part")]

use lsm_codec::{
    BlockContext, Compression, DataBlockBuilder, EncryptionKey, FILE_SALT_LEN, FileCipher,
    ZstdDictionary, train_dictionary,
};
use lsm_core::ValueType;

/// A JSON-like record of the shape a package index holds.
pub fn record(idx: u64) -> (Vec<u8>, Vec<u8>) {
    let names = [
        "libfoo",
        "python3-bar",
        "golang-baz",
        "node-qux",
        "texlive-extra",
    ];
    let name = names[(idx % 5) as usize];
    let key = format!("{name}-{idx:06}").into_bytes();
    let value = format!(
        r#"{{"Package":"{name}-{idx}","Version":"{}.{}.{}-{}","Architecture":"amd64","Maintainer":"Debian {name} Team <team@example.org>","Installed-Size":"{}","Depends":"libc6 (>= 2.{}), {name}-common (= {}.{})","Section":"{}","Priority":"optional","Description":"{name} utility number {idx} for testing"}}"#,
        idx % 7,
        idx % 13,
        idx % 3,
        idx % 4 + 1,
        idx * 37 % 9000,
        idx % 40,
        idx % 7,
        idx % 13,
        ["libs", "python", "devel", "web", "tex"][(idx % 5) as usize],
    )
    .into_bytes();
    (key, value)
}

/// A data block of records `first..first + count`, in key order.
pub fn data_block_payload(first: u64, count: u64) -> Vec<u8> {
    let mut records: Vec<_> = (first..first + count).map(record).collect();
    records.sort();
    let mut builder = DataBlockBuilder::new(16);
    for (seqno, (key, value)) in records.iter().enumerate() {
        builder.add(key, seqno as u64, ValueType::Value, value);
    }
    builder.finish()
}

/// A dictionary trained on sample blocks.
pub fn dictionary() -> ZstdDictionary {
    let samples: Vec<_> = (0..200)
        .map(|block_idx| data_block_payload(10_000 + block_idx * 7, 6))
        .collect();
    train_dictionary(&samples, 8 * 1024).expect("training on 200 samples succeeds")
}

/// The key every test uses.
pub fn key() -> EncryptionKey {
    EncryptionKey::new(*b"0123456789abcdef0123456789abcdef")
}

/// The cipher of a test file.
pub fn cipher() -> FileCipher {
    FileCipher::new(&key(), &[0x5A; FILE_SALT_LEN])
}

/// The context of the test block.
pub fn context() -> BlockContext {
    BlockContext {
        file_id: 42,
        block_offset: 4096,
    }
}

/// Every envelope variant: name, compression, whether encrypted.
pub fn variants(dictionary: &ZstdDictionary) -> Vec<(&'static str, Compression, bool)> {
    vec![
        ("plain", Compression::None, false),
        ("zstd", Compression::zstd(3), false),
        ("zstd_dict", Compression::zstd_dict(3, dictionary), false),
        ("encrypted", Compression::None, true),
        ("encrypted_zstd", Compression::zstd(3), true),
    ]
}
