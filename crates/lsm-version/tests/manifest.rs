//! Versions, edits and the manifest: apply semantics, encodings, reopening, rolling,
//! torn tails, corruption, and crash-point enumeration on the simulated file system.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::path::Path;
use std::sync::Arc;

use lsm_codec::{EncryptionKey, SaltSource};
use lsm_core::coding::Decoder;
use lsm_core::{Fs, KeyOrder, KeyRange, MemFs, OpenOptions};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};
use lsm_version::{
    BlobFileInfo, BlobGarbage, Error, Manifest, ManifestEncryption, Recovered, RecoveryMode,
    TableMeta, Version, VersionEdit,
};
use proptest::prelude::*;

const LEX: KeyOrder = KeyOrder::lexicographic();

fn table(id: u64, min: &str, max: &str) -> TableMeta {
    TableMeta {
        id,
        key_range: KeyRange::new(&LEX, min.into(), max.into()),
        seqno_min: id,
        seqno_max: id * 10,
        size_bytes: 1000 + id,
        entry_count: 10,
        tombstone_count: 1,
        blob_refs: Vec::new(),
        digest: None,
        global_seqno: None,
    }
}

/// A flush adds a run to level 0; a compaction moves tables down.
fn edits() -> Vec<VersionEdit> {
    let mut edits = Vec::new();
    for flush in 0..12_u64 {
        let id = flush * 3 + 1;
        // Each flush also writes one blob file (id flush + 1) of 10 values.
        edits.push(VersionEdit {
            added: vec![(0, vec![table(id, "a", "m"), table(id + 1, "n", "z")])],
            next_table_id: id + 2,
            last_seqno: flush * 100,
            added_blob_files: vec![BlobFileInfo::new(flush + 1, 10, 1000, 1100)],
            next_blob_file_id: flush + 2,
            ..VersionEdit::default()
        });
        if flush % 3 == 2 {
            // Compact level 0 into level 1: remove the last three flushes' tables.
            let removed: Vec<u64> = (flush - 2..=flush)
                .flat_map(|done| [done * 3 + 1, done * 3 + 2])
                .collect();
            let out = 1000 + flush;
            edits.push(VersionEdit {
                added: vec![(
                    1,
                    vec![table(out, &format!("{flush:02}a"), &format!("{flush:02}z"))],
                )],
                removed,
                next_table_id: out + 1,
                // The oldest of the three flushes' blob files dies whole, the next loses
                // half; the file that died at the previous compaction is deleted.
                blob_garbage: vec![
                    BlobGarbage {
                        file_id: flush - 1,
                        frames: 10,
                        value_bytes: 1000,
                    },
                    BlobGarbage {
                        file_id: flush,
                        frames: 5,
                        value_bytes: 500,
                    },
                ],
                removed_blob_files: if flush >= 5 {
                    vec![flush - 4]
                } else {
                    Vec::new()
                },
                ..VersionEdit::default()
            });
        }
    }
    edits
}

fn versions() -> Vec<Version> {
    let mut versions = vec![Version::new(4)];
    for edit in edits() {
        let next = versions.last().unwrap().apply(&edit);
        next.validate();
        versions.push(next);
    }
    versions
}

/// A flush of `tables` (no removal), on `version`.
fn flush(version: &Version, tables: Vec<TableMeta>) -> Version {
    let next_table_id = tables.iter().map(|table| table.id + 1).max().unwrap_or(1);
    let next = version.apply(&VersionEdit {
        added: vec![(0, tables)],
        next_table_id: next_table_id.max(version.next_table_id()),
        ..VersionEdit::default()
    });
    next.validate();
    next
}

fn level0_runs(version: &Version) -> Vec<Vec<u64>> {
    version.levels()[0]
        .runs()
        .iter()
        .map(|run| run.tables().iter().map(|table| table.id).collect())
        .collect()
}

#[test]
fn flushes_that_share_no_key_with_the_newest_run_join_it() {
    // Fed in key order: every flush joins the one run.
    let mut version = Version::new(4);
    for (id, (min, max)) in [(1, ("a", "c")), (2, ("d", "f")), (3, ("g", "i"))] {
        version = flush(&version, vec![table(id, min, max)]);
    }
    assert_eq!(level0_runs(&version), vec![vec![1, 2, 3]]);
    assert_eq!(
        version.levels()[0].runs()[0]
            .table_for_key(&LEX, b"e")
            .map(|t| t.id),
        Some(2)
    );
    // A flush overlapping the run starts a new one in front; the next disjoint flush
    // joins that newest run only.
    version = flush(&version, vec![table(4, "b", "e")]);
    assert_eq!(level0_runs(&version), vec![vec![4], vec![1, 2, 3]]);
    version = flush(&version, vec![table(5, "x", "z")]);
    assert_eq!(level0_runs(&version), vec![vec![4, 5], vec![1, 2, 3]]);
}

