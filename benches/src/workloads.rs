//! The workloads: each returns a [`Measurement`] from the median of several timed runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use lsm_codec::envelope;
use lsm_codec::{
    BlockContext, BlockType, Compression, DataBlock, DataBlockBuilder, DecodeOptions,
    EncodeOptions, train_dictionary,
};
use lsm_core::{SeqNo, Slice, ValueType};
use lsm_testkit::data::small_row_blocks;
use lsm_testkit::rng::Rng;

const BLOCK_TARGET_BYTES: usize = 4096;
const DICTIONARY_BYTES: usize = 64 * 1024;

/// One workload's figures.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Workload name.
    pub name: String,
    /// Median bytes per second (of uncompressed payload), if the workload moves bytes.
    pub bytes_per_sec: Option<f64>,
    /// Median nanoseconds per operation, if the workload counts operations.
    pub ns_per_op: Option<f64>,
    /// Uncompressed over stored bytes, for the encode workloads.
    pub ratio: Option<f64>,
    /// Per-operation latency percentiles (p50, p99, p99.9) in nanoseconds, for the
    /// workloads that time each operation.
    pub latency_ns: Option<[f64; 3]>,
}

/// The p50, p99 and p99.9 of `samples` (nanoseconds), or `None` without samples.
pub fn percentiles(mut samples: Vec<u64>) -> Option<[f64; 3]> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |quantile: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "an index within the samples"
        )]
        let idx = ((samples.len() - 1) as f64 * quantile).round() as usize;
        samples[idx] as f64
    };
    Some([at(0.5), at(0.99), at(0.999)])
}

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Runs every workload.
pub fn run_all(runs: usize) -> Result<Vec<Measurement>, String> {
    let blocks = blocks()?;
    let mut results = block_workloads(&blocks, runs);
    results.extend(envelope_workloads(&blocks, runs)?);
    Ok(results)
}

fn blocks() -> Result<Vec<(Rows, Vec<u8>)>, String> {
    small_row_blocks(BLOCK_TARGET_BYTES)
        .map_err(|error| format!("cannot load the data set: {error}"))
}

/// The median duration of `runs` timed calls of `body`.
fn median_of(runs: usize, mut body: impl FnMut()) -> Duration {
    body();
    let mut times: Vec<_> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            body();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn throughput(name: &str, bytes: usize, time: Duration) -> Measurement {
    Measurement {
        name: name.to_owned(),
        bytes_per_sec: Some(bytes as f64 / time.as_secs_f64()),
        ns_per_op: None,
        ratio: None,
        latency_ns: None,
    }
}

fn block_workloads(blocks: &[(Rows, Vec<u8>)], runs: usize) -> Vec<Measurement> {
    let total_bytes: usize = blocks.iter().map(|(_, payload)| payload.len()).sum();
    let mut results = Vec::new();
    let mut builder = DataBlockBuilder::new(16);
    let time = median_of(runs, || {
        for (rows, _) in blocks {
            for (key, value) in rows {
                builder.add(key, 1, ValueType::Value, value);
            }
            black_box(builder.finish());
        }
    });
    results.push(throughput("block build", total_bytes, time));

    let decoded: Vec<_> = blocks
        .iter()
        .map(|(_, payload)| {
            DataBlock::new(Slice::from(payload.clone())).expect("built blocks open")
        })
        .collect();
    let time = median_of(runs, || {
        for block in &decoded {
            black_box(block.iter().count());
        }
    });
    results.push(throughput("block iterate forward", total_bytes, time));
    let time = median_of(runs, || {
        for block in &decoded {
            black_box(block.iter().rev().count());
        }
    });
    results.push(throughput("block iterate backward", total_bytes, time));

    let lookups = 200_000;
    let mut rng = Rng::new(7);
    let probes: Vec<_> = (0..lookups)
        .map(|_| {
            let block_idx = rng.index(blocks.len());
            let rows = &blocks[block_idx].0;
            (block_idx, rows[rng.index(rows.len())].0.clone())
        })
        .collect();
    let time = median_of(runs, || {
        for (block_idx, key) in &probes {
            let mut iter = decoded[*block_idx].iter();
            iter.seek(&lsm_core::KeyOrder::lexicographic(), key, SeqNo::MAX)
                .expect("built blocks decode");
            black_box(iter.next());
        }
    });
    results.push(Measurement {
        name: "block seek".to_owned(),
        bytes_per_sec: None,
        ns_per_op: Some(time.as_nanos() as f64 / lookups as f64),
        ratio: None,
        latency_ns: None,
    });
    results
}

fn envelope_workloads(blocks: &[(Rows, Vec<u8>)], runs: usize) -> Result<Vec<Measurement>, String> {
    // Train on every 7th block, measure on others, as a table writer sampling its own blocks would.
    let samples: Vec<_> = blocks
        .iter()
        .step_by(7)
        .map(|(_, payload)| payload.clone())
        .collect();
    let dictionary =
        train_dictionary(&samples, DICTIONARY_BYTES).map_err(|error| error.to_string())?;
    let payloads: Vec<_> = blocks
        .iter()
        .skip(3)
        .step_by(7)
        .map(|(_, payload)| payload.clone())
        .collect();
    let raw_bytes: usize = payloads.iter().map(Vec::len).sum();
    let context = BlockContext {
        file_id: 1,
        block_offset: 0,
    };
    let mut results = Vec::new();
    for (name, compression) in [
        ("none", Compression::None),
        ("zstd(3)", Compression::zstd(3)),
        ("zstd(3)+dict", Compression::zstd_dict(3, &dictionary)),
    ] {
        let options = EncodeOptions {
            compression: &compression,
            cipher: None,
        };
        let encode_all = || -> Vec<Slice> {
            payloads
                .iter()
                .map(|payload| {
                    Slice::from(
                        envelope::encode(payload, BlockType::Data, options, context)
                            .expect("encoding succeeds"),
                    )
                })
                .collect()
        };
        let encoded = encode_all();
        let stored_bytes: usize = encoded.iter().map(|block| block.len()).sum();
        let time = median_of(runs, || {
            black_box(encode_all());
        });
        let mut encode = throughput(&format!("encode {name}"), raw_bytes, time);
        encode.ratio = Some(raw_bytes as f64 / stored_bytes as f64);
        results.push(encode);
        let decode_options = DecodeOptions {
            dictionary: Some(&dictionary),
            cipher: None,
        };
        let time = median_of(runs, || {
            for block in &encoded {
                black_box(
                    envelope::decode(block, BlockType::Data, decode_options, context)
                        .expect("decoding succeeds"),
                );
            }
        });
        results.push(throughput(&format!("decode {name}"), raw_bytes, time));
    }
    Ok(results)
}
