//! Fuzz target bodies. Each `fuzz/` target calls one of these, and `cargo test` runs
//! them over the checked-in corpus in `fuzz/corpus/<target>/` plus seeded mutations
//! of it, so stable CI covers every decoder without a nightly toolchain.
//!
//! Every body must return normally on any input: decoders answer bad bytes with errors.

use lsm_core::{InternalEntry, KeyOrder, SeqNo, Slice, ValueType};

use crate::{
    BlockContext, BlockType, DataBlock, DataBlockBuilder, DecodeOptions, EncryptionKey, FileCipher,
    IndexBlock, ZstdDictionary, envelope,
};

/// Arbitrary bytes as a data-block and an index-block payload: open, iterate from both
/// ends and mixed, seek both ways, look up.
pub fn block_decode(data: &[u8]) {
    let probe = data.get(..data.len().min(8)).unwrap_or_default();
    if let Ok(block) = DataBlock::new(Slice::new(data)) {
        let forward = block.iter().take_while(Result::is_ok).count();
        let backward = block.iter().rev().take_while(Result::is_ok).count();
        assert!(
            forward <= data.len() && backward <= data.len(),
            "more entries than bytes"
        );
        let mut iter = block.iter();
        let mut from_front = true;
        while let Some(Ok(_)) = if from_front {
            iter.next()
        } else {
            iter.next_back()
        } {
            from_front = !from_front;
        }
        let mut iter = block.iter();
        if iter
            .seek(&KeyOrder::lexicographic(), probe, SeqNo::MAX)
            .is_ok()
        {
            let _ = iter.next();
        }
        if iter
            .seek_for_prev(&KeyOrder::lexicographic(), probe, 0)
            .is_ok()
        {
            let _ = iter.next_back();
        }
        let _ = block.get(&KeyOrder::lexicographic(), probe, SeqNo::MAX);
        let _ = block.get(&KeyOrder::lexicographic(), probe, 1);
    }
    if let Ok(index) = IndexBlock::new(Slice::new(data)) {
        let _ = index.seek(&KeyOrder::lexicographic(), probe, SeqNo::MAX);
        let _ = index.iter().rev().take_while(Result::is_ok).count();
    }
}

/// Arbitrary bytes as an enveloped block. The first byte picks the reader's options
/// (no key, the test key, a dictionary); the block then goes to the payload decoder.
pub fn envelope_decode(data: &[u8]) {
    let Some((&selector, block)) = data.split_first() else {
        return;
    };
    let dictionary = ZstdDictionary::new(b"fuzz dictionary");
    let cipher = FileCipher::new(&EncryptionKey::new([7; 32]), &[9; crate::FILE_SALT_LEN]);
    let options = DecodeOptions {
        dictionary: (selector & 1 != 0).then_some(&dictionary),
        cipher: (selector & 2 != 0).then_some(&cipher),
    };
    let context = BlockContext {
        file_id: 1,
        block_offset: 0,
    };
    if let Ok(payload) = envelope::decode(&Slice::new(block), BlockType::Data, options, context) {
        assert!(payload.len() <= u32::MAX as usize);
        block_decode(&payload);
    }
    let _ = envelope::verify(block, context);
}

