//! Blob files: round trips in every variant, scans, handle checks, typed errors for
//! wrong keys and ids, and a corruption sweep (every bit flipped, every truncation):
//! each case fails to open, or answers exactly as the intact file does, or returns an
//! error from the read that touches the damage; never a panic, never a wrong value.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use lsm_codec::{Compression, EncryptionKey};
use lsm_core::{Fs, MemFs, OpenOptions, limits};
use lsm_vlog::{
    Blob, BlobFileReader, BlobFileWriter, BlobHandle, BlobReadOptions, BlobWriteOptions, Error,
};
use proptest::prelude::*;

const PATH: &str = "/7.blob";
const FILE_ID: u64 = 7;

fn values() -> Vec<(Vec<u8>, u64, Vec<u8>)> {
    (0..12_u64)
        .map(|idx| {
            let key = format!("key-{idx:03}").into_bytes();
            let value = match idx % 4 {
                0 => Vec::new(),
                1 => format!("small value {idx}").into_bytes(),
                2 => format!("repetitive {idx} ").repeat(40).into_bytes(),
                _ => (0..300_u64)
                    .map(|byte| ((byte * 31 + idx) % 251) as u8)
                    .collect(),
            };
            (key, 1_000 - idx, value)
        })
        .collect()
}

fn write_file(
    fs: &dyn Fs,
    options: BlobWriteOptions,
    values: &[(Vec<u8>, u64, Vec<u8>)],
) -> Vec<BlobHandle> {
    let mut writer = BlobFileWriter::create(fs, PATH.as_ref(), FILE_ID, options).unwrap();
    let handles = values
        .iter()
        .map(|(key, seqno, value)| writer.write(key, *seqno, value).unwrap())
        .collect();
    let meta = writer.finish().unwrap();
    assert_eq!(meta.frame_count, values.len() as u64);
    assert_eq!(
        meta.value_bytes,
        values
            .iter()
            .map(|(_, _, value)| value.len() as u64)
            .sum::<u64>()
    );
    assert_eq!(
        meta.file_len,
        fs.open(PATH.as_ref(), OpenOptions::read())
            .unwrap()
            .len()
            .unwrap()
    );
    handles
}

fn bytes_of(options: BlobWriteOptions) -> (Vec<u8>, Vec<BlobHandle>) {
    let fs = MemFs::new();
    let handles = write_file(&fs, options, &values());
    (lsm_core::fs::read_all(&fs, PATH.as_ref()).unwrap(), handles)
}

fn encrypted() -> (BlobWriteOptions, BlobReadOptions) {
    let key = EncryptionKey::new([3; 32]);
    let write = BlobWriteOptions {
        compression: Compression::zstd(3),
        encryption: Some((key.clone(), [9; 16])),
        ..BlobWriteOptions::default()
    };
    let read = BlobReadOptions {
        encryption_key: Some(key),
        ..BlobReadOptions::default()
    };
    (write, read)
}

fn variants() -> Vec<(&'static str, BlobWriteOptions, BlobReadOptions)> {
    let (enc_write, enc_read) = encrypted();
    vec![
        (
            "plain",
            BlobWriteOptions::default(),
            BlobReadOptions::default(),
        ),
        (
            "zstd",
            BlobWriteOptions {
                compression: Compression::zstd(3),
                ..BlobWriteOptions::default()
            },
            BlobReadOptions::default(),
        ),
        ("encrypted", enc_write, enc_read),
    ]
}

fn open(bytes: &[u8], options: &BlobReadOptions) -> Result<BlobFileReader, Error> {
    let fs = MemFs::new();
    fs.open(PATH.as_ref(), OpenOptions::create_new())
        .unwrap()
        .append(bytes)
        .unwrap();
    BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, options)
}

/// Everything a reader can observe of a blob file.
#[derive(Debug, PartialEq)]
struct Answers {
    gets: Vec<Blob>,
    scan: Vec<(BlobHandle, Blob)>,
}