#[test]
fn a_merge_within_level_0_goes_behind_a_run_that_flushes_joined_while_it_ran() {
    let mut version = Version::new(4);
    version = flush(&version, vec![table(1, "a", "z")]);
    version = flush(&version, vec![table(2, "b", "k")]);
    // A merge of 1 and 2 within level 0 starts; meanwhile 3 (no key shared with 2, but
    // newer versions of keys 1 holds) joins 2's run.
    version = flush(&version, vec![table(3, "n", "p")]);
    assert_eq!(level0_runs(&version), vec![vec![2, 3], vec![1]]);
    let merged = version.apply(&VersionEdit {
        added: vec![(0, vec![table(4, "a", "z")])],
        removed: vec![1, 2],
        next_table_id: 5,
        ..VersionEdit::default()
    });
    merged.validate();
    // 3 is newer than everything the merge read: it stays in front.
    assert_eq!(level0_runs(&merged), vec![vec![3], vec![4]]);
    // Without a joined table the output takes the removed runs' place.
    let version = flush(
        &flush(&Version::new(4), vec![table(1, "a", "m")]),
        vec![table(2, "b", "k")],
    );
    let merged = version.apply(&VersionEdit {
        added: vec![(0, vec![table(4, "a", "m")])],
        removed: vec![1, 2],
        next_table_id: 5,
        ..VersionEdit::default()
    });
    assert_eq!(level0_runs(&merged), vec![vec![4]]);
}

#[test]
fn edits_place_tables_in_runs() {
    let versions = versions();
    let last = versions.last().unwrap();
    assert_eq!(
        last.levels()[0].table_count(),
        0,
        "every flush was compacted"
    );
    assert_eq!(
        last.levels()[1].runs().len(),
        1,
        "disjoint outputs share one run"
    );
    assert_eq!(last.levels()[1].table_count(), 4);
    let second = &versions[2];
    assert_eq!(
        second.levels()[0].runs().len(),
        2,
        "one run per flush, newest first"
    );
    assert_eq!(second.levels()[0].runs()[0].tables()[0].id, 4);
    assert!(
        last.levels()[1].runs()[0]
            .table_for_key(&LEX, b"05q")
            .is_some()
    );
    assert!(
        last.levels()[1].runs()[0]
            .table_for_key(&LEX, b"99")
            .is_none()
    );
    assert_eq!(last.next_table_id(), 1012);
    assert_eq!(last.last_seqno(), 1100);
    // 12 blob files written, 3 of the 4 fully dead ones deleted; the last dead one and
    // the four half-dead ones count as stale.
    assert_eq!(last.blob_file_count(), 9);
    assert_eq!(last.stale_blob_bytes(), 1000 + 4 * 500);
    assert!(last.blob_files()[&10].is_dead());
    assert!((last.blob_files()[&11].dead_ratio() - 0.5).abs() < 1e-9);
    assert_eq!(last.next_blob_file_id(), 13);
}

/// A merge within level 0 takes the place of the newest run it merged: runs flushed
/// while it ran stay in front of it, and older runs behind it.
#[test]
fn a_level0_merge_output_takes_the_place_of_its_newest_input() {
    let flush = |id: u64| VersionEdit {
        added: vec![(0, vec![table(id, "a", "z")])],
        next_table_id: id + 1,
        ..VersionEdit::default()
    };
    let mut version = Version::new(3);
    for id in 1..=5 {
        version = version.apply(&flush(id));
    }
    let runs = |version: &Version| -> Vec<u64> {
        version.levels()[0]
            .runs()
            .iter()
            .map(|run| run.tables()[0].id)
            .collect()
    };
    assert_eq!(runs(&version), [5, 4, 3, 2, 1]);
    // Runs 3 and 4 merge while run 5 was flushed after they were chosen.
    let merged = version.apply(&VersionEdit {
        added: vec![(0, vec![table(6, "a", "z")])],
        removed: vec![3, 4],
        next_table_id: 7,
        ..VersionEdit::default()
    });
    merged.validate();
    assert_eq!(runs(&merged), [5, 6, 2, 1]);
    // A merge of the newest runs goes to the front, as a flush does.
    let front = merged.apply(&VersionEdit {
        added: vec![(0, vec![table(7, "a", "z")])],
        removed: vec![5, 6],
        next_table_id: 8,
        ..VersionEdit::default()
    });
    assert_eq!(runs(&front), [7, 2, 1]);
    assert_eq!(runs(&front.apply(&flush(8))), [8, 7, 2, 1]);
}

