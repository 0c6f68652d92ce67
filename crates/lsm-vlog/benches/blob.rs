//! Criterion benchmarks of blob files on real records (the Debian package index: values
//! of about 1 KiB of JSON): writing a file, reading values by handle, scanning a file.
//! Each variant also prints the space that zstd, with and without a trained dictionary,
//! saves per frame.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark has no error path to report to"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsm_codec::{Compression, train_dictionary};
use lsm_core::MemFs;
use lsm_testkit::data::{Record, debian_records};
use lsm_vlog::{BlobFileReader, BlobFileWriter, BlobHandle, BlobReadOptions, BlobWriteOptions};

const RECORDS: usize = 10_000;

fn write(fs: &MemFs, path: &str, records: &[Record], compression: &Compression) -> Vec<BlobHandle> {
    let options = BlobWriteOptions {
        compression: compression.clone(),
        ..BlobWriteOptions::default()
    };
    let mut writer = BlobFileWriter::create(fs, path.as_ref(), 1, options).unwrap();
    let handles = records
        .iter()
        .enumerate()
        .map(|(seqno, record)| {
            writer
                .write(&record.key, seqno as u64, &record.value)
                .unwrap()
        })
        .collect();
    writer.finish().unwrap();
    handles
}

fn bench_blob(c: &mut Criterion) {
    eprintln!("records: {}", lsm_testkit::data::DataSet::current());
    let mut records = debian_records().expect("the data set is readable");
    // A dictionary trained on records outside the measured ones, as a tree would train
    // it on earlier values.
    let dictionary = {
        let samples: Vec<&[u8]> = records
            .iter()
            .skip(RECORDS)
            .take(2_000)
            .map(|record| record.value.as_slice())
            .collect();
        train_dictionary(&samples, 64 * 1024).expect("the samples train a dictionary")
    };
    records.truncate(RECORDS);
    let value_bytes: usize = records.iter().map(|record| record.value.len()).sum();
    let mut group = c.benchmark_group("blob");
    group.sample_size(10);
    let read_options = BlobReadOptions {
        dictionary: Some(dictionary.clone()),
        ..BlobReadOptions::default()
    };
    for (name, compression) in [
        ("plain", Compression::None),
        ("zstd3", Compression::zstd(3)),
        ("zstd3_dict", Compression::zstd_dict(3, &dictionary)),
    ] {
        group.throughput(Throughput::Bytes(value_bytes as u64));
        group.bench_function(format!("write_10k_{name}"), |b| {
            b.iter(|| {
                let fs = MemFs::new();
                black_box(write(&fs, "/w.blob", &records, &compression).len())
            });
        });
        let fs = MemFs::new();
        let handles = write(&fs, "/r.blob", &records, &compression);
        let reader = BlobFileReader::open(&fs, "/r.blob".as_ref(), 1, &read_options).unwrap();
        let stored: u64 = handles.iter().map(|handle| handle.on_disk_len).sum();
        println!(
            "blob/{name}: {value_bytes} value bytes stored in {stored} frame bytes ({:.2}x)",
            value_bytes as f64 / stored as f64
        );
        group.bench_function(format!("scan_10k_{name}"), |b| {
            b.iter(|| {
                black_box(
                    reader
                        .scan()
                        .map(|item| item.unwrap().1.value.len())
                        .sum::<usize>(),
                )
            });
        });
        group.throughput(Throughput::Elements(1));
        let mut idx = 0;
        group.bench_function(format!("get_{name}"), |b| {
            b.iter(|| {
                idx = (idx + 7919) % handles.len();
                black_box(reader.get(&handles[idx]).unwrap().value.len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_blob);
criterion_main!(benches);
