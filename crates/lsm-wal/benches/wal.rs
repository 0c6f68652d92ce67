//! Criterion benchmarks of the log on the real file system: appends of 100-byte
//! records of Debian package index text, one writer at each durability, and four
//! writers syncing every record (group commit).

use std::sync::{Arc, Mutex};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsm_core::{Fs, StdFs};
use lsm_wal::{Durability, Wal, WalBatch, WalOp, WalOptions};

/// Records per measured iteration.
const RECORDS: u64 = 1_000;

/// The first 100 bytes of the small rows of 1,000 records.
fn values() -> Vec<Vec<u8>> {
    let records = lsm_testkit::data::debian_records().expect("the data set loads");
    records
        .iter()
        .take(1_000)
        .map(|record| {
            record
                .small_value
                .iter()
                .copied()
                .cycle()
                .take(100)
                .collect()
        })
        .collect()
}

fn open() -> (tempfile::TempDir, Arc<Wal>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fs: Arc<dyn Fs> = Arc::new(StdFs);
    let (wal, _) = Wal::open(fs, &dir.path().join("log"), WalOptions::default(), |_| {
        Ok(())
    })
    .expect("the log opens");
    (dir, Arc::new(wal))
}

fn record(seqno: u64, value: &[u8]) -> WalBatch {
    WalBatch::new(seqno).with(
        0,
        WalOp::Insert {
            key: format!("key{seqno:013}").into(),
            value: value.into(),
        },
    )
}

fn bench_wal(c: &mut Criterion) {
    let values = values();
    let mut group = c.benchmark_group("wal");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RECORDS));
    for (name, durability) in [
        ("append_buffered", Durability::Buffered),
        ("append_flush", Durability::Flush),
        ("append_sync", Durability::Sync),
    ] {
        let (_dir, wal) = open();
        let mut seqno = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..RECORDS {
                    let value = &values[(seqno % 1_000) as usize];
                    wal.append(&record(seqno, value), durability)
                        .expect("appends");
                    seqno += 1;
                }
                wal.flush().expect("flushes");
            });
        });
    }
    let (_dir, wal) = open();
    let next = Arc::new(Mutex::new(0_u64));
    let values = Arc::new(values);
    group.bench_function("append_sync_4_writers", |b| {
        b.iter(|| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (wal, next, values) =
                        (Arc::clone(&wal), Arc::clone(&next), Arc::clone(&values));
                    std::thread::spawn(move || {
                        for _ in 0..RECORDS / 4 {
                            let ticket = {
                                let mut next = next.lock().expect("not poisoned");
                                let value = &values[(*next % 1_000) as usize];
                                let ticket = wal.submit(&record(*next, value)).expect("queues");
                                *next += 1;
                                ticket
                            };
                            wal.wait_for(ticket, Durability::Sync).expect("syncs");
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().expect("the writer finishes");
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench_wal);
criterion_main!(benches);