fn answers(
    bytes: &[u8],
    handles: &[BlobHandle],
    options: &BlobReadOptions,
) -> Result<Answers, Error> {
    let reader = open(bytes, options)?;
    let gets = handles
        .iter()
        .map(|handle| reader.get(handle))
        .collect::<Result<Vec<_>, _>>()?;
    let scan = reader.scan().collect::<Result<Vec<_>, _>>()?;
    reader.verify()?;
    Ok(Answers { gets, scan })
}

#[test]
fn every_variant_round_trips_and_scans_in_file_order() {
    for (name, write, read) in variants() {
        let (bytes, handles) = bytes_of(write);
        let answers = answers(&bytes, &handles, &read).unwrap();
        let expected: Vec<Blob> = values()
            .into_iter()
            .map(|(key, seqno, value)| Blob {
                key: key.into(),
                seqno,
                value: value.into(),
            })
            .collect();
        assert_eq!(answers.gets, expected, "{name}");
        let scanned_handles: Vec<BlobHandle> =
            answers.scan.iter().map(|(handle, _)| *handle).collect();
        assert_eq!(scanned_handles, handles, "{name}");
        let scanned: Vec<Blob> = answers.scan.into_iter().map(|(_, blob)| blob).collect();
        assert_eq!(scanned, expected, "{name}");
    }
}

#[test]
fn compression_is_kept_only_where_it_shrinks_the_frame() {
    let (plain, plain_handles) = bytes_of(BlobWriteOptions::default());
    let (zstd, zstd_handles) = bytes_of(variants().swap_remove(1).1);
    assert!(zstd.len() < plain.len());
    for ((plain, zstd), (_, _, value)) in plain_handles.iter().zip(&zstd_handles).zip(values()) {
        assert!(zstd.on_disk_len <= plain.on_disk_len, "{value:?}");
        assert_eq!(zstd.value_len as usize, value.len());
    }
}

#[test]
fn an_empty_file_opens_and_scans_nothing() {
    let fs = MemFs::new();
    assert!(write_file(&fs, BlobWriteOptions::default(), &[]).is_empty());
    let reader =
        BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &BlobReadOptions::default()).unwrap();
    assert_eq!(reader.frame_count(), 0);
    assert_eq!(reader.scan().count(), 0);
    reader.verify().unwrap();
}

