//! The log through its public API: round trips over many segments and reopenings,
//! releasing segments, every cut of the last segment, damage in sealed and last
//! segments under both recovery modes, concurrent writers sharing syncs, a failed sync
//! poisoning the log, and crash-point enumeration under every crash model of the
//! simulated file system (every write acknowledged as synced survives, no hole).

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::{Arc, Mutex};

use lsm_codec::EncryptionKey;
use lsm_core::{Fs, MemFs, OpenOptions, SeqNo};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};
use lsm_wal::{Durability, Error, Recovery, Wal, WalBatch, WalOp, WalOptions};

const DIR: &str = "/log";

fn batch(seqno: SeqNo) -> WalBatch {
    WalBatch::new(seqno)
        .with(
            u32::try_from(seqno % 3).unwrap(),
            WalOp::Insert {
                key: format!("key{seqno:05}").into(),
                value: format!("value of {seqno}")
                    .repeat(usize::try_from(seqno % 4).unwrap() + 1)
                    .into(),
            },
        )
        .with(
            0,
            WalOp::Remove {
                key: format!("gone{seqno}").into(),
            },
        )
}

fn options(segment_bytes: u64, recovery: Recovery) -> WalOptions {
    WalOptions {
        segment_bytes,
        recovery,
        ..WalOptions::default()
    }
}

/// Opens the log and returns it with the seqnos it replayed.
fn open(fs: &Arc<dyn Fs>, options: WalOptions) -> lsm_wal::Result<(Wal, Vec<WalBatch>)> {
    let mut replayed = Vec::new();
    let (wal, report) = Wal::open(Arc::clone(fs), DIR.as_ref(), options, |batch| {
        replayed.push(batch);
        Ok(())
    })?;
    assert_eq!(report.batches, replayed.len() as u64);
    Ok((wal, replayed))
}

fn seqnos(batches: &[WalBatch]) -> Vec<SeqNo> {
    batches.iter().map(|batch| batch.seqno).collect()
}

fn segment_files(fs: &dyn Fs) -> Vec<std::path::PathBuf> {
    fs.read_dir(DIR.as_ref())
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .collect()
}

#[test]
fn batches_come_back_in_order_across_segments_reopenings_and_releases() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let mut written = Vec::new();
    for round in 0..3_u64 {
        let (wal, replayed) = open(&fs, options(400, Recovery::Strict)).unwrap();
        assert_eq!(replayed, written, "round {round}");
        for seqno in round * 50..round * 50 + 50 {
            let durability = match seqno % 3 {
                0 => Durability::Sync,
                1 => Durability::Flush,
                _ => Durability::Buffered,
            };
            wal.append(&batch(seqno), durability).unwrap();
            written.push(batch(seqno));
        }
        wal.flush().unwrap();
        assert!(wal.segment_count() > 5, "small segments roll");
    }
    // Everything up to 99 is persisted elsewhere: the segments holding only those go.
    let (wal, replayed) = open(&fs, options(400, Recovery::Strict)).unwrap();
    assert_eq!(replayed, written);
    let before = wal.segment_count();
    let bytes_before = wal.live_bytes();
    let on_disk: u64 = fs
        .read_dir(DIR.as_ref())
        .unwrap()
        .iter()
        .map(|entry| fs.metadata(&entry.path).unwrap().len_bytes)
        .sum();
    assert_eq!(
        bytes_before, on_disk,
        "live bytes are the segments' lengths"
    );
    let released = wal.release(99).unwrap();
    assert!(released > 0);
    assert_eq!(wal.segment_count(), before - released);
    assert!(wal.live_bytes() < bytes_before);
    drop(wal);
    let (_wal, replayed) = open(&fs, options(400, Recovery::Strict)).unwrap();
    let first = replayed[0].seqno;
    assert!(first <= 100, "nothing above the released seqno goes");
    assert_eq!(seqnos(&replayed), (first..150).collect::<Vec<_>>());
}

