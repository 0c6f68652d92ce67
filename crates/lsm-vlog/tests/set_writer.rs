//! The rolling blob writer: files of about the target size, every handle readable, and
//! crash-point enumeration: a blob file is promised only once `finish` and the
//! directory sync have returned; before that a file may be missing, refuse to open, or
//! fail a read with a typed error, but a value it returns is always the right one.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::cell::Cell;
use std::path::{Path, PathBuf};

use lsm_codec::{Compression, EncryptionKey};
use lsm_core::{Fs, MemFs};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};
use lsm_vlog::{
    BlobFileReader, BlobHandle, BlobReadOptions, BlobSetWriter, BlobWriteOptions, NewBlobFile,
    WrittenBlobFile,
};

const TARGET_BYTES: u64 = 64 * 1024;

fn values() -> Vec<(Vec<u8>, Vec<u8>)> {
    values_of(200)
}

fn values_of(count: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    // Incompressible values, so that compressed variants roll too.
    let mut rng = Rng::new(3);
    (0..count)
        .map(|idx| {
            let value: Vec<u8> = (0..250)
                .flat_map(|_| rng.next_u64().to_le_bytes())
                .collect();
            (format!("key-{idx:04}").into_bytes(), value)
        })
        .collect()
}

fn path_of(file_id: u64) -> PathBuf {
    PathBuf::from(format!("/db/{file_id}.blob"))
}

fn write_all(
    fs: &dyn Fs,
    options: BlobWriteOptions,
    target_bytes: u64,
    values: &[(Vec<u8>, Vec<u8>)],
) -> lsm_vlog::Result<(Vec<BlobHandle>, Vec<WrittenBlobFile>)> {
    let next_id = Cell::new(1_u64);
    let mut writer = BlobSetWriter::new(fs, options, target_bytes, || {
        let file_id = next_id.get();
        next_id.set(file_id + 1);
        NewBlobFile {
            file_id,
            path: path_of(file_id),
            salt: file_id.to_le_bytes().repeat(2).try_into().unwrap(),
        }
    });
    let handles = values
        .iter()
        .enumerate()
        .map(|(seqno, (key, value))| writer.write(key, seqno as u64, value))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((handles, writer.finish()?))
}

fn check_all(
    fs: &dyn Fs,
    read: &BlobReadOptions,
    handles: &[BlobHandle],
    values: &[(Vec<u8>, Vec<u8>)],
) {
    for (handle, (key, value)) in handles.iter().zip(values) {
        let reader =
            BlobFileReader::open(fs, &path_of(handle.file_id), handle.file_id, read).unwrap();
        let blob = reader.get(handle).unwrap();
        assert_eq!(
            (blob.key.as_ref(), blob.value.as_ref()),
            (key.as_slice(), value.as_slice())
        );
    }
}

#[test]
fn files_roll_at_the_target_size_and_every_handle_reads() {
    let key = EncryptionKey::new([5; 32]);
    let variants = [
        (BlobWriteOptions::default(), BlobReadOptions::default()),
        (
            BlobWriteOptions {
                compression: Compression::zstd(1),
                encryption: Some((key.clone(), [0; 16])),
                dictionary_training: None,
            },
            BlobReadOptions {
                encryption_key: Some(key),
                ..BlobReadOptions::default()
            },
        ),
    ];
    for (write, read) in variants {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        let values = values();
        let (handles, files) = write_all(&fs, write, TARGET_BYTES, &values).unwrap();
        assert!(files.len() > 1, "{} files", files.len());
        let ids: Vec<u64> = files.iter().map(|file| file.meta.file_id).collect();
        assert_eq!(ids, (1..=files.len() as u64).collect::<Vec<_>>());
        let value_bytes: u64 = values.iter().map(|(_, value)| value.len() as u64).sum();
        assert_eq!(
            files.iter().map(|file| file.meta.value_bytes).sum::<u64>(),
            value_bytes
        );
        assert_eq!(
            files.iter().map(|file| file.meta.frame_count).sum::<u64>(),
            values.len() as u64
        );
        for file in &files[..files.len() - 1] {
            // A file rolls at the first value past the target: at most one value over.
            let largest_frame = handles
                .iter()
                .map(|handle| handle.on_disk_len)
                .max()
                .unwrap();
            assert!(file.meta.file_len >= TARGET_BYTES, "{:?}", file.meta);
            assert!(
                file.meta.file_len <= TARGET_BYTES + largest_frame + 96,
                "{:?}",
                file.meta
            );
        }
        for file in &files {
            BlobFileReader::open(&fs, &file.path, file.meta.file_id, &read)
                .unwrap()
                .verify()
                .unwrap();
        }
        check_all(&fs, &read, &handles, &values);
    }
}

