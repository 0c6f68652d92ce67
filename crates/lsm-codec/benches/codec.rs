//! Criterion benchmarks of the block layer on real records (Debian's package index, cut
//! to rows of a few hundred bytes): block build, seek, point lookup and iteration, and
//! envelope encode/decode with none / zstd / zstd with a trained dictionary.
//!
//! Compression ratios are not timings, so they are printed once before the timings.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lsm_codec::envelope;
use lsm_codec::{
    BlockContext, BlockType, Compression, DataBlock, DataBlockBuilder, DecodeOptions,
    EncodeOptions, train_dictionary,
};
use lsm_core::{KeyOrder, SeqNo, Slice, ValueType};
use lsm_testkit::orders::BytesThroughComparator;

const LEX: KeyOrder = KeyOrder::lexicographic();

use lsm_testkit::rng::Rng;

const BLOCK_TARGET_BYTES: usize = 4096;

fn blocks() -> Vec<lsm_testkit::data::RowBlock> {
    eprintln!("records: {}", lsm_testkit::data::DataSet::current());
    lsm_testkit::data::small_row_blocks(BLOCK_TARGET_BYTES).expect("the data set is readable")
}

fn bench_blocks(c: &mut Criterion) {
    let blocks = blocks();
    let (entries, payload) = &blocks[blocks.len() / 2];
    let mut group = c.benchmark_group("block");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function("build_4k", |b| {
        let mut builder = DataBlockBuilder::new(16);
        b.iter(|| {
            for (key, value) in entries {
                builder.add(key, 1, ValueType::Value, value);
            }
            black_box(builder.finish())
        });
    });
    let block = DataBlock::new(Slice::from(payload.clone())).expect("built blocks open");
    group.bench_function("iter_forward_4k", |b| {
        b.iter(|| black_box(block.iter().count()));
    });
    group.bench_function("iter_backward_4k", |b| {
        b.iter(|| black_box(block.iter().rev().count()));
    });
    group.throughput(Throughput::Elements(1));
    let mut rng = Rng::new(1);
    // A seek in the default order, and through a comparator giving the same order by a
    // dynamic call (what a custom comparator costs a block seek).
    let custom = KeyOrder::new(std::sync::Arc::new(BytesThroughComparator));
    for (name, order) in [("seek", &LEX), ("seek_custom_order", &custom)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let (key, _) = &entries[rng.index(entries.len())];
                let mut iter = block.iter();
                iter.seek(order, key, SeqNo::MAX)
                    .expect("built blocks decode");
                black_box(iter.next())
            });
        });
    }
    for hash_ratio in [0.0, 1.33] {
        let mut builder = DataBlockBuilder::new(16).with_hash_index(hash_ratio);
        for (key, value) in entries {
            builder.add(key, 1, ValueType::Value, value);
        }
        let block = DataBlock::new(Slice::from(builder.finish())).expect("built blocks open");
        group.bench_with_input(
            BenchmarkId::new("get", format!("hash_ratio_{hash_ratio}")),
            &block,
            |b, block| {
                b.iter(|| {
                    let (key, _) = &entries[rng.index(entries.len())];
                    black_box(
                        block
                            .get(&LEX, key, SeqNo::MAX)
                            .expect("built blocks decode"),
                    )
                });
            },
        );
    }
    // Small rows (the Debian keys with 8-byte values, restart interval 4): many restarts
    // per block, where the hash index saves the binary search.
    let small: Vec<(Vec<u8>, Vec<u8>)> = blocks
        .iter()
        .flat_map(|(rows, _)| rows)
        .take(120)
        .map(|(key, _)| (key.clone(), b"8 bytes!".to_vec()))
        .collect();
    for hash_ratio in [0.0, 1.33] {
        let mut builder = DataBlockBuilder::new(4).with_hash_index(hash_ratio);
        for (key, value) in &small {
            builder.add(key, 1, ValueType::Value, value);
        }
        let block = DataBlock::new(Slice::from(builder.finish())).expect("built blocks open");
        group.bench_with_input(
            BenchmarkId::new("get_small_rows", format!("hash_ratio_{hash_ratio}")),
            &block,
            |b, block| {
                b.iter(|| {
                    let (key, _) = &small[rng.index(small.len())];
                    black_box(
                        block
                            .get(&LEX, key, SeqNo::MAX)
                            .expect("built blocks decode"),
                    )
                });
            },
        );
    }
    group.finish();
}

fn bench_envelope(c: &mut Criterion) {
    let blocks = blocks();
    let samples: Vec<_> = blocks
        .iter()
        .step_by(7)
        .take(2000)
        .map(|(_, payload)| payload.clone())
        .collect();
    let dictionary =
        train_dictionary(&samples, 64 * 1024).expect("training succeeds on real blocks");
    let context = BlockContext {
        file_id: 1,
        block_offset: 0,
    };
    let payloads: Vec<_> = blocks
        .iter()
        .skip(3)
        .step_by(11)
        .take(500)
        .map(|(_, payload)| payload.clone())
        .collect();
    let raw_bytes: usize = payloads.iter().map(Vec::len).sum();

    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Bytes(raw_bytes as u64));
    let variants = [
        ("none", Compression::None),
        ("lz4", Compression::Lz4),
        ("zstd3", Compression::zstd(3)),
        ("zstd3_dict", Compression::zstd_dict(3, &dictionary)),
    ];
    for (name, compression) in &variants {
        let options = EncodeOptions {
            compression,
            cipher: None,
        };
        let encoded: Vec<_> = payloads
            .iter()
            .map(|payload| {
                Slice::from(
                    envelope::encode(payload, BlockType::Data, options, context)
                        .expect("encoding succeeds"),
                )
            })
            .collect();
        let stored_bytes: usize = encoded.iter().map(|block| block.len()).sum();
        eprintln!(
            "ratio {name}: {raw_bytes} -> {stored_bytes} bytes, {:.2}x over {} blocks of ~4 KiB",
            raw_bytes as f64 / stored_bytes as f64,
            payloads.len()
        );
        group.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| {
                for payload in &payloads {
                    black_box(
                        envelope::encode(payload, BlockType::Data, options, context)
                            .expect("encoding succeeds"),
                    );
                }
            });
        });
        let decode_options = DecodeOptions {
            dictionary: Some(&dictionary),
            cipher: None,
        };
        group.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| {
                for block in &encoded {
                    black_box(
                        envelope::decode(block, BlockType::Data, decode_options, context)
                            .expect("decoding succeeds"),
                    );
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_blocks, bench_envelope);
criterion_main!(benches);