#[test]
fn a_seqno_going_backwards_is_refused_and_nothing_is_written() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let (wal, _) = open(&fs, WalOptions::default()).unwrap();
    wal.append(&batch(5), Durability::Sync).unwrap();
    wal.append(&batch(5), Durability::Sync).unwrap();
    assert!(matches!(
        wal.append(&batch(4), Durability::Sync),
        Err(Error::OutOfOrder {
            previous: 5,
            seqno: 4,
            ..
        })
    ));
    wal.append(&batch(6), Durability::Sync).unwrap();
    drop(wal);
    let (_wal, replayed) = open(&fs, WalOptions::default()).unwrap();
    assert_eq!(seqnos(&replayed), [5, 5, 6]);
}

/// The log's files after `count` synced batches in one segment, and the bytes of its
/// newest segment.
fn one_segment_log(count: u64) -> (MemFs, std::path::PathBuf, Vec<u8>) {
    let fs = MemFs::new();
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    let (wal, _) = open(&shared, WalOptions::default()).unwrap();
    for seqno in 0..count {
        wal.append(&batch(seqno), Durability::Sync).unwrap();
    }
    drop(wal);
    let path = segment_files(&fs).pop().unwrap();
    let bytes = lsm_core::fs::read_all(&fs, &path).unwrap();
    (fs, path, bytes)
}

fn rewrite(fs: &MemFs, path: &Path, bytes: &[u8]) {
    fs.remove_file(path).unwrap();
    let file = fs.open(path, OpenOptions::create_new()).unwrap();
    file.append(bytes).unwrap();
}

#[test]
fn every_cut_of_the_last_segment_recovers_the_records_before_it() {
    let (fs, path, bytes) = one_segment_log(4);
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    let mut ends = Vec::new();
    for cut in 0..=bytes.len() {
        for file in segment_files(&fs) {
            fs.remove_file(&file).unwrap();
        }
        let file = fs.open(&path, OpenOptions::create_new()).unwrap();
        file.append(&bytes[..cut]).unwrap();
        drop(file);
        let (wal, replayed) = open(&shared, WalOptions::default()).unwrap();
        assert_eq!(
            seqnos(&replayed),
            (0..replayed.len() as u64).collect::<Vec<_>>()
        );
        if replayed.len() > ends.len() {
            ends.push(cut);
        }
        // Writing resumes after the cut, and a reopening reads both.
        wal.append(&batch(100), Durability::Sync).unwrap();
        drop(wal);
        let (_wal, again) = open(&shared, WalOptions::default()).unwrap();
        assert_eq!(again.len(), replayed.len() + 1, "cut at {cut}");
        assert_eq!(again.last().unwrap().seqno, 100);
    }
    assert_eq!(ends.len(), 4, "each record appears once its frame is whole");
    assert_eq!(*ends.last().unwrap(), bytes.len());
}

#[test]
fn damage_in_a_sealed_segment_is_an_error_or_passed_over_when_told() {
    let fs = MemFs::new();
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    let (wal, _) = open(&shared, options(300, Recovery::Strict)).unwrap();
    for seqno in 0..30 {
        wal.append(&batch(seqno), Durability::Sync).unwrap();
    }
    drop(wal);
    let files = segment_files(&fs);
    assert!(files.len() > 3);
    let victim = &files[1];
    let mut bytes = lsm_core::fs::read_all(&fs, victim).unwrap();
    // The first frame's payload: after the 32-byte header and the 16-byte frame header.
    bytes[50] ^= 0x10;
    rewrite(&fs, victim, &bytes);
    match open(&shared, options(300, Recovery::Strict)) {
        Err(Error::Damaged { offset: 32, .. }) => {}
        other => panic!(
            "expected damage at byte 32, got {:?}",
            other.map(|(_, b)| seqnos(&b))
        ),
    }
    let mut skipped = 0;
    let (_wal, replayed) = {
        let mut replayed = Vec::new();
        let (wal, report) = Wal::open(
            Arc::clone(&shared),
            DIR.as_ref(),
            options(300, Recovery::SkipDamaged),
            |batch| {
                replayed.push(batch);
                Ok(())
            },
        )
        .unwrap();
        skipped += report.skipped_bytes;
        (wal, replayed)
    };
    assert!(skipped > 0);
    assert_eq!(replayed.len(), 29, "one record passed over");
}