#[test]
fn handles_that_do_not_match_the_file_are_typed_errors() {
    let (bytes, handles) = bytes_of(BlobWriteOptions::default());
    let reader = open(&bytes, &BlobReadOptions::default()).unwrap();
    let handle = handles[3];
    assert!(matches!(
        reader.get(&BlobHandle {
            file_id: 8,
            ..handle
        }),
        Err(Error::WrongFile {
            file_id: 7,
            handle_file_id: 8
        })
    ));
    // Another frame's offset and length: its checksum is seeded by its own offset, so
    // only the lengths can catch it here.
    assert!(matches!(
        reader.get(&BlobHandle {
            value_len: handle.value_len + 1,
            ..handle
        }),
        Err(Error::Corruption { .. })
    ));
    for bad in [
        BlobHandle {
            offset: handle.offset + 1,
            ..handle
        },
        BlobHandle {
            on_disk_len: handle.on_disk_len - 1,
            ..handle
        },
        BlobHandle {
            on_disk_len: handle.on_disk_len + 1,
            ..handle
        },
        BlobHandle {
            offset: handles[4].offset,
            ..handle
        },
    ] {
        assert!(
            matches!(reader.get(&bad), Err(Error::Frame { .. })),
            "{bad:?}"
        );
    }
    for bad in [
        BlobHandle {
            offset: 0,
            ..handle
        },
        BlobHandle {
            offset: u64::MAX,
            ..handle
        },
        BlobHandle {
            on_disk_len: u64::MAX,
            ..handle
        },
        BlobHandle {
            offset: bytes.len() as u64 - 10,
            ..handle
        },
    ] {
        assert!(
            matches!(reader.get(&bad), Err(Error::Corruption { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn wrong_key_missing_key_and_wrong_id_are_typed() {
    let (write, read) = encrypted();
    let (bytes, _) = bytes_of(write);
    let wrong = BlobReadOptions {
        encryption_key: Some(EncryptionKey::new([4; 32])),
        ..BlobReadOptions::default()
    };
    assert!(matches!(
        open(&bytes, &wrong),
        Err(Error::WrongKey { file_id: FILE_ID })
    ));
    assert!(matches!(
        open(&bytes, &BlobReadOptions::default()),
        Err(Error::KeyRequired { file_id: FILE_ID })
    ));
    let fs = MemFs::new();
    fs.open(PATH.as_ref(), OpenOptions::create_new())
        .unwrap()
        .append(&bytes)
        .unwrap();
    assert!(matches!(
        BlobFileReader::open(&fs, PATH.as_ref(), 8, &read),
        Err(Error::FileIdMismatch {
            expected: 8,
            found: FILE_ID
        })
    ));
    let (plain, _) = bytes_of(BlobWriteOptions::default());
    assert!(matches!(open(&plain, &read), Err(Error::Corruption { .. })));
}

#[test]
fn a_newer_format_version_is_refused_by_name() {
    let (mut bytes, _) = bytes_of(BlobWriteOptions::default());
    bytes[8] = lsm_vlog::layout::BLOB_FORMAT_VERSION + 1;
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[..40]);
    bytes[40..48].copy_from_slice(&checksum.to_le_bytes());
    assert!(matches!(
        open(&bytes, &BlobReadOptions::default()),
        Err(Error::UnsupportedFormatVersion { found: 3, max: 2 })
    ));
}

#[test]
fn keys_and_values_outside_the_limits_are_refused() {
    let fs = MemFs::new();
    let mut writer =
        BlobFileWriter::create(&fs, PATH.as_ref(), FILE_ID, BlobWriteOptions::default()).unwrap();
    assert!(matches!(
        writer.write(b"", 1, b"v"),
        Err(Error::InvalidEntry(_))
    ));
    let long_key = vec![b'k'; limits::USER_KEY_LEN_MAX + 1];
    assert!(matches!(
        writer.write(&long_key, 1, b"v"),
        Err(Error::InvalidEntry(_))
    ));
    // The file stays usable after a refused entry.
    let handle = writer.write(b"k", 1, b"v").unwrap();
    writer.finish().unwrap();
    let reader =
        BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &BlobReadOptions::default()).unwrap();
    assert_eq!(reader.get(&handle).unwrap().value.as_ref(), b"v");
    assert!(matches!(
        BlobFileWriter::create(&fs, PATH.as_ref(), FILE_ID, BlobWriteOptions::default()),
        Err(Error::Io { .. })
    ));
}

#[test]
fn disk_full_is_an_io_error() {
    let fs = MemFs::with_capacity(4_096);
    let mut writer =
        BlobFileWriter::create(&fs, PATH.as_ref(), FILE_ID, BlobWriteOptions::default()).unwrap();
    writer.write(b"k", 1, &vec![7; 64 * 1024]).unwrap();
    assert!(matches!(writer.finish(), Err(Error::Io { .. })));
}

#[test]
fn corruption_sweep() {
    for (name, write, read) in variants() {
        let (bytes, handles) = bytes_of(write);
        let clean = answers(&bytes, &handles, &read).unwrap();
        let (mut detected, mut same) = (0, 0);
        for (bit, damaged) in lsm_testkit::damage::bit_flips(&bytes, 1) {
            match answers(&damaged, &handles, &read) {
                Ok(answers) => {
                    assert_eq!(answers, clean, "{name}: bit {bit} changed an answer");
                    same += 1;
                }
                Err(_) => detected += 1,
            }
        }
        for len in 0..bytes.len() {
            assert!(
                open(&bytes[..len], &read).is_err(),
                "{name}: truncation to {len} opened"
            );
        }
        println!(
            "{name}: {} bytes, {detected} flips detected, {same} harmless, {} truncations",
            bytes.len(),
            bytes.len()
        );
    }
}

#[test]
fn blob_handles_round_trip_and_reject_trailing_bytes() {
    let handle = BlobHandle {
        file_id: 3,
        offset: 1 << 40,
        on_disk_len: 77,
        value_len: u32::MAX,
    };
    let mut encoded = handle.encode();
    assert_eq!(BlobHandle::decode_from(&encoded).unwrap(), handle);
    encoded.push(0);
    assert!(BlobHandle::decode_from(&encoded).is_err());
    assert!(BlobHandle::decode_from(&encoded[..3]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_values_round_trip(
        entries in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 1..40), any::<u64>(), prop::collection::vec(0_u8..4, 0..3_000)),
            0..30,
        ),
        compress in any::<bool>(),
    ) {
        let fs = MemFs::new();
        let options = BlobWriteOptions {
            compression: if compress { Compression::zstd(1) } else { Compression::None },
            ..BlobWriteOptions::default()
        };
        let handles = write_file(&fs, options, &entries);
        let reader = BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &BlobReadOptions::default()).unwrap();
        reader.verify().unwrap();
        for ((key, seqno, value), handle) in entries.iter().zip(&handles) {
            let blob = reader.get(handle).unwrap();
            prop_assert_eq!(blob.key.as_ref(), key.as_slice());
            prop_assert_eq!(blob.seqno, *seqno);
            prop_assert_eq!(blob.value.as_ref(), value.as_slice());
        }
        let scanned: Vec<BlobHandle> = reader.scan().map(|item| item.unwrap().0).collect();
        prop_assert_eq!(scanned, handles);
    }
}

#[test]
fn dictionary_frames_need_their_dictionary() {
    let samples: Vec<Vec<u8>> = (0..400)
        .map(|idx| {
            format!(
                "{{\"Package\": \"pkg-{idx}\", \"Section\": \"libs\", \"Priority\": \"optional\"}}"
            )
            .into_bytes()
        })
        .collect();
    let dictionary = lsm_codec::train_dictionary(&samples, 4_096).unwrap();
    let fs = MemFs::new();
    let options = BlobWriteOptions {
        compression: Compression::zstd_dict(3, &dictionary),
        ..BlobWriteOptions::default()
    };
    let entries: Vec<(Vec<u8>, u64, Vec<u8>)> = samples
        .iter()
        .take(20)
        .enumerate()
        .map(|(idx, value)| (format!("k{idx}").into_bytes(), 1, value.clone()))
        .collect();
    let handles = write_file(&fs, options, &entries);
    let with = BlobReadOptions {
        dictionary: Some(dictionary),
        ..BlobReadOptions::default()
    };
    let reader = BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &with).unwrap();
    for ((_, _, value), handle) in entries.iter().zip(&handles) {
        assert_eq!(reader.get(handle).unwrap().value.as_ref(), value.as_slice());
    }
    let without =
        BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &BlobReadOptions::default()).unwrap();
    assert!(matches!(without.get(&handles[0]), Err(Error::Frame { .. })));
}

