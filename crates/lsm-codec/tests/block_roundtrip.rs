//! Data and index blocks against a sorted `Vec` model: iteration from both ends (also
//! mixed), seeks in both directions, and point lookups at every read seqno; and damaged
//! payloads, which must never panic the decoder.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

#[path = "support/samples.rs"]
mod samples;

use lsm_codec::{BlockHandle, DataBlock, DataBlockBuilder, IndexBlock, IndexBlockBuilder};
use lsm_core::{InternalEntry, KeyOrder, SeqNo, Slice, ValueType};

const LEX: KeyOrder = KeyOrder::lexicographic();
use proptest::prelude::*;

fn value_type_strategy() -> impl Strategy<Value = ValueType> {
    prop_oneof![
        4 => Just(ValueType::Value),
        1 => Just(ValueType::Tombstone),
        1 => Just(ValueType::WeakTombstone),
        1 => Just(ValueType::MergeOperand),
        1 => Just(ValueType::Indirection),
    ]
}

/// Keys from a small alphabet, so that prefixes are shared and versions repeat.
fn entries_strategy() -> impl Strategy<Value = Vec<InternalEntry>> {
    let entry = (
        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c')], 1..6),
        0..20_u64,
        value_type_strategy(),
        proptest::collection::vec(any::<u8>(), 0..40),
    );
    proptest::collection::vec(entry, 1..150).prop_map(lsm_testkit::model::sorted_entries)
}

fn build(entries: &[InternalEntry], restart_interval: usize, hash_ratio: f64) -> DataBlock {
    let mut builder = DataBlockBuilder::new(restart_interval).with_hash_index(hash_ratio);
    for entry in entries {
        builder.add_entry(entry);
    }
    DataBlock::new(Slice::from(builder.finish())).unwrap()
}