#[test]
fn damage_that_a_later_record_shows_was_synced_is_not_a_torn_tail() {
    let (fs, path, bytes) = one_segment_log(6);
    // The first record's payload (after the 32-byte segment header and the 16-byte
    // frame header): every later record was written after a sync that covered it.
    let mut damaged = bytes.clone();
    damaged[50] ^= 0x01;
    rewrite(&fs, &path, &damaged);
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    assert!(matches!(
        open(&shared, WalOptions::default()),
        Err(Error::Damaged { .. })
    ));
    // The last record damaged: no later record vouches for it, so it is a torn tail.
    let mut tail = bytes.clone();
    let last = bytes.len() - 3;
    tail[last] ^= 0x01;
    rewrite(&fs, &path, &tail);
    let (_wal, replayed) = open(&shared, WalOptions::default()).unwrap();
    assert_eq!(seqnos(&replayed), [0, 1, 2, 3, 4]);
}

#[test]
fn concurrent_writers_get_every_synced_batch_back_in_order() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let (wal, _) = open(&fs, options(4096, Recovery::Strict)).unwrap();
    let wal = Arc::new(wal);
    let next = Arc::new(Mutex::new(0_u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (wal, next) = (Arc::clone(&wal), Arc::clone(&next));
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let ticket = {
                        let mut next = next.lock().unwrap();
                        let ticket = wal.submit(&batch(*next)).unwrap();
                        *next += 1;
                        ticket
                    };
                    wal.wait_for(ticket, Durability::Sync).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    drop(wal);
    let (_wal, replayed) = open(&fs, options(4096, Recovery::Strict)).unwrap();
    assert_eq!(seqnos(&replayed), (0..800).collect::<Vec<_>>());
    assert_eq!(replayed[799], batch(799));
}

#[test]
fn a_failed_sync_poisons_the_log_and_acknowledged_batches_survive() {
    // Find an operation index inside the appends, then fail it.
    for fail_at in 4..30 {
        let fs = SimFs::new();
        let shared: Arc<dyn Fs> = Arc::new(fs.clone());
        let (wal, _) = open(&shared, WalOptions::default()).unwrap();
        fs.fail_op(fs.op_count() + fail_at, std::io::ErrorKind::Other);
        let mut acknowledged = Vec::new();
        let mut failed = false;
        for seqno in 0..20 {
            match wal.append(&batch(seqno), Durability::Sync) {
                Ok(()) => {
                    assert!(!failed, "nothing is acknowledged after a failure");
                    acknowledged.push(seqno);
                }
                Err(Error::Io(_)) => {
                    assert!(!failed, "the failure is reported once");
                    failed = true;
                }
                Err(Error::Poisoned(_)) => assert!(failed),
                Err(other) => panic!("{other}"),
            }
        }
        assert!(failed, "fail_at {fail_at}");
        assert!(matches!(wal.sync(), Err(Error::Poisoned(_))));
        drop(wal);
        let (_wal, replayed) = open(&shared, WalOptions::default()).unwrap();
        let recovered = seqnos(&replayed);
        assert!(
            recovered.starts_with(&acknowledged),
            "fail_at {fail_at}: {recovered:?}"
        );
    }
}

/// Appends with mixed durability until the file system powers off; returns the seqnos
/// acknowledged as synced and as flushed.
fn crash_workload(fs: &SimFs, encryption: Option<&EncryptionKey>) -> (Vec<SeqNo>, Vec<SeqNo>) {
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    let options = WalOptions {
        encryption: encryption.cloned(),
        ..options(600, Recovery::Strict)
    };
    let Ok((wal, replayed)) = open(&shared, options) else {
        return (Vec::new(), Vec::new());
    };
    assert!(replayed.is_empty());
    let (mut synced, mut flushed) = (Vec::new(), Vec::new());
    for seqno in 0..40 {
        let durability = match seqno % 4 {
            0 | 1 => Durability::Sync,
            2 => Durability::Flush,
            _ => Durability::Buffered,
        };
        if wal.append(&batch(seqno), durability).is_err() {
            break;
        }
        match durability {
            Durability::Sync => {
                synced.push(seqno);
                flushed.push(seqno);
            }
            Durability::Flush => flushed.push(seqno),
            Durability::Buffered => {}
        }
    }
    (synced, flushed)
}

/// Crashes [`crash_workload`] at every mutating operation under every model and checks
/// what comes back: a prefix, holding everything acknowledged.
fn enumerate_crashes(encryption: Option<&EncryptionKey>) {
    let total_ops = {
        let fs = SimFs::new();
        crash_workload(&fs, encryption);
        fs.op_count()
    };
    assert!(total_ops > 40);
    let mut rng = Rng::new(5);
    for crash_at in 0..total_ops {
        let fs = SimFs::new();
        fs.crash_at(crash_at);
        let (synced, flushed) = crash_workload(&fs, encryption);
        for model in CrashModel::ALL {
            let after = fs.crash(model, &mut rng);
            let shared: Arc<dyn Fs> = Arc::new(after);
            let options = WalOptions {
                encryption: encryption.cloned(),
                ..options(600, Recovery::Strict)
            };
            let (_wal, replayed) = open(&shared, options)
                .unwrap_or_else(|error| panic!("crash at {crash_at}, {model:?}: {error}"));
            let recovered = seqnos(&replayed);
            assert_eq!(
                recovered,
                (0..recovered.len() as u64).collect::<Vec<_>>(),
                "crash at {crash_at}, {model:?}: a hole"
            );
            let kept = if model == CrashModel::KeepAll {
                &flushed
            } else {
                &synced
            };
            if let Some(&last) = kept.last() {
                assert!(
                    recovered.len() as u64 > last,
                    "crash at {crash_at}, {model:?}: {last} was acknowledged, {} came back",
                    recovered.len()
                );
            }
            for (seqno, batch_back) in replayed.iter().enumerate() {
                assert_eq!(*batch_back, batch(seqno as u64));
            }
        }
    }
}

#[test]
fn every_crash_point_under_every_model_keeps_what_was_synced_without_a_hole() {
    enumerate_crashes(None);
}

#[test]
fn an_encrypted_log_keeps_what_was_synced_at_every_crash_point_too() {
    enumerate_crashes(Some(&EncryptionKey::new([0x5a; 32])));
}

#[test]
fn an_encrypted_log_hides_its_records_and_refuses_the_wrong_key() {
    let fs = MemFs::new();
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    let key = EncryptionKey::new([0x11; 32]);
    let with = |key: Option<&EncryptionKey>| WalOptions {
        encryption: key.cloned(),
        ..options(400, Recovery::Strict)
    };
    let marker = WalBatch::new(0).with(
        0,
        WalOp::Insert {
            key: "a secret key".into(),
            value: "a secret value".into(),
        },
    );
    let (wal, _) = open(&shared, with(Some(&key))).unwrap();
    wal.append(&marker, Durability::Sync).unwrap();
    for seqno in 1..30 {
        wal.append(&batch(seqno), Durability::Sync).unwrap();
    }
    drop(wal);
    assert!(segment_files(&fs).len() > 3, "records span segments");
    for file in segment_files(&fs) {
        let bytes = lsm_core::fs::read_all(&fs, &file).unwrap();
        assert!(!bytes.windows(8).any(|window| window == b"a secret"));
    }
    let (_wal, replayed) = open(&shared, with(Some(&key))).unwrap();
    assert_eq!(replayed[0], marker);
    assert_eq!(seqnos(&replayed), (0..30).collect::<Vec<_>>());
    drop(_wal);
    assert!(matches!(
        open(&shared, with(Some(&EncryptionKey::new([0x12; 32])))),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        open(&shared, with(None)),
        Err(Error::EncryptionRequired)
    ));
    let plain_shared: Arc<dyn Fs> = Arc::new(MemFs::new());
    drop(open(&plain_shared, with(None)).unwrap());
    assert!(matches!(
        open(&plain_shared, with(Some(&key))),
        Err(Error::NotEncrypted)
    ));
}

#[test]
fn a_dropped_log_keeps_its_buffered_records() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let (wal, _) = open(&fs, WalOptions::default()).unwrap();
    for seqno in 0..10 {
        wal.append(&batch(seqno), Durability::Buffered).unwrap();
    }
    drop(wal);
    let (_wal, replayed) = open(&fs, WalOptions::default()).unwrap();
    assert_eq!(seqnos(&replayed), (0..10).collect::<Vec<_>>());
}

