//! The memtable against a sorted model: point lookups at every read seqno, scans with
//! random bounds from both ends (also mixed), and concurrent writers and readers.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::ops::Bound;
use std::sync::Arc;

use lsm_core::{InternalEntry, SeqNo, ValueType};
use lsm_memtable::Memtable;
use lsm_testkit::model::in_bounds_in;
use lsm_testkit::orders::TestOrder;
use proptest::prelude::*;

/// Short keys that collide often, and keys around the length the skiplist holds in its
/// nodes (24 bytes) that share long prefixes and end in zeros or high bytes: a key and
/// the same key padded with zeros must stay apart and in order.
fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c')], 1..4),
        1 => (
            proptest::sample::select(vec![0_usize, 7, 8, 15, 16, 22, 23, 24, 25, 31]),
            proptest::sample::select(vec![0_u8, b'p']),
            proptest::collection::vec(prop_oneof![Just(0_u8), Just(1_u8), Just(0xff_u8)], 0..4),
        )
            .prop_map(|(shared, fill, mut tail)| {
                let mut key = vec![fill; shared];
                key.append(&mut tail);
                if key.is_empty() {
                    key.push(0);
                }
                key
            }),
    ]
}

fn bound_strategy() -> impl Strategy<Value = Bound<Vec<u8>>> {
    lsm_testkit::model::bound_strategy(key_strategy)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn memtable_matches_model(
        writes in proptest::collection::vec((key_strategy(), 0..40_u64, any::<bool>()), 0..400),
        probes in proptest::collection::vec((key_strategy(), 0..42_u64), 1..30),
        scans in proptest::collection::vec((bound_strategy(), bound_strategy(), 0..42_u64, proptest::collection::vec(any::<bool>(), 0..300)), 1..5),
        test_order in proptest::sample::select(TestOrder::ALL.to_vec()),
    ) {
        let order = test_order.key_order();
        let memtable = Arc::new(Memtable::new_in(1, &order));
        let mut model: Vec<InternalEntry> = Vec::new();
        for (key, seqno, is_tombstone) in writes {
            let entry = if is_tombstone {
                InternalEntry::tombstone(key, seqno)
            } else {
                InternalEntry::new(key, seqno.to_le_bytes(), seqno, ValueType::Value)
            };
            // One version per (key, seqno): a rewrite replaces it, in the model too.
            model.retain(|existing| existing.key.user_key != entry.key.user_key || existing.key.seqno != entry.key.seqno);
            let replaced = memtable.get(&entry.key.user_key, entry.key.seqno + 1).filter(|found| found.key.seqno == entry.key.seqno);
            if let Some(replaced) = replaced {
                // A different type at the same seqno is a different internal key; keep the
                // model one-per-seqno by skipping such writes.
                if replaced.key.value_type != entry.key.value_type {
                    model.push(replaced);
                    continue;
                }
            }
            memtable.insert(entry.clone());
            model.push(entry);
        }
        model.sort_by(|left, right| order.cmp_internal(&left.key, &right.key));
        prop_assert_eq!(memtable.len(), model.len());
        for (key, read_seqno) in probes {
            let expected = model.iter().find(|entry| entry.key.user_key == key.as_slice() && entry.key.seqno < read_seqno).cloned();
            prop_assert_eq!(memtable.get(&key, read_seqno), expected);
        }
        for (lower, upper, read_seqno, directions) in scans {
            let expected: Vec<_> = model
                .iter()
                .filter(|entry| entry.key.seqno < read_seqno && in_bounds_in(&order, &entry.key.user_key, &lower, &upper))
                .cloned()
                .collect();
            let mut scan = memtable.range::<Vec<u8>, _>((lower, upper), read_seqno);
            let (mut front, mut back) = (Vec::new(), Vec::new());
            for from_front in directions.into_iter().chain(std::iter::repeat(true)) {
                let item = if from_front { scan.next() } else { scan.next_back() };
                let Some(entry) = item else { break };
                prop_assert!(front.len() + back.len() < expected.len(), "more entries than the model");
                if from_front { front.push(entry) } else { back.push(entry) }
            }
            back.reverse();
            front.extend(back);
            prop_assert_eq!(front, expected);
        }
    }
}

#[test]
fn concurrent_writers_and_snapshot_readers() {
    let memtable = Arc::new(Memtable::new(7));
    // Seqnos 0..10_000 are written first; readers at seqno 10_000 must see exactly them
    // while writers add newer versions concurrently.
    for seqno in 0..10_000_u64 {
        memtable.insert(InternalEntry::new(
            format!("key-{:05}", seqno % 2500),
            seqno.to_le_bytes(),
            seqno,
            ValueType::Value,
        ));
    }
    std::thread::scope(|scope| {
        for writer in 0..2_u64 {
            let memtable = Arc::clone(&memtable);
            scope.spawn(move || {
                for seqno in (10_000 + writer..30_000).step_by(2) {
                    memtable.insert(InternalEntry::new(
                        format!("key-{:05}", seqno % 2500),
                        seqno.to_le_bytes(),
                        seqno,
                        ValueType::Value,
                    ));
                }
            });
        }
        for _ in 0..2 {
            let memtable = Arc::clone(&memtable);
            scope.spawn(move || {
                for round in 0..5 {
                    let forward: Vec<_> = memtable.range::<&[u8], _>(.., 10_000).collect();
                    assert_eq!(forward.len(), 10_000, "round {round}");
                    assert!(forward.windows(2).all(|pair| pair[0].key < pair[1].key));
                    let backward = memtable.range::<&[u8], _>(.., 10_000).rev().count();
                    assert_eq!(backward, 10_000);
                    let newest = memtable.get(b"key-00007", 10_000).unwrap();
                    assert_eq!(newest.key.seqno, 7507);
                }
            });
        }
    });
    assert_eq!(memtable.len(), 30_000);
    assert_eq!(memtable.highest_seqno(), 29_999);
    assert_eq!(memtable.range::<&[u8], _>(.., SeqNo::MAX).count(), 30_000);
}

#[test]
fn size_accounting_counts_keys_values_and_overhead() {
    let memtable = Memtable::new(1);
    let (added, size) = memtable.insert(InternalEntry::new("key", "value", 1, ValueType::Value));
    assert_eq!(added, 3 + 5 + lsm_memtable::ENTRY_OVERHEAD_BYTES);
    assert_eq!(size, added);
    let (_, size) = memtable.insert(InternalEntry::tombstone("key", 2));
    assert_eq!(size, added + 3 + lsm_memtable::ENTRY_OVERHEAD_BYTES);
    assert_eq!(memtable.approximate_size(), size);
    assert!(memtable.get(b"key", 0).is_none());
    assert!(
        memtable
            .get(b"key", 3)
            .unwrap()
            .key
            .value_type
            .is_tombstone()
    );
}
