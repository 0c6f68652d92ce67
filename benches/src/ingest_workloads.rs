//! Ingest with background maintenance: `--num` random keys with 100-byte values written
//! as fast as the tree admits them (flushes and compactions on its own threads, write
//! stalls included), for leveled and size-tiered compaction. Reported: ingest throughput,
//! write amplification (bytes the engine wrote through its file system over user
//! bytes, counted until the background work has settled), and space amplification
//! (disk bytes over the live user bytes after a major compaction).
//!
//! Values are slices of the real records (Debian's package index), so that they
//! compress as real data would; compression is off, as in the spec's peer settings.

use std::sync::Arc;
use std::time::Instant;

use lsm::background::MaintenanceOptions;
use lsm::compaction::{CompactionStrategy, Leveled, SizeTiered};
use lsm::{AbstractTree, Config, SeqNo, SequenceNumberCounter};
use lsm_testkit::data::debian_records;
use lsm_testkit::rng::Rng;

use crate::counting_fs::CountingFs;
use crate::tree_dirs::remove_all;
use crate::workloads::Measurement;

const VALUE_BYTES: usize = 100;
const KEY_BYTES: usize = 16;

/// Runs the ingest for each strategy over `num` keys.
pub fn run_all(num: u64) -> Result<Vec<Measurement>, String> {
    let corpus: Vec<u8> = debian_records()
        .map_err(|error| format!("cannot load the data set: {error}"))?
        .into_iter()
        .take(2_000)
        .flat_map(|record| record.value)
        .collect();
    let strategies: [(&str, Arc<dyn CompactionStrategy>); 2] = [
        ("leveled", Arc::new(Leveled::default())),
        ("tiered", Arc::new(SizeTiered::default())),
    ];
    let mut results = Vec::new();
    for (name, strategy) in strategies {
        results.extend(ingest(name, &strategy, num, &corpus)?);
    }
    Ok(results)
}

fn ingest(
    name: &str,
    strategy: &Arc<dyn CompactionStrategy>,
    num: u64,
    corpus: &[u8],
) -> Result<Vec<Measurement>, String> {
    let dir = std::env::temp_dir().join(format!("lsm-bench-{}-ingest-{name}", std::process::id()));
    let fs = CountingFs::default();
    let seqno = SequenceNumberCounter::default();
    let open = || {
        Config::new(&dir, seqno.clone(), SequenceNumberCounter::default())
            .with_shared_fs(Arc::new(fs.clone()))
            .with_background_maintenance(Some(MaintenanceOptions {
                strategy: Arc::clone(strategy),
                gc_watermark: {
                    let seqno = seqno.clone();
                    Arc::new(move || seqno.get())
                },
                ..MaintenanceOptions::default()
            }))
            .open()
            .map_err(|error| error.to_string())
    };
    let tree = open()?;
    let mut rng = Rng::new(7);
    let mut user_bytes = 0_u64;
    let started = Instant::now();
    for _ in 0..num {
        let key = format!("{:016x}", rng.below(num));
        let offset = rng.index(corpus.len() - VALUE_BYTES);
        let value = &corpus[offset..offset + VALUE_BYTES];
        user_bytes += (KEY_BYTES + VALUE_BYTES) as u64;
        tree.insert(key, value, seqno.next());
    }
    let ingest_time = started.elapsed();
    tree.write_admission().map_err(|error| error.to_string())?;
    // Settle: flush what is in memory, wait for the background compactions.
    tree.flush_active_memtable(seqno.get())
        .map_err(|error| error.to_string())?;
    // Run the strategy until it has nothing left to do (waiting for the background
    // thread's step, if one runs, through the compaction lock).
    while tree
        .compact(Arc::clone(strategy), seqno.get())
        .map_err(|error| error.to_string())?
        .action
        != lsm::compaction::CompactionAction::Nothing
    {}
    let written = fs.written_bytes();
    tree.major_compact(64 << 20, seqno.get())
        .map_err(|error| error.to_string())?;
    let live_keys = tree
        .len(SeqNo::MAX, None)
        .map_err(|error| error.to_string())? as u64;
    let live_bytes = live_keys * (KEY_BYTES + VALUE_BYTES) as u64;
    let space_amp = tree.disk_space() as f64 / live_bytes as f64;
    drop(tree);
    remove_all(&dir);
    Ok(vec![
        Measurement {
            name: format!("ingest {name} fillrandom"),
            bytes_per_sec: Some(user_bytes as f64 / ingest_time.as_secs_f64()),
            ns_per_op: Some(ingest_time.as_nanos() as f64 / num as f64),
            ratio: None,
            latency_ns: None,
        },
        Measurement {
            name: format!("ingest {name} write-amp"),
            bytes_per_sec: None,
            ns_per_op: None,
            ratio: Some(written as f64 / user_bytes as f64),
            latency_ns: None,
        },
        Measurement {
            name: format!("ingest {name} space-amp"),
            bytes_per_sec: None,
            ns_per_op: None,
            ratio: Some(space_amp),
            latency_ns: None,
        },
    ])
}