#[test]
#[should_panic(expected = "blob file changes apply")]
fn crediting_more_than_a_blob_file_holds_is_a_bug() {
    let version = Version::new(1).apply(&VersionEdit {
        added_blob_files: vec![BlobFileInfo::new(1, 2, 10, 50)],
        ..VersionEdit::default()
    });
    let _ = version.apply(&VersionEdit {
        blob_garbage: vec![BlobGarbage {
            file_id: 1,
            frames: 3,
            value_bytes: 1,
        }],
        ..VersionEdit::default()
    });
}

#[test]
fn a_logged_edit_that_does_not_apply_to_blob_files_is_corruption() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    let mut manifest =
        Manifest::create(Arc::clone(&fs), Path::new("/db"), Version::new(2), 1 << 20).unwrap();
    manifest
        .apply(&VersionEdit {
            added_blob_files: vec![BlobFileInfo::new(1, 2, 10, 50)],
            ..VersionEdit::default()
        })
        .unwrap();
    drop(manifest);
    let bad_edits = [
        VersionEdit {
            removed_blob_files: vec![2],
            ..VersionEdit::default()
        },
        VersionEdit {
            added_blob_files: vec![BlobFileInfo::new(1, 2, 10, 50)],
            ..VersionEdit::default()
        },
        VersionEdit {
            blob_garbage: vec![BlobGarbage {
                file_id: 1,
                frames: 3,
                value_bytes: 0,
            }],
            ..VersionEdit::default()
        },
        VersionEdit {
            blob_garbage: vec![BlobGarbage {
                file_id: 2,
                frames: 0,
                value_bytes: 0,
            }],
            ..VersionEdit::default()
        },
    ];
    let path = Path::new("/db/manifest-1");
    let intact = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    for edit in bad_edits {
        // Append the edit as a well-formed record, as a buggy writer would have.
        let mut payload = vec![lsm_version::layout::RECORD_EDIT];
        edit.encode_into(&mut payload);
        let mut record = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
        record.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&payload).to_le_bytes());
        record.extend_from_slice(&payload);
        fs.remove_file(path).unwrap();
        let file = fs.open(path, OpenOptions::create_new()).unwrap();
        file.append(&intact).unwrap();
        file.append(&record).unwrap();
        file.append(&record).unwrap();
        assert!(
            matches!(
                Manifest::open(Arc::clone(&fs), Path::new("/db"), 1 << 20),
                Err(Error::Corruption { .. })
            ),
            "{edit:?}"
        );
    }
}

proptest! {
    #[test]
    fn edits_round_trip(
        removed in proptest::collection::vec(any::<u64>(), 0..5),
        blobs in proptest::collection::vec((any::<u64>(), 0_u64..100, 0_u64..10_000), 0..4),
        seqno in any::<u64>(),
        id in any::<u64>(),
        gc_watermark in proptest::option::of(0_u64..(1 << 63)),
    ) {
        let edit = VersionEdit {
            added: vec![(0, vec![table(7, "a", "b")]), (2, vec![table(8, "c", "d"), table(9, "e", "f")])],
            removed: removed.clone(),
            next_table_id: id,
            last_seqno: seqno,
            added_blob_files: blobs.iter().map(|&(id, frames, bytes)| BlobFileInfo::new(id, frames, bytes, bytes + 100)).collect(),
            removed_blob_files: removed,
            blob_garbage: blobs.iter().map(|&(file_id, frames, value_bytes)| BlobGarbage { file_id, frames, value_bytes }).collect(),
            next_blob_file_id: id / 2,
            gc_watermark,
        };
        let mut bytes = Vec::new();
        edit.encode_into(&mut bytes);
        let mut decoder = Decoder::new(&bytes);
        prop_assert_eq!(VersionEdit::decode_from(&mut decoder, &LEX).unwrap(), edit);
        prop_assert!(decoder.is_empty());
        for len in 0..bytes.len() {
            prop_assert!(VersionEdit::decode_from(&mut Decoder::new(&bytes[..len]), &LEX).is_err());
        }
    }
}