#[test]
fn scans_cross_window_boundaries_and_frames_larger_than_a_window() {
    let window = lsm_vlog::SCAN_WINDOW_BYTES;
    let mut entries = Vec::new();
    for (idx, len) in [
        7_000,
        window / 3,
        window + window / 2,
        1,
        window / 2,
        90_000,
        0,
        300_001,
    ]
    .into_iter()
    .cycle()
    .take(20)
    .enumerate()
    {
        let value: Vec<u8> = (0..len)
            .map(|byte| u8::try_from((byte * 7 + idx) % 251).unwrap())
            .collect();
        entries.push((format!("key-{idx:02}").into_bytes(), idx as u64, value));
    }
    let fs = MemFs::new();
    let handles = write_file(&fs, BlobWriteOptions::default(), &entries);
    let reader =
        BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &BlobReadOptions::default()).unwrap();
    reader.verify().unwrap();
    let scanned: Vec<(BlobHandle, Blob)> = reader.scan().map(Result::unwrap).collect();
    assert_eq!(scanned.len(), entries.len());
    for (((handle, blob), expected_handle), (key, seqno, value)) in
        scanned.iter().zip(&handles).zip(&entries)
    {
        assert_eq!(handle, expected_handle);
        assert_eq!((blob.key.as_ref(), blob.seqno), (key.as_slice(), *seqno));
        assert!(
            blob.value.as_ref() == value.as_slice(),
            "value of {handle:?}"
        );
    }
}

