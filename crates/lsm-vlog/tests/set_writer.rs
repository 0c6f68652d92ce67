//! The rolling blob writer: files of about the target size, every handle readable, and
//! crash-point enumeration: a blob file is promised only once `finish` and the
//! directory sync have returned; before that a file may be missing or refuse to open
//! with a typed error, but a file that opens answers every handle into it exactly.
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
    // Incompressible values, so that compressed variants roll too.
    let mut rng = Rng::new(3);
    (0..200_u64)
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
    values: &[(Vec<u8>, Vec<u8>)],
) -> lsm_vlog::Result<(Vec<BlobHandle>, Vec<WrittenBlobFile>)> {
    let next_id = Cell::new(1_u64);
    let mut writer = BlobSetWriter::new(fs, options, TARGET_BYTES, || {
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
        let (handles, files) = write_all(&fs, write, &values).unwrap();
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
    let (handles, files) = write_all(&fs, BlobWriteOptions::default(), &[]).unwrap();
    assert!(handles.is_empty() && files.is_empty());
    assert!(fs.read_dir(Path::new("/")).unwrap().is_empty());
}

/// Writes the values and makes the files durable; stops at the first error.
fn workload(fs: &SimFs, values: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<BlobHandle>, String> {
    fs.create_dir_all(Path::new("/db"))
        .map_err(|error| error.to_string())?;
    fs.sync_dir(Path::new("/"))
        .map_err(|error| error.to_string())?;
    let (handles, _) =
        write_all(fs, BlobWriteOptions::default(), values).map_err(|error| error.to_string())?;
    fs.sync_dir(Path::new("/db"))
        .map_err(|error| error.to_string())?;
    Ok(handles)
}

/// Opens every file the handles name; returns how many opened.
fn check_image(
    image: &SimFs,
    handles: &[BlobHandle],
    values: &[(Vec<u8>, Vec<u8>)],
    must_exist: bool,
) -> usize {
    let mut opened = std::collections::BTreeSet::new();
    for (handle, (key, value)) in handles.iter().zip(values) {
        match BlobFileReader::open(
            image,
            &path_of(handle.file_id),
            handle.file_id,
            &BlobReadOptions::default(),
        ) {
            Ok(reader) => {
                let blob = reader.get(handle).expect("a blob file that opens reads");
                assert_eq!(
                    (blob.key.as_ref(), blob.value.as_ref()),
                    (key.as_slice(), value.as_slice())
                );
                reader.verify().expect("a blob file that opens verifies");
                opened.insert(handle.file_id);
            }
            Err(error) => assert!(!must_exist, "a durable blob file failed to open: {error}"),
        }
    }
    opened.len()
}

#[test]
fn every_crash_point_gives_whole_files_or_none() {
    let values = values();
    let dry_run = SimFs::new();
    let handles = workload(&dry_run, &values).unwrap();
    let op_count = dry_run.op_count();
    assert!(op_count >= 10, "{op_count} operations");
    let mut rng = Rng::from_env(17);
    let (mut images, mut opened) = (0, 0);
    for crash_point in 0..op_count {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        assert!(
            workload(&fs, &values).is_err(),
            "crash point {crash_point} was not reached"
        );
        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut rng);
            opened += check_image(&image, &handles, &values, false);
            images += 1;
        }
    }
    for model in CrashModel::ALL {
        let image = dry_run.crash(model, &mut rng);
        let files = handles.iter().map(|handle| handle.file_id).max().unwrap();
        assert_eq!(
            check_image(&image, &handles, &values, true),
            usize::try_from(files).unwrap()
        );
    }
    println!("{op_count} crash points, {images} images, {opened} files opened with exact answers");
}

#[test]
fn readers_share_a_bounded_descriptor_cache() {
    let fs = std::sync::Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    let values = values();
    let (handles, files) = write_all(fs.as_ref(), BlobWriteOptions::default(), &values).unwrap();
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
