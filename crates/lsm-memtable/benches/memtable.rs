//! Criterion benchmarks of the memtable: insert, point lookup and scan.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsm_core::{InternalEntry, SeqNo, ValueType};
use lsm_memtable::Memtable;

const ENTRIES: u64 = 100_000;

fn key(idx: u64) -> String {
    // Spread keys so that inserts land all over the skiplist.
    format!("key-{:016x}", idx.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn bench_memtable(c: &mut Criterion) {
    let mut group = c.benchmark_group("memtable");
    group.throughput(Throughput::Elements(ENTRIES));
    group.sample_size(10);
    group.bench_function("insert_100k", |b| {
        b.iter(|| {
            let memtable = Memtable::new(1);
            for idx in 0..ENTRIES {
                memtable.insert(InternalEntry::new(
                    key(idx),
                    "value-bytes-of-a-row",
                    idx,
                    ValueType::Value,
                ));
            }
            black_box(memtable.len())
        });
    });
    let memtable = Arc::new(Memtable::new(1));
    for idx in 0..ENTRIES {
        memtable.insert(InternalEntry::new(
            key(idx),
            "value-bytes-of-a-row",
            idx,
            ValueType::Value,
        ));
    }
    group.bench_function("scan_100k", |b| {
        b.iter(|| black_box(memtable.range::<&[u8], _>(.., SeqNo::MAX).count()));
    });
    group.throughput(Throughput::Elements(1));
    let mut idx = 0;
    group.bench_function("get_hit", |b| {
        b.iter(|| {
            idx = (idx + 7919) % ENTRIES;
            black_box(memtable.get(key(idx).as_bytes(), SeqNo::MAX))
        });
    });
    group.finish();
}

criterion_group!(benches, bench_memtable);
criterion_main!(benches);
