//! Compression through the facade, on the real records: each compression a `Config` can
//! name writes the same tree (every record, in file order, flushed and compacted into
//! the last level), then reads it back. Reported per variant: the write rate (insert,
//! flush and compaction, over the user bytes), the bytes on disk, the compression ratio
//! (user bytes over disk bytes), random point reads through a block cache an eighth of
//! the data's size (most reads decompress a block), and a full scan.
//!
//! Two shapes: small rows (the records cut to 100-500 bytes) stored in the tables, and
//! the whole records (about 1-3 KiB) separated into blob files. The caller's dictionary
//! is trained on the first 2,000 records; the data is all of them. A self-trained
//! dictionary (each table, or each blob file) samples its first 4 MiB.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lsm::config::{CompressionPolicy, DictionaryTraining};
use lsm::{
    AbstractTree, AnyTree, Cache, CompressionType, Config, Guard, KvSeparationOptions, SeqNo,
    SequenceNumberCounter, ZstdDictionary,
};
use lsm_testkit::data::{Record, debian_records};
use lsm_testkit::rng::Rng;

use crate::table_workloads::{TempDir, median, per_op};
use crate::tree_dirs::remove_all;
use crate::workloads::Measurement;

const LOOKUPS: usize = 50_000;
const LEVEL: i32 = 3;

/// One way of compressing.
struct Variant {
    name: &'static str,
    compression: CompressionType,
    training: bool,
}

fn variants(dictionary: &ZstdDictionary) -> Vec<Variant> {
    vec![
        Variant {
            name: "none",
            compression: CompressionType::None,
            training: false,
        },
        Variant {
            name: "lz4",
            compression: CompressionType::Lz4,
            training: false,
        },
        Variant {
            name: "zstd",
            compression: CompressionType::Zstd(LEVEL),
            training: false,
        },
        Variant {
            name: "zstd+dict",
            compression: CompressionType::ZstdDict {
                level: LEVEL,
                dict_id: dictionary.id(),
            },
            training: false,
        },
        Variant {
            name: "zstd+trained",
            compression: CompressionType::Zstd(LEVEL),
            training: true,
        },
    ]
}

/// Runs every variant for both shapes.
pub fn run_all(runs: usize) -> Result<Vec<Measurement>, String> {
    let records = debian_records().map_err(|error| format!("cannot load the data set: {error}"))?;
    let mut results = Vec::new();
    for blob in [false, true] {
        let samples: Vec<&[u8]> = records
            .iter()
            .take(2_000)
            .map(|record| value_of(record, blob))
            .collect();
        let dictionary = Arc::new(
            lsm_codec::train_dictionary(&samples, 64 << 10)
                .map_err(|error| format!("dictionary training: {error}"))?,
        );
        for variant in variants(&dictionary) {
            results.extend(run_variant(&records, &variant, &dictionary, blob, runs)?);
        }
    }
    Ok(results)
}

fn value_of(record: &Record, blob: bool) -> &[u8] {
    if blob {
        &record.value
    } else {
        &record.small_value
    }
}

