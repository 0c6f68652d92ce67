//! Criterion benchmarks of tables on real records (Debian's package index: key
//! `Package Version`, value the JSON line, ~840 bytes): write throughput, point lookups
//! (hits and misses, with and without a block cache), scan throughput, and, printed once,
//! the table size with none / zstd / zstd with a trained dictionary and the filter's
//! bits per key. `write/zstd3_pool2` compresses the blocks on a pool of two threads.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsm_codec::Compression;
use lsm_core::{InternalEntry, MemFs, SeqNo, ValueType};
use lsm_table::{BlockCache, DictionaryTraining, ReadOptions, Table, TableOptions, TableWriter};
use lsm_testkit::data::debian_records;
use lsm_testkit::rng::Rng;

const RECORDS: usize = 20_000;

fn entries() -> Vec<InternalEntry> {
    eprintln!("records: {}", lsm_testkit::data::DataSet::current());
    let mut records = debian_records().expect("the data set is readable");
    records.truncate(RECORDS);
    let mut entries: Vec<_> = records
        .into_iter()
        .map(|record| InternalEntry::new(record.key, record.value, 1, ValueType::Value))
        .collect();
    entries.sort();
    entries.dedup_by(|a, b| a.key.user_key == b.key.user_key);
    entries
}

fn write(fs: &MemFs, path: &str, entries: &[InternalEntry], options: TableOptions) -> u64 {
    let mut writer = TableWriter::create(fs, path.as_ref(), 1, options).expect("creates");
    for entry in entries {
        writer.add(entry).expect("adds");
    }
    writer.finish().expect("finishes");
    lsm_core::fs::read_all(fs, path.as_ref())
        .expect("reads")
        .len() as u64
}

fn bench_tables(c: &mut Criterion) {
    let entries = entries();
    let raw_bytes: u64 = entries
        .iter()
        .map(|entry| (entry.key.user_key.len() + entry.value.len()) as u64)
        .sum();
    let fs = MemFs::new();
    let variants = [
        ("none", TableOptions::default()),
        (
            "zstd3",
            TableOptions {
                compression: Compression::zstd(3),
                ..TableOptions::default()
            },
        ),
        (
            "zstd3_trained_dict",
            TableOptions {
                dictionary_training: Some(DictionaryTraining::default()),
                ..TableOptions::default()
            },
        ),
    ];
    for (name, options) in &variants {
        let size = write(&fs, &format!("/size-{name}"), &entries, options.clone());
        eprintln!(
            "table size {name}: {size} bytes for {raw_bytes} raw, ratio {:.2}x",
            raw_bytes as f64 / size as f64
        );
    }

    // The same tables with their blocks compressed on a pool of two threads (the
    // writer's thread seals and appends them).
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool starts"),
    );
    let pooled: Vec<(String, TableOptions)> = variants
        .iter()
        .filter(|(name, _)| *name == "zstd3")
        .map(|(name, options)| {
            (
                format!("{name}_pool2"),
                TableOptions {
                    compression_pool: Some(Arc::clone(&pool)),
                    ..options.clone()
                },
            )
        })
        .collect();
    let all: Vec<(String, TableOptions)> = variants
        .iter()
        .map(|(name, options)| ((*name).to_owned(), options.clone()))
        .chain(pooled)
        .collect();
    let mut group = c.benchmark_group("table");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(raw_bytes));
    for (name, options) in &all {
        let mut counter = 0;
        group.bench_function(format!("write/{name}"), |b| {
            b.iter(|| {
                counter += 1;
                black_box(write(
                    &fs,
                    &format!("/w-{name}-{counter}"),
                    &entries,
                    options.clone(),
                ))
            });
        });
    }
    let plain =
        Table::open(&fs, "/size-zstd3".as_ref(), 1, &ReadOptions::default()).expect("opens");
    let filter = plain.filter_stats().expect("reads").expect("has a filter");
    eprintln!(
        "filter: {:.3} bits per key over {} keys",
        filter.bits_per_key, filter.key_count
    );
    group.bench_function("scan_forward/zstd3", |b| {
        b.iter(|| black_box(plain.iter(SeqNo::MAX).count()));
    });
    group.bench_function("scan_backward/zstd3", |b| {
        b.iter(|| black_box(plain.iter(SeqNo::MAX).rev().count()));
    });
    group.finish();

    let mut group = c.benchmark_group("table_get");
    let cached_options = ReadOptions {
        block_cache: Some(Arc::new(BlockCache::with_capacity_bytes(256 << 20))),
        ..ReadOptions::default()
    };
    let cached = Table::open(&fs, "/size-zstd3".as_ref(), 1, &cached_options).expect("opens");
    let mut rng = Rng::new(1);
    for (name, table) in [("uncached", &plain), ("cached", &cached)] {
        group.bench_function(format!("hit/{name}"), |b| {
            b.iter(|| {
                let entry = &entries[rng.index(entries.len())];
                black_box(table.get(&entry.key.user_key, SeqNo::MAX).expect("reads"))
            });
        });
        group.bench_function(format!("miss/{name}"), |b| {
            b.iter(|| {
                let entry = &entries[rng.index(entries.len())];
                let mut absent = entry.key.user_key.to_vec();
                absent.push(b'~');
                black_box(table.get(&absent, SeqNo::MAX).expect("reads"))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_tables);
criterion_main!(benches);