fn open(fs: &Arc<dyn Fs>) -> Manifest {
    match Manifest::open(Arc::clone(fs), Path::new("/db"), 512).unwrap() {
        Recovered::Manifest(manifest) => *manifest,
        Recovered::Fresh => panic!("no manifest"),
    }
}

#[test]
fn reopening_and_rolling_keep_the_version() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    assert!(matches!(
        Manifest::open(Arc::clone(&fs), Path::new("/db"), 512).unwrap(),
        Recovered::Fresh
    ));
    let versions = versions();
    let mut manifest =
        Manifest::create(Arc::clone(&fs), Path::new("/db"), Version::new(4), 512).unwrap();
    for (step, edit) in edits().iter().enumerate() {
        assert_eq!(manifest.apply(edit).unwrap(), &versions[step + 1]);
        assert_eq!(
            open(&fs).version(),
            &versions[step + 1],
            "reopened after edit {step}"
        );
    }
    assert!(manifest.generation() > 1, "a 512-byte threshold rolls");
    let files: Vec<_> = fs
        .read_dir(Path::new("/db"))
        .unwrap()
        .into_iter()
        .filter_map(|entry| entry.file_name().map(str::to_owned))
        .collect();
    assert_eq!(
        files,
        ["current", &format!("manifest-{}", manifest.generation())],
        "old generations are deleted"
    );
}

#[test]
fn a_torn_last_record_is_dropped_and_damage_before_it_is_corruption() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    let mut manifest =
        Manifest::create(Arc::clone(&fs), Path::new("/db"), Version::new(4), 1 << 20).unwrap();
    let edits = edits();
    for edit in &edits[..3] {
        manifest.apply(edit).unwrap();
    }
    let path = Path::new("/db/manifest-1");
    let bytes = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    let versions = versions();
    let rewrite = |content: &[u8]| rewrite_file(&fs, path, content);
    // Cut inside the last commit: its edit is whole and stays.
    rewrite(&bytes[..bytes.len() - 5]);
    assert_eq!(open(&fs).version(), &versions[3]);
    // Cut inside the last edit (so before its commit): the two edits before it survive.
    rewrite(&bytes[..bytes.len() - PLAIN_COMMIT_LEN - 5]);
    assert_eq!(open(&fs).version(), &versions[2]);
    // The reopen cut the tail: appending again works and survives another reopen.
    let mut manifest = open(&fs);
    manifest.apply(&edits[2]).unwrap();
    assert_eq!(open(&fs).version(), &versions[3]);
    // A flipped byte in the middle of the log is corruption, not a silent rollback.
    let mut damaged = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    rewrite(&damaged);
    assert!(matches!(
        Manifest::open(Arc::clone(&fs), Path::new("/db"), 1 << 20),
        Err(Error::Corruption { .. })
    ));
    // A damaged pointer file is corruption too.
    let current = fs
        .open(Path::new("/db/current"), OpenOptions::write())
        .unwrap();
    current.write_all_at(b"X", 3).unwrap();
    assert!(matches!(
        Manifest::open(Arc::clone(&fs), Path::new("/db"), 1 << 20),
        Err(Error::Corruption { .. })
    ));
}

/// Length of a plaintext commit record (header, tag, edit offset).
const PLAIN_COMMIT_LEN: usize = 12 + 1 + 8;
/// Length of a sealed commit record (the same, and the tag of the seal).
const SEALED_COMMIT_LEN: usize = PLAIN_COMMIT_LEN + 16;