#[test]
fn nothing_written_creates_no_file() {
    let fs = MemFs::new();
    let (handles, files) = write_all(&fs, BlobWriteOptions::default(), TARGET_BYTES, &[]).unwrap();
    assert!(handles.is_empty() && files.is_empty());
    assert!(fs.read_dir(Path::new("/")).unwrap().is_empty());
}

/// Writes the values and makes the files durable; stops at the first error.
fn workload(
    fs: &SimFs,
    target_bytes: u64,
    values: &[(Vec<u8>, Vec<u8>)],
) -> Result<Vec<BlobHandle>, String> {
    fs.create_dir_all(Path::new("/db"))
        .map_err(|error| error.to_string())?;
    fs.sync_dir(Path::new("/"))
        .map_err(|error| error.to_string())?;
    let (handles, _) = write_all(fs, BlobWriteOptions::default(), target_bytes, values)
        .map_err(|error| error.to_string())?;
    fs.sync_dir(Path::new("/db"))
        .map_err(|error| error.to_string())?;
    Ok(handles)
}

/// Reads every handle from the image; returns how many files answered every read. A
/// durable image must answer all; any image may fail a read with a typed error, but never
/// return another value.
fn check_image(
    image: &SimFs,
    handles: &[BlobHandle],
    values: &[(Vec<u8>, Vec<u8>)],
    must_exist: bool,
) -> usize {
    let mut whole = std::collections::BTreeMap::new();
    for (handle, (key, value)) in handles.iter().zip(values) {
        let opened = BlobFileReader::open(
            image,
            &path_of(handle.file_id),
            handle.file_id,
            &BlobReadOptions::default(),
        );
        let answered = match opened.and_then(|reader| reader.get(handle)) {
            Ok(blob) => {
                assert_eq!(
                    (blob.key.as_ref(), blob.value.as_ref()),
                    (key.as_slice(), value.as_slice()),
                    "a read returned another value"
                );
                true
            }
            Err(error) => {
                assert!(!must_exist, "a durable blob file failed a read: {error}");
                false
            }
        };
        *whole.entry(handle.file_id).or_insert(true) &= answered;
    }
    if must_exist {
        for &file_id in whole.keys() {
            BlobFileReader::open(
                image,
                &path_of(file_id),
                file_id,
                &BlobReadOptions::default(),
            )
            .and_then(|reader| reader.verify())
            .expect("a durable blob file verifies");
        }
    }
    whole.values().filter(|&&answered| answered).count()
}

/// Crashes the workload at every operation under every model and checks each image.
fn crash_enumeration(target_bytes: u64, values: &[(Vec<u8>, Vec<u8>)], seed: u64) {
    let dry_run = SimFs::new();
    let handles = workload(&dry_run, target_bytes, values).unwrap();
    let op_count = dry_run.op_count();
    assert!(op_count >= 6, "{op_count} operations");
    let mut rng = Rng::from_env(seed);
    let (mut images, mut whole) = (0, 0);
    for crash_point in 0..op_count {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        assert!(
            workload(&fs, target_bytes, values).is_err(),
            "crash point {crash_point} was not reached"
        );
        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut rng);
            whole += check_image(&image, &handles, values, false);
            images += 1;
        }
    }
    let files = handles.iter().map(|handle| handle.file_id).max().unwrap();
    for model in CrashModel::ALL {
        let image = dry_run.crash(model, &mut rng);
        assert_eq!(
            check_image(&image, &handles, values, true),
            usize::try_from(files).unwrap()
        );
    }
    println!(
        "{op_count} crash points, {images} images, {whole} files answered every read; {files} files"
    );
}