fn config(
    dir: &std::path::Path,
    variant: &Variant,
    dictionary: &Arc<ZstdDictionary>,
    blob: bool,
    cache_bytes: u64,
) -> Config {
    let config = Config::new(
        dir,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .use_cache(Arc::new(Cache::with_capacity_bytes(cache_bytes)));
    let training = variant.training.then_some(DictionaryTraining {
        level: LEVEL,
        dictionary_bytes: 64 << 10,
        sample_bytes: 4 << 20,
    });
    if blob {
        let options = KvSeparationOptions::default()
            .separation_threshold(512)
            .compression(variant.compression)
            .dictionary_training(training);
        // Plain zstd with a dictionary set would use it: set it only where it is named.
        config.with_kv_separation(Some(match variant.compression {
            CompressionType::ZstdDict { .. } => options.dict(Arc::clone(dictionary)),
            _ => options,
        }))
    } else {
        config
            .data_block_compression_policy(CompressionPolicy::all(variant.compression))
            .zstd_dictionary(Some(Arc::clone(dictionary)))
            .zstd_dictionary_training(training)
    }
}

fn run_variant(
    records: &[Record],
    variant: &Variant,
    dictionary: &Arc<ZstdDictionary>,
    blob: bool,
    runs: usize,
) -> Result<Vec<Measurement>, String> {
    let text = |error: lsm::Error| error.to_string();
    let shape = if blob { "blob" } else { "table" };
    let label = |what: &str| format!("compression {shape} {} {what}", variant.name);
    let user_bytes: u64 = records
        .iter()
        .map(|record| (record.key.len() + value_of(record, blob).len()) as u64)
        .sum();
    let dir = TempDir::new(&format!("compression-{shape}-{}", variant.name))?;
    let cache_bytes = (user_bytes / 8).max(1 << 20);
    let mut disk_bytes = 0;
    let mut write_error = None;
    let write = median(runs, || {
        remove_all(&dir.0.join("db"));
        let started = Instant::now();
        let result = (|| -> Result<u64, String> {
            let tree = config(&dir.0.join("db"), variant, dictionary, blob, cache_bytes)
                .open()
                .map_err(text)?;
            for (seqno, record) in records.iter().enumerate() {
                tree.insert(
                    record.key.clone(),
                    value_of(record, blob).to_vec(),
                    seqno as SeqNo,
                );
            }
            tree.flush_active_memtable(0).map_err(text)?;
            tree.major_compact(64 << 20, SeqNo::MAX).map_err(text)?;
            Ok(tree.disk_space())
        })();
        let elapsed = started.elapsed();
        match result {
            Ok(bytes) => disk_bytes = bytes,
            Err(error) => write_error = Some(error),
        }
        elapsed
    });
    if let Some(error) = write_error {
        return Err(format!("{}: {error}", label("write")));
    }
    let tree = config(&dir.0.join("db"), variant, dictionary, blob, cache_bytes)
        .open()
        .map_err(text)?;
    let mut rng = Rng::new(11);
    let keys: Vec<&[u8]> = (0..LOOKUPS)
        .map(|_| records[rng.index(records.len())].key.as_slice())
        .collect();
    let mut read_error = None;
    let get = median(runs, || timed_gets(&tree, &keys, &mut read_error));
    if let Some(error) = read_error {
        return Err(format!("{}: {error}", label("get")));
    }
    let scan = median(runs, || {
        let started = Instant::now();
        let mut bytes = 0_usize;
        for item in tree.iter(SeqNo::MAX, None) {
            if let Ok((key, value)) = item.into_inner() {
                bytes += key.len() + value.len();
            }
        }
        black_box(bytes);
        started.elapsed()
    });
    drop(tree);
    Ok(vec![
        per_op(&label("write"), records.len(), Some(user_bytes), write),
        Measurement {
            name: label("disk bytes"),
            bytes_per_sec: None,
            ns_per_op: None,
            ratio: Some(disk_bytes as f64),
            latency_ns: None,
        },
        Measurement {
            name: label("ratio"),
            bytes_per_sec: None,
            ns_per_op: None,
            ratio: Some(user_bytes as f64 / disk_bytes.max(1) as f64),
            latency_ns: None,
        },
        per_op(&label("get"), keys.len(), None, get),
        per_op(&label("scan"), records.len(), Some(user_bytes), scan),
    ])
}

fn timed_gets(tree: &AnyTree, keys: &[&[u8]], error: &mut Option<lsm::Error>) -> Duration {
    let started = Instant::now();
    for key in keys {
        match tree.get(key, SeqNo::MAX) {
            Ok(value) => {
                black_box(value);
            }
            Err(failed) => {
                error.get_or_insert(failed);
            }
        }
    }
    started.elapsed()
}