fn position_at_or_after(entries: &[InternalEntry], key: &[u8], seqno: SeqNo) -> usize {
    entries.partition_point(|entry| {
        (
            entry.key.user_key.as_bytes(),
            std::cmp::Reverse(entry.key.seqno),
        ) < (key, std::cmp::Reverse(seqno))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn block_matches_model(
        entries in entries_strategy(),
        restart_interval in 1..20_usize,
        hash_ratio in prop_oneof![Just(0.0), Just(0.5), Just(1.33), Just(4.0)],
        directions in proptest::collection::vec(any::<bool>(), 0..300),
        probes in proptest::collection::vec(
            (proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c'), Just(b'd')], 1..6), 0..22_u64),
            1..30),
    ) {
        let block = build(&entries, restart_interval, hash_ratio);
        prop_assert_eq!(block.has_hash_index(), hash_ratio > 0.0 && entries.len().div_ceil(restart_interval) <= 254);

        let forward: Vec<_> = block.iter().map(Result::unwrap).collect();
        prop_assert_eq!(&forward, &entries);
        let mut backward: Vec<_> = block.iter().rev().map(Result::unwrap).collect();
        backward.reverse();
        prop_assert_eq!(&backward, &entries);

        // Mixed directions: every entry exactly once, in order from both ends.
        let mut iter = block.iter();
        let (mut front, mut back) = (Vec::new(), Vec::new());
        for from_front in directions.into_iter().chain(std::iter::repeat(true)) {
            let item = if from_front { iter.next() } else { iter.next_back() };
            let Some(entry) = item else { break };
            prop_assert!(front.len() + back.len() < entries.len());
            if from_front { front.push(entry.unwrap()) } else { back.push(entry.unwrap()) }
        }
        back.reverse();
        front.extend(back);
        prop_assert_eq!(&front, &entries);

        for (key, seqno) in probes {
            // seek: first entry at or after (key, seqno).
            let lower = position_at_or_after(&entries, &key, seqno);
            let mut iter = block.iter();
            iter.seek(&LEX, &key, seqno).unwrap();
            let sought: Vec<_> = iter.map(Result::unwrap).collect();
            prop_assert_eq!(&sought[..], &entries[lower..]);

            // seek_for_prev: last entry at or before (key, seqno).
            let upper = position_at_or_after(&entries, &key, seqno)
                + usize::from(entries.get(lower).is_some_and(|entry| entry.key.user_key == key.as_slice() && entry.key.seqno == seqno));
            let mut iter = block.iter();
            iter.seek_for_prev(&LEX, &key, seqno).unwrap();
            let mut sought: Vec<_> = iter.rev().map(Result::unwrap).collect();
            sought.reverse();
            prop_assert_eq!(&sought[..], &entries[..upper]);

            // get: newest version with seqno below the read seqno.
            let expected = entries
                .iter()
                .find(|entry| entry.key.user_key == key.as_slice() && entry.key.seqno < seqno)
                .cloned();
            prop_assert_eq!(block.get(&LEX, &key, seqno).unwrap(), expected.clone());

            // get_from: from the restart and entry where the key's first version is (a
            // block locator's answer) it finds the same; from any start, nothing but a
            // version of the key visible at the read seqno.
            if let Some(first) = entries.iter().position(|entry| entry.key.user_key == key.as_slice()) {
                let (restart, skip) = (first / restart_interval, first % restart_interval);
                prop_assert_eq!(block.get_from(&LEX, &key, seqno, restart, skip).unwrap(), expected.clone());
                prop_assert_eq!(block.get_from(&LEX, &key, seqno, restart, 0).unwrap(), expected.clone());
            }
            for restart in 0..entries.len().div_ceil(restart_interval) + 1 {
                let found = block.get_from(&LEX, &key, seqno, restart, 0).unwrap();
                prop_assert!(found.is_none_or(|entry| entry.key.user_key == key.as_slice() && entry.key.seqno < seqno));
            }
        }
        // entry_by_ordinal: every entry by its position, and nothing past the last.
        for (ordinal, entry) in entries.iter().enumerate() {
            prop_assert_eq!(block.entry_by_ordinal(ordinal, restart_interval).unwrap(), Some(entry.clone()));
        }
        prop_assert_eq!(block.entry_by_ordinal(entries.len(), restart_interval).unwrap(), None);
        for (ordinal, entry) in entries.iter().enumerate() {
            prop_assert_eq!(block.value_by_ordinal(ordinal, restart_interval).unwrap(), Some(entry.value.clone()));
        }
    }

    #[test]
    fn index_block_matches_model(
        keys in proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 1..12), 1..80),
        restart_interval in 1..8_usize,
        probe in proptest::collection::vec(any::<u8>(), 1..12),
    ) {
        let mut builder = IndexBlockBuilder::new(restart_interval);
        let keys: Vec<_> = keys.into_iter().collect();
        for (block_idx, key) in keys.iter().enumerate() {
            builder.add(key, 7, BlockHandle { offset: block_idx as u64 * 4096, len_bytes: 4096 });
        }
        let index = IndexBlock::new(Slice::from(builder.finish())).unwrap();
        let expected = keys.partition_point(|key| key.as_slice() < probe.as_slice());
        let found = index.seek(&LEX, &probe, SeqNo::MAX).unwrap().map(|entry| entry.handle.offset / 4096);
        prop_assert_eq!(found, (expected < keys.len()).then_some(expected as u64));
        for block_idx in 0..keys.len() {
            let handle = index.handle_at(block_idx, restart_interval).unwrap().unwrap();
            prop_assert_eq!(handle.offset, block_idx as u64 * 4096);
        }
        prop_assert!(index.handle_at(keys.len(), restart_interval).unwrap().is_none());
        let handles: Vec<_> = index.iter().rev().map(|entry| entry.unwrap().handle.offset).collect();
        prop_assert_eq!(handles.len(), keys.len());
        prop_assert!(handles.windows(2).all(|pair| pair[0] > pair[1]));
    }
}

#[test]
fn a_key_spanning_restarts_is_found_at_every_seqno() {
    let entries: Vec<_> = (0..40_u64)
        .rev()
        .map(|seqno| InternalEntry::new("key", seqno.to_le_bytes(), seqno, ValueType::Value))
        .chain([InternalEntry::new("later", "x", 3, ValueType::Value)])
        .collect();
    for hash_ratio in [0.0, 1.0] {
        let block = build(&entries, 4, hash_ratio);
        for read_seqno in 1..=41 {
            let found = block.get(&LEX, b"key", read_seqno).unwrap().unwrap();
            assert_eq!(found.key.seqno, read_seqno.min(40) - 1);
        }
        assert_eq!(block.get(&LEX, b"key", 0).unwrap(), None);
        assert_eq!(block.get(&LEX, b"kez", SeqNo::MAX).unwrap(), None);
        assert_eq!(block.get(&LEX, b"later", 3).unwrap(), None);
    }
}

#[test]
fn damaged_payloads_never_panic_the_block_decoder() {
    // Below the envelope there is no checksum: a damaged payload may decode to other
    // entries, but must never panic or read out of bounds.
    let payload = samples::data_block_payload(0, 12);
    let mut cases = 0_usize;
    for (_, damaged) in lsm_testkit::damage::bit_flips(&payload, 1) {
        exercise_block(damaged);
        cases += 1;
    }
    for len in 0..payload.len() {
        exercise_block(payload[..len].to_vec());
        cases += 1;
    }
    println!("payload sweep: {cases} cases");
}

fn exercise_block(bytes: Vec<u8>) {
    let Ok(block) = DataBlock::new(Slice::from(bytes)) else {
        return;
    };
    let forward = block.iter().take_while(Result::is_ok).count();
    let backward = block.iter().rev().take_while(Result::is_ok).count();
    assert!(forward < 100_000 && backward < 100_000);
    let mut iter = block.iter();
    let _ = iter.seek(&LEX, b"libfoo-000005", SeqNo::MAX);
    let _ = iter.next();
    let _ = iter.seek_for_prev(&LEX, b"node-qux", 3);
    let _ = iter.next_back();
    let _ = block.get(&LEX, b"python3-bar-000001", SeqNo::MAX);
}