fn op_strategy() -> impl proptest::strategy::Strategy<Value = WalOp> {
    use proptest::prelude::*;
    let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        (bytes(), bytes()).prop_map(|(key, value)| WalOp::Insert {
            key: key.into(),
            value: value.into()
        }),
        bytes().prop_map(|key| WalOp::Remove { key: key.into() }),
        bytes().prop_map(|key| WalOp::RemoveWeak { key: key.into() }),
        (bytes(), bytes()).prop_map(|(key, operand)| WalOp::Merge {
            key: key.into(),
            operand: operand.into()
        }),
        (bytes(), bytes()).prop_map(|(start, end)| WalOp::RemoveRange {
            start: start.into(),
            end: end.into()
        }),
    ]
}

proptest::proptest! {
    #[test]
    fn any_batches_come_back_as_written(
        batches in proptest::collection::vec(
            proptest::collection::vec((0_u32..5, op_strategy()), 0..6),
            1..20,
        ),
        segment_bytes in 64_u64..2_000,
    ) {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let (wal, _) = open(&fs, options(segment_bytes, Recovery::Strict)).unwrap();
        let written: Vec<WalBatch> = batches
            .into_iter()
            .enumerate()
            .map(|(seqno, entries)| WalBatch {
                seqno: seqno as u64,
                entries: entries
                    .into_iter()
                    .map(|(keyspace, op)| lsm_wal::WalEntry { keyspace, op })
                    .collect(),
            })
            .collect();
        for batch in &written {
            wal.append(batch, Durability::Flush).unwrap();
        }
        drop(wal);
        let (_wal, replayed) = open(&fs, options(segment_bytes, Recovery::Strict)).unwrap();
        proptest::prop_assert_eq!(replayed, written);
    }
}