#[test]
fn a_failed_append_leaves_the_writer_unusable() {
    let fs = MemFs::with_capacity(1 << 20);
    let mut writer =
        BlobFileWriter::create(&fs, PATH.as_ref(), FILE_ID, BlobWriteOptions::default()).unwrap();
    writer.write(b"small", 1, b"fits").unwrap();
    assert!(matches!(
        writer.write(b"large", 2, &vec![1; 3 << 20]),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        writer.write(b"small", 3, b"fits"),
        Err(Error::WriterFailed { file_id: FILE_ID })
    ));
    assert!(matches!(
        writer.finish(),
        Err(Error::WriterFailed { file_id: FILE_ID })
    ));
}

/// Package-like records: alike enough for a dictionary to pay.
fn records(count: usize) -> Vec<(Vec<u8>, u64, Vec<u8>)> {
    (0..count)
        .map(|idx| {
            let value = format!(
                "{{\"Package\": \"lib{idx}-dev\", \"Section\": \"libdevel\", \"Priority\": \
                 \"optional\", \"Architecture\": \"amd64\", \"Version\": \"{}.{}-{}\", \
                 \"Depends\": \"libc6 (>= 2.{}), lib{idx}{} (= ${{binary:Version}})\"}}",
                idx % 7,
                idx % 13,
                idx % 3,
                idx % 40,
                idx % 5
            );
            (
                format!("pkg/{idx:05}").into_bytes(),
                idx as u64,
                value.into_bytes(),
            )
        })
        .collect()
}

fn training() -> lsm_codec::DictionaryTraining {
    lsm_codec::DictionaryTraining {
        level: 3,
        dictionary_bytes: 4_096,
        sample_bytes: 16 << 10,
    }
}

/// A file that trains its own dictionary stores it before the footer: every value reads
/// (those written before training and after), scans in order and verifies, with a key
/// and without, and the file is smaller than with plain zstd. Too few values: no
/// dictionary, plain zstd frames.
#[test]
fn a_file_trains_its_own_dictionary_and_stores_it() {
    let entries = records(600);
    let (enc_write, enc_read) = encrypted();
    for (name, write, read) in [
        (
            "plain",
            BlobWriteOptions::default(),
            BlobReadOptions::default(),
        ),
        ("encrypted", enc_write, enc_read),
    ] {
        let sizes: Vec<u64> = [None, Some(training())]
            .into_iter()
            .map(|training| {
                let fs = MemFs::new();
                let options = BlobWriteOptions {
                    compression: Compression::zstd(3),
                    dictionary_training: training,
                    ..write.clone()
                };
                let handles = write_file(&fs, options, &entries);
                let reader = BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &read).unwrap();
                assert_eq!(
                    reader.dictionary_id().is_some(),
                    training.is_some(),
                    "{name}"
                );
                for ((key, seqno, value), handle) in entries.iter().zip(&handles) {
                    let blob = reader.get(handle).unwrap();
                    assert_eq!(
                        (blob.key.as_ref(), blob.seqno, blob.value.as_ref()),
                        (key.as_slice(), *seqno, value.as_slice())
                    );
                }
                let scanned: Vec<BlobHandle> = reader.scan().map(|item| item.unwrap().0).collect();
                assert_eq!(scanned, handles);
                reader.verify().unwrap();
                fs.open(PATH.as_ref(), OpenOptions::read())
                    .unwrap()
                    .len()
                    .unwrap()
            })
            .collect();
        println!(
            "{name}: zstd {} bytes, with its own dictionary {}",
            sizes[0], sizes[1]
        );
        assert!(sizes[1] < sizes[0], "{name}: {sizes:?}");
    }
    // Fewer sampled bytes than the training needs: no dictionary.
    let fs = MemFs::new();
    let options = BlobWriteOptions {
        dictionary_training: Some(training()),
        ..BlobWriteOptions::default()
    };
    let handles = write_file(&fs, options, &entries[..20]);
    let reader =
        BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &BlobReadOptions::default()).unwrap();
    assert_eq!(reader.dictionary_id(), None);
    assert_eq!(
        reader.get(&handles[19]).unwrap().value.as_ref(),
        entries[19].2.as_slice()
    );
}

