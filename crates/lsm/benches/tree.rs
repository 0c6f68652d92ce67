//! Criterion benchmarks of the tree on the real file system: insert, point reads from
//! the memtable and from tables (hit and miss), a seek with ten steps (a new iterator,
//! and one repositioned iterator), and a flush; a seek, a skip scan (short hops
//! forward, new iterators against one repositioned iterator) and a full scan over
//! level 0 after eight flushes fed in key order.
//! The db_bench-style figures on real records are `cargo xtask bench`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsm::{AbstractTree, Config, SeqNo, SequenceNumberCounter};

const ENTRIES: u64 = 100_000;

fn key(idx: u64) -> String {
    format!("key-{:016x}", idx.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn value(idx: u64) -> String {
    format!("value of row {idx}, about a hundred bytes of text like a small record would hold")
}

/// A tree in a fresh temporary directory (kept until the returned guard drops).
fn open_tree() -> (tempfile::TempDir, lsm::AnyTree, SequenceNumberCounter) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(
        dir.path().join("tree"),
        seqno.clone(),
        SequenceNumberCounter::default(),
    )
    .open()
    .expect("the tree opens");
    (dir, tree, seqno)
}

fn bench_tree(c: &mut Criterion) {
    let (_dir, tree, seqno) = open_tree();
    let mut group = c.benchmark_group("tree");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES));
    let mut round = 0;
    group.bench_function("insert_100k_and_flush", |b| {
        b.iter(|| {
            round += 1;
            for idx in 0..ENTRIES {
                tree.insert(key(idx + round * ENTRIES), value(idx), seqno.next());
            }
            tree.flush_active_memtable(0).expect("flushes");
        });
    });
    // A fresh tree with one table and a full memtable above it.
    drop(tree);
    let (_fresh_dir, tree, seqno) = open_tree();
    for idx in 0..ENTRIES {
        tree.insert(key(idx), value(idx), seqno.next());
    }
    tree.flush_active_memtable(0).expect("flushes");
    for idx in ENTRIES..2 * ENTRIES {
        tree.insert(key(idx), value(idx), seqno.next());
    }
    group.throughput(Throughput::Elements(1));
    let mut idx = 0;
    let mut next = || {
        idx = (idx + 7919) % ENTRIES;
        idx
    };
    group.bench_function("get_memtable_hit", |b| {
        b.iter(|| black_box(tree.get(key(ENTRIES + next()), SeqNo::MAX)));
    });
    group.bench_function("get_table_hit", |b| {
        b.iter(|| black_box(tree.get(key(next()), SeqNo::MAX)));
    });
    group.bench_function("get_miss", |b| {
        b.iter(|| black_box(tree.get(key(3 * ENTRIES + next()), SeqNo::MAX)));
    });
    group.bench_function("seek_and_10_nexts", |b| {
        b.iter(|| black_box(tree.range(key(next()).., SeqNo::MAX, None).take(10).count()));
    });
    // The same seeks on one repositioned iterator.
    let mut seekable = tree.range_seekable::<&str, _>(.., SeqNo::MAX, None);
    group.bench_function("seek_to_and_10_nexts", |b| {
        b.iter(|| {
            seekable.seek_to(key(next()).as_bytes());
            black_box(seekable.by_ref().take(10).count())
        });
    });
    group.finish();
}

/// Level 0 after eight flushes of ascending keys (no compaction): one run when the
/// flushes join it, eight otherwise.
fn bench_key_ordered_level0(c: &mut Criterion) {
    const FLUSHES: u64 = 8;
    const PER_FLUSH: u64 = 25_000;
    let ordered = |idx: u64| format!("key-{idx:016}");
    let (_dir, tree, seqno) = open_tree();
    for flush in 0..FLUSHES {
        for idx in flush * PER_FLUSH..(flush + 1) * PER_FLUSH {
            tree.insert(ordered(idx), value(idx), seqno.next());
        }
        tree.flush_active_memtable(0).expect("flushes");
    }
    let mut group = c.benchmark_group("key_ordered_level0");
    group.sample_size(10);
    let mut idx = 0;
    let mut next = || {
        idx = (idx + 7919) % (FLUSHES * PER_FLUSH);
        idx
    };
    group.throughput(Throughput::Elements(1));
    group.bench_function("seek_and_10_nexts", |b| {
        b.iter(|| {
            black_box(
                tree.range(ordered(next()).., SeqNo::MAX, None)
                    .take(10)
                    .count(),
            )
        });
    });
    // A skip scan: short hops forward (three keys on, two read each), as a join or a
    // filtered scan makes, with a new iterator per hop and with one repositioned iterator
    // (whose hops land mostly in the blocks it holds).
    let mut hop = 0;
    let mut next_hop = || {
        hop = (hop + 3) % (FLUSHES * PER_FLUSH);
        hop
    };
    group.bench_function("skip_scan_new_iterator", |b| {
        b.iter(|| {
            black_box(
                tree.range(ordered(next_hop()).., SeqNo::MAX, None)
                    .take(2)
                    .count(),
            )
        });
    });
    let mut seekable = tree.range_seekable::<&str, _>(.., SeqNo::MAX, None);
    group.bench_function("skip_scan_seek_to", |b| {
        b.iter(|| {
            seekable.seek_to(ordered(next_hop()).as_bytes());
            black_box(seekable.by_ref().take(2).count())
        });
    });
    group.throughput(Throughput::Elements(FLUSHES * PER_FLUSH));
    group.bench_function("full_scan", |b| {
        b.iter(|| black_box(tree.iter(SeqNo::MAX, None).count()));
    });
    group.finish();
}

criterion_group!(benches, bench_tree, bench_key_ordered_level0);
criterion_main!(benches);