/// Arbitrary bytes as a list of entries: build a block, decode it, and compare.
pub fn block_roundtrip(data: &[u8]) {
    let Some((&config, mut rest)) = data.split_first() else {
        return;
    };
    let mut entries = Vec::new();
    while let Some(entry) = take_entry(&mut rest) {
        entries.push(entry);
    }
    entries.sort();
    entries.dedup_by(|a, b| a.key.user_key == b.key.user_key && a.key.seqno == b.key.seqno);
    if entries.is_empty() {
        return;
    }
    let restart_interval = usize::from(config % 16) + 1;
    let hash_ratio = if config & 0x80 != 0 { 1.0 } else { 0.0 };
    let mut builder = DataBlockBuilder::new(restart_interval).with_hash_index(hash_ratio);
    for entry in &entries {
        builder.add_entry(entry);
    }
    let block = DataBlock::new(Slice::from(builder.finish())).expect("a built block opens");
    let decoded: Vec<_> = block
        .iter()
        .map(|entry| entry.expect("a built block decodes"))
        .collect();
    assert_eq!(decoded, entries, "forward round trip");
    let mut reversed: Vec<_> = block
        .iter()
        .rev()
        .map(|entry| entry.expect("a built block decodes"))
        .collect();
    reversed.reverse();
    assert_eq!(reversed, entries, "backward round trip");
    for entry in &entries {
        let found = block
            .get(
                &KeyOrder::lexicographic(),
                &entry.key.user_key,
                entry.key.seqno + 1,
            )
            .expect("lookup decodes");
        assert_eq!(found.as_ref(), Some(entry), "point lookup");
    }
}

fn take_entry(rest: &mut &[u8]) -> Option<InternalEntry> {
    let (&header, tail) = rest.split_first()?;
    let key_len = usize::from(header % 8) + 1;
    let value_len = usize::from(header / 8 % 16);
    let (key, tail) = tail.split_at_checked(key_len)?;
    let (&seqno, tail) = tail.split_first()?;
    let (value, tail) = tail.split_at_checked(value_len.min(tail.len()))?;
    *rest = tail;
    let value_type = ValueType::try_from(header >> 7).unwrap_or(ValueType::Value);
    Some(InternalEntry::new(key, value, u64::from(seqno), value_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(target: &str, body: fn(&[u8])) {
        lsm_testkit::fuzz::replay(target, 10_000, body);
    }

    #[test]
    fn block_decode_corpus() {
        replay("block_decode", block_decode);
    }

    #[test]
    fn envelope_decode_corpus() {
        replay("envelope_decode", envelope_decode);
    }

    #[test]
    fn block_roundtrip_corpus() {
        replay("block_roundtrip", block_roundtrip);
    }

    /// Writes the seed corpus (never overwriting a file): a generator that `cargo xtask fixtures`
    /// runs, not a check.
    #[test]
    #[ignore = "issue 2: corpus generator, run by cargo xtask fixtures"]
    fn write_seed_corpus() {
        let mut builder = DataBlockBuilder::new(4).with_hash_index(1.0);
        for (idx, key) in ["alpha", "alphabet", "beta", "gamma", "gammas"]
            .iter()
            .enumerate()
        {
            builder.add(
                key.as_bytes(),
                9 - idx as u64,
                ValueType::Value,
                b"value bytes",
            );
        }
        let payload = builder.finish();
        let context = BlockContext {
            file_id: 1,
            block_offset: 0,
        };
        let dictionary = ZstdDictionary::new(b"fuzz dictionary");
        let cipher = FileCipher::new(&EncryptionKey::new([7; 32]), &[9; crate::FILE_SALT_LEN]);
        let mut envelopes = Vec::new();
        for (selector, compression, cipher) in [
            (0_u8, crate::Compression::None, None),
            (0, crate::Compression::zstd(1), None),
            (0, crate::Compression::Lz4, None),
            (1, crate::Compression::zstd_dict(1, &dictionary), None),
            (2, crate::Compression::zstd(1), Some(&cipher)),
        ] {
            let options = crate::EncodeOptions {
                compression: &compression,
                cipher,
            };
            let mut input = vec![selector];
            envelope::encode_into(
                &payload.repeat(1),
                BlockType::Data,
                options,
                context,
                &mut input,
            )
            .unwrap();
            envelopes.push(input);
        }
        let write = lsm_testkit::fuzz::write_seed;
        write("block_decode", "sample", &payload);
        for (idx, input) in envelopes.iter().enumerate() {
            write("envelope_decode", &format!("sample-{idx}"), input);
        }
        write(
            "block_roundtrip",
            "sample",
            b"\x83\x21abc\x05xyz\x10b\x07\x09abcdefgh\x01",
        );
    }
}