/// Every byte of the last edit flipped is corruption (its commit at the file's end says
/// the append finished), in plaintext and sealed; every byte of the commit flipped reads
/// as a torn commit, and the edit stands.
#[test]
fn a_damaged_last_edit_before_its_commit_is_corruption() {
    for sealed in [false, true] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        fs.create_dir_all(Path::new("/db")).unwrap();
        let encryption = sealed.then(encryption);
        let open_with = || {
            Manifest::open_with(
                Arc::clone(&fs),
                Path::new("/db"),
                1 << 20,
                encryption.clone(),
            )
        };
        let mut manifest = Manifest::create_with(
            Arc::clone(&fs),
            Path::new("/db"),
            Version::new(4),
            1 << 20,
            encryption.clone(),
        )
        .unwrap();
        let edits = edits();
        let mut lens = Vec::new();
        for edit in &edits[..3] {
            manifest.apply(edit).unwrap();
            lens.push(
                lsm_core::fs::read_all(fs.as_ref(), Path::new("/db/manifest-1"))
                    .unwrap()
                    .len(),
            );
        }
        drop(manifest);
        let path = Path::new("/db/manifest-1");
        let bytes = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
        let commit_len = if sealed {
            SEALED_COMMIT_LEN
        } else {
            PLAIN_COMMIT_LEN
        };
        let edit_start = lens[1];
        let commit_start = bytes.len() - commit_len;
        let (mut refused, mut torn_commits) = (0, 0);
        for at in edit_start..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x04;
            rewrite_file(&fs, path, &damaged);
            match open_with() {
                Err(Error::Corruption { .. }) if at < commit_start => refused += 1,
                Ok(Recovered::Manifest(manifest)) if at >= commit_start => {
                    assert_eq!(manifest.version(), &versions()[3], "byte {at}");
                    torn_commits += 1;
                }
                other => panic!("sealed {sealed}, byte {at}: {:?}", other.map(|_| ())),
            }
            // A reopen may roll or cut the file: start each flip from the same files.
            for entry in fs.read_dir(Path::new("/db")).unwrap() {
                fs.remove_file(&entry.path).unwrap();
            }
            let file = fs.open(path, OpenOptions::create_new()).unwrap();
            file.append(&bytes).unwrap();
            lsm_core::fs::replace_durably(
                fs.as_ref(),
                Path::new("/db"),
                "current",
                "current.tmp",
                &current_bytes(1),
            )
            .unwrap();
        }
        assert_eq!(refused, commit_start - edit_start);
        assert_eq!(torn_commits, commit_len);
    }
}

/// The bytes of a `current` file naming `generation`.
fn current_bytes(generation: u64) -> Vec<u8> {
    let mut bytes = b"lsmcurr1".to_vec();
    bytes.extend_from_slice(&generation.to_le_bytes());
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes
}

/// Replaces the content of the file at `path`.
fn rewrite_file(fs: &Arc<dyn Fs>, path: &Path, content: &[u8]) {
    let file = fs
        .open(
            path,
            OpenOptions {
                truncate: true,
                ..OpenOptions::write()
            },
        )
        .unwrap();
    file.append(content).unwrap();
}

/// Runs the workload until the first error; returns how many edits were acknowledged
/// (`None` when not even the manifest's creation was).
fn workload(
    fs: &SimFs,
    edits: &[VersionEdit],
    encryption: Option<&ManifestEncryption>,
) -> Option<usize> {
    let shared: Arc<dyn Fs> = Arc::new(fs.clone());
    fs.create_dir_all(Path::new("/db")).ok()?;
    fs.sync_dir(Path::new("/")).ok()?;
    let mut manifest = Manifest::create_with(
        shared,
        Path::new("/db"),
        Version::new(4),
        600,
        encryption.cloned(),
    )
    .ok()?;
    let mut acknowledged = 0;
    for edit in edits {
        if manifest.apply(edit).is_err() {
            break;
        }
        acknowledged += 1;
    }
    Some(acknowledged)
}

#[test]
fn every_crash_point_recovers_an_acknowledged_prefix() {
    every_crash_point(None);
}

/// The same with an encrypted manifest: a torn tail makes recovery roll to a new file.
#[test]
fn every_crash_point_of_an_encrypted_manifest_recovers_an_acknowledged_prefix() {
    every_crash_point(Some(&encryption()));
}

fn encryption() -> ManifestEncryption {
    ManifestEncryption {
        key: EncryptionKey::new([9; 32]),
        older: Vec::new(),
        salts: Arc::new(SaltSource::new().unwrap()),
    }
}

