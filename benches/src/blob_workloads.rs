//! Blob file workloads, the storage of separated values: the real records' values
//! written into rolling blob files in a temporary directory on the real file system,
//! then read back by handle in random order and scanned as garbage collection would.

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use lsm_codec::Compression;
use lsm_core::StdFs;
use lsm_testkit::data::debian_records;
use lsm_testkit::rng::Rng;
use lsm_vlog::{
    BlobFileReader, BlobHandle, BlobReadOptions, BlobSetWriter, BlobWriteOptions, NewBlobFile,
};

use crate::table_workloads::{TempDir, median, per_op};
use crate::workloads::Measurement;

const LOOKUPS: usize = 100_000;
const TARGET_FILE_BYTES: u64 = 16 << 20;

/// Runs blob fill, blob readrandom and blob scan.
pub fn run_all(runs: usize) -> Result<Vec<Measurement>, String> {
    let records = debian_records().map_err(|error| format!("cannot load the data set: {error}"))?;
    let value_bytes: u64 = records.iter().map(|record| record.value.len() as u64).sum();
    let dir = TempDir::new("blob")?;
    let next_id = Cell::new(0_u64);
    let options = BlobWriteOptions {
        compression: Compression::zstd(3),
        ..BlobWriteOptions::default()
    };

    let fill = || -> Result<(Vec<BlobHandle>, Duration), String> {
        let started = Instant::now();
        let mut writer = BlobSetWriter::new(&StdFs, options.clone(), TARGET_FILE_BYTES, || {
            next_id.set(next_id.get() + 1);
            NewBlobFile {
                file_id: next_id.get(),
                path: dir.0.join(format!("{}.blob", next_id.get())),
                salt: [0; 16],
            }
        });
        let handles = records
            .iter()
            .enumerate()
            .map(|(seqno, record)| writer.write(&record.key, seqno as u64, &record.value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| error.to_string())?;
        writer.finish().map_err(|error| error.to_string())?;
        Ok((handles, started.elapsed()))
    };
    let mut fill_times = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..runs {
        let (written, time) = fill()?;
        fill_times.push(time);
        handles = written;
    }
    fill_times.sort();
    let mut results = vec![per_op(
        "blob fill zstd",
        records.len(),
        Some(value_bytes),
        fill_times[fill_times.len() / 2],
    )];

    let first_id = handles.first().map_or(0, |handle| handle.file_id);
    let last_id = handles.last().map_or(0, |handle| handle.file_id);
    let readers = (first_id..=last_id)
        .map(|file_id| {
            BlobFileReader::open(
                &StdFs,
                &dir.0.join(format!("{file_id}.blob")),
                file_id,
                &BlobReadOptions::default(),
            )
            .map_err(|error| error.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reader_of = |handle: &BlobHandle| {
        &readers[usize::try_from(handle.file_id - first_id).expect("few files")]
    };
    let mut rng = Rng::new(43);
    let probes: Vec<usize> = (0..LOOKUPS).map(|_| rng.index(handles.len())).collect();
    let time = median(runs, || {
        let started = Instant::now();
        for &probe in &probes {
            let handle = &handles[probe];
            black_box(reader_of(handle).get(handle).expect("reads"));
        }
        started.elapsed()
    });
    results.push(per_op("blob readrandom", LOOKUPS, None, time));

    let time = median(runs, || {
        let started = Instant::now();
        for reader in &readers {
            black_box(
                reader
                    .scan()
                    .map(|item| item.expect("scans").1.value.len())
                    .sum::<usize>(),
            );
        }
        started.elapsed()
    });
    results.push(per_op("blob scan", records.len(), Some(value_bytes), time));
    Ok(results)
}