#[test]
fn every_crash_point_gives_right_values_or_typed_errors() {
    crash_enumeration(TARGET_BYTES, &values(), 17);
}

#[test]
fn files_written_in_several_appends_survive_crashes_too() {
    // One 4 MiB file of 2.4 MB: the writer appends it in 1 MiB pieces, which the crash
    // models may keep in part, reorder or tear.
    crash_enumeration(4 << 20, &values_of(1_200), 19);
}

#[test]
fn readers_share_a_bounded_descriptor_cache() {
    let fs = std::sync::Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    let values = values();
    let (handles, files) = write_all(
        fs.as_ref(),
        BlobWriteOptions::default(),
        TARGET_BYTES,
        &values,
    )
    .unwrap();
    assert!(files.len() >= 3, "{} files", files.len());
    let cache = std::sync::Arc::new(lsm_core::DescriptorCache::new(fs.clone(), 2));
    let read = BlobReadOptions {
        descriptor_cache: Some(cache.clone()),
        ..BlobReadOptions::default()
    };
    let readers: Vec<BlobFileReader> = files
        .iter()
        .map(|file| {
            BlobFileReader::open(fs.as_ref(), &file.path, file.meta.file_id, &read).unwrap()
        })
        .collect();
    for _ in 0..2 {
        for (handle, (_, value)) in handles.iter().zip(&values) {
            let reader = &readers[usize::try_from(handle.file_id - 1).unwrap()];
            assert_eq!(reader.get(handle).unwrap().value.as_ref(), value.as_slice());
            assert!(cache.open_count() <= 2);
        }
    }
    drop(readers);
    assert_eq!(cache.open_count(), 0);
}

/// A caller that ignores errors and carries on: once any I/O failed, `finish` must fail
/// too, so that no file list is ever returned over a hole.
fn stubborn_workload(
    fs: &SimFs,
    values: &[(Vec<u8>, Vec<u8>)],
) -> (usize, lsm_vlog::Result<Vec<WrittenBlobFile>>) {
    let next_id = Cell::new(1_u64);
    let mut writer = BlobSetWriter::new(fs, BlobWriteOptions::default(), TARGET_BYTES, || {
        let file_id = next_id.get();
        next_id.set(file_id + 1);
        NewBlobFile {
            file_id,
            path: path_of(file_id),
            salt: [0; 16],
        }
    });
    let failures = values
        .iter()
        .enumerate()
        .filter(|(seqno, (key, value))| writer.write(key, *seqno as u64, value).is_err())
        .count();
    (failures, writer.finish())
}

#[test]
fn an_injected_io_error_fails_the_whole_set() {
    let values = values();
    let dry_run = SimFs::new();
    dry_run.create_dir_all(Path::new("/db")).unwrap();
    let ops_before = dry_run.op_count();
    let (failures, files) = stubborn_workload(&dry_run, &values);
    assert_eq!(failures, 0);
    files.unwrap();
    for op in ops_before..dry_run.op_count() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        fs.fail_op(op, std::io::ErrorKind::Other);
        let (failures, files) = stubborn_workload(&fs, &values);
        assert!(
            failures > 0 || files.is_err(),
            "operation {op} failed unnoticed"
        );
        if failures > 0 {
            assert!(
                matches!(files, Err(lsm_vlog::Error::WriterFailed { .. })),
                "operation {op}: {files:?}"
            );
        }
    }
}