fn every_crash_point(encryption: Option<&ManifestEncryption>) {
    let edits = edits();
    let versions = versions();
    let dry_run = SimFs::new();
    assert_eq!(workload(&dry_run, &edits, encryption), Some(edits.len()));
    let op_count = dry_run.op_count();
    let mut rng = Rng::from_env(5);
    let mut images = 0;
    for crash_point in 0..=op_count {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        let acknowledged = workload(&fs, &edits, encryption);
        for model in CrashModel::ALL {
            let image: Arc<dyn Fs> = Arc::new(fs.crash(model, &mut rng));
            images += 1;
            let recovered = Manifest::open_with(
                Arc::clone(&image),
                Path::new("/db"),
                600,
                encryption.cloned(),
            )
            .unwrap_or_else(|error| {
                panic!("crash point {crash_point}, {model:?}: recovery failed: {error}")
            });
            match (recovered, acknowledged) {
                (Recovered::Fresh, None) => {
                    // A creation cut short must not stand in the way of a new one.
                    image.create_dir_all(Path::new("/db")).unwrap();
                    Manifest::create_with(
                        Arc::clone(&image),
                        Path::new("/db"),
                        Version::new(4),
                        600,
                        encryption.cloned(),
                    )
                    .unwrap_or_else(|error| {
                        panic!("crash point {crash_point}, {model:?}: create failed: {error}")
                    });
                }
                (Recovered::Fresh, Some(_)) => {
                    panic!("crash point {crash_point}, {model:?}: a created manifest vanished")
                }
                (Recovered::Manifest(manifest), acknowledged) => {
                    let floor = acknowledged.unwrap_or(0);
                    let position = versions
                        .iter()
                        .position(|version| version == manifest.version());
                    let position = position.unwrap_or_else(|| {
                        panic!("crash point {crash_point}, {model:?}: a version no prefix produced")
                    });
                    assert!(
                        position >= floor,
                        "crash point {crash_point}, {model:?}: lost acknowledged edits ({position} < {floor})"
                    );
                    assert!(
                        position <= floor + 1,
                        "crash point {crash_point}, {model:?}: more than the edit in flight"
                    );
                    // The recovered manifest takes new edits.
                    let mut manifest = manifest;
                    if let Some(edit) = edits.get(position) {
                        manifest.apply(edit).unwrap();
                    }
                }
            }
        }
    }
    println!(
        "{op_count} operations, {images} crash images, all recovered an acknowledged prefix (encrypted: {})",
        encryption.is_some()
    );
}

/// A crash during recovery (which may cut a torn tail and delete stale files) must leave
/// a directory that still recovers an acknowledged prefix.
#[test]
fn crashes_during_recovery_are_recoverable() {
    let edits = edits();
    let versions = versions();
    let dry_run = SimFs::new();
    workload(&dry_run, &edits, None);
    let op_count = dry_run.op_count();
    let mut rng = Rng::from_env(6);
    let mut images = 0;
    for crash_point in (0..op_count).step_by(3) {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        let floor = workload(&fs, &edits, None).unwrap_or(0);
        for model in [
            CrashModel::TornLast,
            CrashModel::PrefixPerFile,
            CrashModel::DirentSubset,
        ] {
            let first = fs.crash(model, &mut rng);
            let recovery_ops = first.op_count();
            for recovery_crash in 0..4 {
                let image = first.crash(CrashModel::KeepAll, &mut rng);
                image.crash_at(recovery_ops + recovery_crash);
                let _ = Manifest::open(Arc::new(image.clone()), Path::new("/db"), 600);
                let second: Arc<dyn Fs> = Arc::new(image.crash(CrashModel::DropUnsynced, &mut rng));
                images += 1;
                if let Recovered::Manifest(manifest) =
                    Manifest::open(second, Path::new("/db"), 600).unwrap()
                {
                    let position = versions
                        .iter()
                        .position(|version| version == manifest.version())
                        .unwrap();
                    assert!(
                        position >= floor,
                        "a crash during recovery lost acknowledged edits"
                    );
                }
            }
        }
    }
    println!("{images} double-crash images recovered");
}

