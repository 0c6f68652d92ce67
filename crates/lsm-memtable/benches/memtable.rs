//! Criterion benchmarks of the memtable: insert, point lookup and scan, in the default
//! (lexicographic) key order and under a custom comparator that gives the same order
//! through a dynamic call (`_custom`), which is what a comparator costs here; and with
//! entry checks (`_checked`, and the check a flush runs).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsm_core::{InternalEntry, KeyOrder, SeqNo, UserKey, ValueType};
use lsm_memtable::Memtable;
use lsm_testkit::orders::BytesThroughComparator;
use lsm_testkit::rng::{Rng, permutation};

const ENTRIES: u64 = 100_000;

fn key(idx: u64) -> String {
    // Spread keys so that inserts land all over the skiplist.
    format!("key-{:016x}", idx.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

const LARGE_ENTRIES: u64 = 1_000_000;

/// `count` keys of 16 zero-padded decimal digits, in a random order.
fn decimal_keys(count: u64) -> Vec<UserKey> {
    permutation(count, &mut Rng::new(7))
        .into_iter()
        .map(|idx| UserKey::from(format!("{:016}", idx * 2).as_bytes()))
        .collect()
}

fn filled(order: &KeyOrder) -> Memtable {
    fill(Memtable::new_in(1, order))
}

fn fill(memtable: Memtable) -> Memtable {
    for idx in 0..ENTRIES {
        memtable.insert(InternalEntry::new(
            key(idx),
            "value-bytes-of-a-row",
            idx,
            ValueType::Value,
        ));
    }
    memtable
}

fn bench_memtable(c: &mut Criterion) {
    let mut group = c.benchmark_group("memtable");
    group.sample_size(10);
    for (suffix, order) in [
        ("", KeyOrder::lexicographic()),
        ("_custom", KeyOrder::new(Arc::new(BytesThroughComparator))),
    ] {
        group.throughput(Throughput::Elements(ENTRIES));
        group.bench_function(format!("insert_100k{suffix}"), |b| {
            b.iter(|| black_box(filled(&order).len()));
        });
        let memtable = Arc::new(filled(&order));
        group.bench_function(format!("scan_100k{suffix}"), |b| {
            b.iter(|| black_box(memtable.range::<&[u8], _>(.., SeqNo::MAX).count()));
        });
        group.throughput(Throughput::Elements(1));
        let mut idx = 0;
        group.bench_function(format!("get_hit{suffix}"), |b| {
            b.iter(|| {
                idx = (idx + 7919) % ENTRIES;
                black_box(memtable.get(key(idx).as_bytes(), SeqNo::MAX))
            });
        });
    }
    // A memtable far beyond the caches, as a write workload fills one: a million
    // 16-byte decimal keys in random order with 100-byte values (each its own buffer,
    // as a write brings it).
    let keys = decimal_keys(LARGE_ENTRIES);
    let value = [b'v'; 100];
    group.throughput(Throughput::Elements(LARGE_ENTRIES));
    group.bench_function("insert_1m_decimal", |b| {
        b.iter(|| {
            let memtable = Memtable::new(1);
            for (seqno, key) in (0..).zip(&keys) {
                memtable.insert(InternalEntry::new(
                    key.clone(),
                    &value[..],
                    seqno,
                    ValueType::Value,
                ));
            }
            black_box(memtable.len())
        });
    });
    // Entry checks: a hash per insert, and the full check a flush runs.
    group.throughput(Throughput::Elements(ENTRIES));
    let order = KeyOrder::lexicographic();
    group.bench_function("insert_100k_checked", |b| {
        b.iter(|| black_box(fill(Memtable::new_in(1, &order).with_entry_digest()).len()));
    });
    let checked = fill(Memtable::new_in(1, &order).with_entry_digest());
    group.bench_function("verify_100k", |b| {
        b.iter(|| black_box(checked.verify_digest().is_ok()));
    });
    group.finish();
}

criterion_group!(benches, bench_memtable);
criterion_main!(benches);