/// The corruption sweep over a file with its own dictionary (every 7th bit): each
/// flipped bit fails the open or the read that touches it, or changes nothing.
#[test]
fn a_damaged_dictionary_file_never_answers_wrongly() {
    let fs = MemFs::new();
    let options = BlobWriteOptions {
        dictionary_training: Some(training()),
        ..BlobWriteOptions::default()
    };
    let handles = write_file(&fs, options, &records(300));
    let bytes = lsm_core::fs::read_all(&fs, PATH.as_ref()).unwrap();
    let read = BlobReadOptions::default();
    let clean = answers(&bytes, &handles, &read).unwrap();
    let (mut detected, mut same) = (0, 0);
    for (bit, damaged) in lsm_testkit::damage::bit_flips(&bytes, 7) {
        match answers(&damaged, &handles, &read) {
            Ok(answers) => {
                assert_eq!(answers, clean, "bit {bit} changed an answer");
                same += 1;
            }
            Err(_) => detected += 1,
        }
    }
    println!(
        "{} bytes: {detected} flips detected, {same} harmless",
        bytes.len()
    );
    assert!(detected > 0);
}

/// A version-1 file has nothing between its frames and its footer: bytes there are
/// corruption, not a dictionary.
#[test]
fn a_version_one_file_with_a_dictionary_block_is_corrupt() {
    let fs = MemFs::new();
    let options = BlobWriteOptions {
        dictionary_training: Some(training()),
        ..BlobWriteOptions::default()
    };
    write_file(&fs, options, &records(300));
    let mut bytes = lsm_core::fs::read_all(&fs, PATH.as_ref()).unwrap();
    assert!(open(&bytes, &BlobReadOptions::default()).is_ok());
    bytes[8] = 1;
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[..40]);
    bytes[40..48].copy_from_slice(&checksum.to_le_bytes());
    assert!(matches!(
        open(&bytes, &BlobReadOptions::default()),
        Err(Error::Corruption { .. })
    ));
}

/// The writer's whole-file digest is the XXH3-64 of the file's bytes, and `verify` reads
/// each byte once to the same digest (with a trained dictionary stored before the footer,
/// and encrypted).
#[test]
fn the_writer_s_digest_is_the_file_s_and_verify_recomputes_it() {
    let (enc_write, enc_read) = encrypted();
    for (write, read) in [
        (BlobWriteOptions::default(), BlobReadOptions::default()),
        (enc_write, enc_read),
    ] {
        let fs = MemFs::new();
        let options = BlobWriteOptions {
            dictionary_training: Some(training()),
            ..write
        };
        let mut writer = BlobFileWriter::create(&fs, PATH.as_ref(), FILE_ID, options).unwrap();
        for (key, seqno, value) in records(300) {
            writer.write(&key, seqno, &value).unwrap();
        }
        let meta = writer.finish().unwrap();
        let bytes = lsm_core::fs::read_all(&fs, PATH.as_ref()).unwrap();
        assert_eq!(meta.digest, xxhash_rust::xxh3::xxh3_64(&bytes));
        let reader = BlobFileReader::open(&fs, PATH.as_ref(), FILE_ID, &read).unwrap();
        assert!(reader.dictionary_id().is_some());
        assert_eq!(reader.verify().unwrap(), meta.digest);
        assert_eq!(reader.file_len(), bytes.len() as u64);
    }
}