/// An encrypted manifest: reopens with its key to the same versions, refuses a missing,
/// wrong or unexpected key, holds no key of a table in plaintext, treats a tampered record
/// as corruption, and after a torn tail continues in a new file.
#[test]
fn an_encrypted_manifest_round_trips_and_refuses_other_keys() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    let encryption = encryption();
    let versions = versions();
    let edits = edits();
    let mut manifest = Manifest::create_with(
        Arc::clone(&fs),
        Path::new("/db"),
        Version::new(4),
        1 << 20,
        Some(encryption.clone()),
    )
    .unwrap();
    for edit in &edits[..5] {
        manifest.apply(edit).unwrap();
    }
    drop(manifest);
    let open_with = |encryption: Option<ManifestEncryption>| {
        Manifest::open_with(Arc::clone(&fs), Path::new("/db"), 1 << 20, encryption)
    };
    let Recovered::Manifest(reopened) = open_with(Some(encryption.clone())).unwrap() else {
        panic!("no manifest")
    };
    assert_eq!(reopened.version(), &versions[5]);
    assert_eq!(reopened.generation(), 1);
    drop(reopened);
    assert!(matches!(open_with(None), Err(Error::KeyRequired { .. })));
    let wrong = ManifestEncryption {
        key: EncryptionKey::new([10; 32]),
        ..encryption.clone()
    };
    assert!(matches!(
        open_with(Some(wrong.clone())),
        Err(Error::WrongKey { .. })
    ));
    let path = Path::new("/db/manifest-1");
    let bytes = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    // Table keys ("05a" ... ) never appear in plaintext.
    assert!(!bytes.windows(3).any(|window| window == b"05a"));
    let rewrite = |content: &[u8]| rewrite_file(&fs, path, content);
    // A byte flipped inside a sealed record, with the record's checksum made right
    // again, fails authentication: corruption.
    let mut tampered = bytes.clone();
    let at = 36 + 12 + 5;
    tampered[at] ^= 1;
    let len = u32::from_le_bytes(tampered[36..40].try_into().unwrap()) as usize;
    let checksum = xxhash_rust::xxh3::xxh3_64(&tampered[48..48 + len]);
    tampered[40..48].copy_from_slice(&checksum.to_le_bytes());
    rewrite(&tampered);
    assert!(matches!(
        open_with(Some(encryption.clone())),
        Err(Error::Corruption { .. })
    ));
    // A torn last edit (cut before its commit): the edits before it survive, and the
    // manifest continues in generation 2 (never appending again at the torn offset).
    rewrite(&bytes[..bytes.len() - SEALED_COMMIT_LEN - 5]);
    let Recovered::Manifest(mut manifest) = open_with(Some(encryption.clone())).unwrap() else {
        panic!("no manifest")
    };
    assert_eq!(manifest.version(), &versions[4]);
    assert_eq!(manifest.generation(), 2);
    assert!(!fs.exists(path).unwrap(), "the torn file is gone");
    manifest.apply(&edits[4]).unwrap();
    drop(manifest);
    let Recovered::Manifest(reopened) = open_with(Some(encryption.clone())).unwrap() else {
        panic!("no manifest")
    };
    assert_eq!(reopened.version(), &versions[5]);
    drop(reopened);
    // A new key with the old one as an older epoch: the manifest reads, and moves to a
    // file under the new key at once; then the new key alone opens it.
    let rotated = ManifestEncryption {
        older: vec![encryption.key.clone()],
        ..wrong.clone()
    };
    let Recovered::Manifest(manifest) = open_with(Some(rotated)).unwrap() else {
        panic!("no manifest")
    };
    assert_eq!(manifest.version(), &versions[5]);
    assert_eq!(manifest.generation(), 3);
    drop(manifest);
    let Recovered::Manifest(manifest) = open_with(Some(wrong)).unwrap() else {
        panic!("no manifest")
    };
    assert_eq!(manifest.generation(), 3, "no roll under the current key");
    drop(manifest);
    assert!(matches!(
        open_with(Some(encryption.clone())),
        Err(Error::WrongKey { .. })
    ));
    // A plaintext manifest refuses a key (it may have been put in place of the real one).
    let plain: Arc<dyn Fs> = Arc::new(MemFs::new());
    plain.create_dir_all(Path::new("/db")).unwrap();
    drop(
        Manifest::create(
            Arc::clone(&plain),
            Path::new("/db"),
            Version::new(4),
            1 << 20,
        )
        .unwrap(),
    );
    assert!(matches!(
        Manifest::open_with(plain, Path::new("/db"), 1 << 20, Some(encryption)),
        Err(Error::NotEncrypted { .. })
    ));
}