#[test]
fn room_reserved_past_the_last_record_is_cut_at_recovery_and_not_counted_as_torn() {
    let fs = SimFs::new();
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    let (wal, _) = open(&shared, options(1 << 20, Recovery::Strict)).unwrap();
    for seqno in 0..10 {
        wal.append(&batch(seqno), Durability::Sync).unwrap();
    }
    // The process dies with the log open: its drop never gives the room back.
    let image = fs.crash(CrashModel::DropUnsynced, &mut Rng::new(3));
    drop(wal);
    let files = segment_files(&image);
    let len = |fs: &SimFs, path| fs.metadata(path).unwrap().len_bytes;
    assert!(len(&image, &files[0]) > 4096, "room was reserved");
    let shared: Arc<dyn Fs> = Arc::new(image.clone());
    let mut replayed = Vec::new();
    let (_wal, report) = Wal::open(shared, DIR.as_ref(), WalOptions::default(), |batch| {
        replayed.push(batch);
        Ok(())
    })
    .unwrap();
    assert_eq!(seqnos(&replayed), (0..10).collect::<Vec<_>>());
    assert_eq!(
        report.torn_tail_bytes, 0,
        "zeros past the last record are not torn"
    );
    assert!(
        len(&image, &files[0]) < 4096,
        "the segment was cut to its records"
    );
}
