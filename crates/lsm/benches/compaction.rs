//! Criterion benchmarks of compaction on the real file system: a major compaction of
//! four overlapping level-0 tables of small entries (the shape of a key-value separated
//! tree's index: short keys, pointer-sized values), and one that relocates separated
//! 4 KiB values out of blob files half of whose values are dead.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lsm::{AbstractTree, AnyTree, Config, KvSeparationOptions, SequenceNumberCounter};

/// Entries per level-0 table of the small-entry merge.
const ENTRIES: u64 = 100_000;
/// Tables merged.
const TABLES: u64 = 4;
/// Separated values in the relocation benchmark.
const BLOBS: u64 = 10_000;
const BLOB_BYTES: usize = 4096;

fn key(idx: u64) -> String {
    format!("key-{:016x}", idx.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn open(dir: &std::path::Path, separation: Option<KvSeparationOptions>) -> AnyTree {
    Config::new(
        dir.join("tree"),
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_kv_separation(separation)
    .open()
    .expect("the tree opens")
}

/// A tree of `TABLES` level-0 tables of `ENTRIES` 24-byte values each; every key is
/// written by two tables, so the merge drops half of the entries.
fn small_entry_tree() -> (tempfile::TempDir, AnyTree, u64) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tree = open(dir.path(), None);
    let mut seqno = 0;
    for table in 0..TABLES {
        for idx in 0..ENTRIES {
            seqno += 1;
            let key_idx = (table / 2) * ENTRIES + idx;
            tree.insert(key(key_idx), format!("{seqno:024}"), seqno);
        }
        tree.flush_active_memtable(0).expect("flushes");
    }
    (dir, tree, seqno + 1)
}

/// A blob tree whose one blob file has every other value overwritten by a small one.
fn half_dead_blob_tree() -> (tempfile::TempDir, AnyTree, u64) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let separation = KvSeparationOptions::default()
        .staleness_threshold(0.25)
        .age_cutoff(1.0);
    let tree = open(dir.path(), Some(separation));
    let value = vec![b'v'; BLOB_BYTES];
    let mut seqno = 0;
    for idx in 0..BLOBS {
        seqno += 1;
        tree.insert(key(idx), value.as_slice(), seqno);
    }
    tree.flush_active_memtable(0).expect("flushes");
    for idx in (0..BLOBS).step_by(2) {
        seqno += 1;
        tree.insert(key(idx), "small", seqno);
    }
    tree.flush_active_memtable(0).expect("flushes");
    // The first merge finds the garbage; the measured one relocates.
    tree.major_compact(64 << 20, seqno + 1).expect("compacts");
    (dir, tree, seqno + 1)
}

fn bench_compaction(c: &mut Criterion) {
    let mut group = c.benchmark_group("compaction");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TABLES * ENTRIES));
    group.bench_function("major_4x100k_small_entries", |b| {
        b.iter_batched(
            small_entry_tree,
            |(dir, tree, watermark)| {
                tree.major_compact(64 << 20, watermark).expect("compacts");
                black_box(tree.table_count());
                (dir, tree)
            },
            BatchSize::PerIteration,
        );
    });
    group.throughput(Throughput::Bytes(BLOBS / 2 * BLOB_BYTES as u64));
    group.bench_function("relocate_5k_live_4k_values", |b| {
        b.iter_batched(
            half_dead_blob_tree,
            |(dir, tree, watermark)| {
                tree.major_compact(64 << 20, watermark).expect("compacts");
                assert_eq!(
                    tree.stale_blob_bytes(),
                    0,
                    "the half-dead file was collected"
                );
                (dir, tree)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench_compaction);
criterion_main!(benches);