/// A manifest of reversed keys: runs sorted and checked in that order, the order's name
/// in the snapshot, and another order refused by name before any table is decoded.
#[test]
fn a_manifest_keeps_its_key_order() {
    let order = lsm_testkit::orders::TestOrder::Reversed.key_order();
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    let reversed = |id, min: &str, max: &str| TableMeta {
        key_range: KeyRange::new(&order, min.into(), max.into()),
        ..table(id, "a", "a")
    };
    let edit = VersionEdit {
        added: vec![(1, vec![reversed(1, "z", "n"), reversed(2, "m", "a")])],
        next_table_id: 3,
        ..VersionEdit::default()
    };
    let mut manifest = Manifest::create(
        Arc::clone(&fs),
        Path::new("/db"),
        Version::new_in(4, order.clone()),
        1 << 20,
    )
    .unwrap();
    let expected = manifest.apply(&edit).unwrap().clone();
    assert!(
        expected.levels()[1].runs()[0]
            .table_for_key(&order, b"q")
            .is_some_and(|table| table.id == 1)
    );
    drop(manifest);
    let open_in = |order: &KeyOrder| {
        Manifest::open_in(
            Arc::clone(&fs),
            Path::new("/db"),
            1 << 20,
            None,
            order,
            RecoveryMode::default(),
        )
    };
    match open_in(&order).unwrap() {
        Recovered::Manifest(manifest) => assert_eq!(manifest.version(), &expected),
        Recovered::Fresh => panic!("no manifest"),
    }
    match open_in(&LEX) {
        Err(Error::ComparatorMismatch { stored, supplied }) => {
            assert_eq!(
                (stored.as_str(), supplied),
                ("test.reversed", "lexicographic")
            );
        }
        other => panic!(
            "expected a comparator mismatch, got {:?}",
            other.map(|_| ())
        ),
    }
}

/// A manifest of the first five edits, and where each edit record starts.
fn five_edits() -> (Arc<dyn Fs>, Vec<usize>, Vec<u8>) {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    fs.create_dir_all(Path::new("/db")).unwrap();
    let path = Path::new("/db/manifest-1");
    let mut manifest =
        Manifest::create(Arc::clone(&fs), Path::new("/db"), Version::new(4), 1 << 20).unwrap();
    let mut starts = Vec::new();
    for edit in &edits()[..5] {
        starts.push(lsm_core::fs::read_all(fs.as_ref(), path).unwrap().len());
        manifest.apply(edit).unwrap();
    }
    drop(manifest);
    let bytes = lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    (fs, starts, bytes)
}

fn open_mode(fs: &Arc<dyn Fs>, mode: RecoveryMode) -> lsm_version::Result<Recovered> {
    Manifest::open_in(Arc::clone(fs), Path::new("/db"), 1 << 20, None, &LEX, mode)
}

/// Damage in the second edit (a middle one) and in the last: the strict mode refuses
/// both, the tail mode only the middle one; point-in-time keeps the version before the
/// damage; skipping drops the damaged edit and the compaction that then no longer
/// applies. A recovered manifest continues in a new generation that a strict open reads.
#[test]
fn recovery_modes_choose_what_damage_costs() {
    let edits = edits();
    let versions = versions();
    let skipped_middle = Version::new(4)
        .apply(&edits[0])
        .apply(&edits[2])
        .apply(&edits[4]);
    let modes = [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptedTailRecords,
        RecoveryMode::PointInTimeRecovery,
        RecoveryMode::SkipAnyCorruptedRecords,
    ];
    for (damaged, expected) in [
        (
            1,
            [None, None, Some(versions[1].clone()), Some(skipped_middle)],
        ),
        (
            4,
            [
                None,
                Some(versions[4].clone()),
                Some(versions[4].clone()),
                Some(versions[4].clone()),
            ],
        ),
    ] {
        for (mode, expected) in modes.into_iter().zip(expected) {
            let (fs, starts, mut bytes) = five_edits();
            // A byte inside the edit's payload.
            bytes[starts[damaged] + 12 + 3] ^= 0x10;
            rewrite_file(&fs, Path::new("/db/manifest-1"), &bytes);
            match (open_mode(&fs, mode), expected) {
                (Err(Error::Corruption { .. }), None) => {}
                (Ok(Recovered::Manifest(manifest)), Some(expected)) => {
                    assert_eq!(manifest.version(), &expected, "{mode:?}, edit {damaged}");
                    assert!(!manifest.dropped_records().is_empty(), "{mode:?}");
                    assert_eq!(manifest.generation(), 2, "continues in a new file");
                    drop(manifest);
                    match open_mode(&fs, RecoveryMode::AbsoluteConsistency).unwrap() {
                        Recovered::Manifest(reopened) => {
                            assert_eq!(reopened.version(), &expected);
                            assert!(reopened.dropped_records().is_empty());
                        }
                        Recovered::Fresh => panic!("no manifest"),
                    }
                }
                (other, expected) => panic!(
                    "{mode:?}, edit {damaged}: got {:?}, expected {}",
                    other.map(|_| ()),
                    if expected.is_some() {
                        "a version"
                    } else {
                        "corruption"
                    }
                ),
            }
        }
    }
}
