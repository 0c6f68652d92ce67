//! Blob garbage from table references: what a merge kills, what a move keeps, and the
//! blob files removed once nothing points into them.
#![allow(clippy::unwrap_used, reason = "tests")]

use lsm_core::KeyRange;
use lsm_version::{BlobFileInfo, BlobGarbage, BlobRef, TableMeta, Version, VersionEdit};

fn table(id: u64, min: &str, max: &str, refs: &[(u64, u64, u64)]) -> TableMeta {
    TableMeta {
        id,
        key_range: KeyRange::new(&lsm_core::KeyOrder::lexicographic(), min.into(), max.into()),
        seqno_min: 1,
        seqno_max: 2,
        size_bytes: 100,
        entry_count: 10,
        tombstone_count: 0,
        blob_refs: refs
            .iter()
            .map(|&(file_id, frames, value_bytes)| BlobRef {
                file_id,
                frames,
                value_bytes,
            })
            .collect(),
        digest: None,
        global_seqno: None,
    }
}

/// Two flushed tables pointing into blob files 1 (10 values) and 2 (4 values).
fn flushed() -> Version {
    let edit = VersionEdit {
        added: vec![(
            0,
            vec![
                table(1, "a", "m", &[(1, 6, 600), (2, 4, 400)]),
                table(2, "n", "z", &[(1, 4, 400)]),
            ],
        )],
        added_blob_files: vec![
            BlobFileInfo::new(1, 10, 1000, 1100),
            BlobFileInfo::new(2, 4, 400, 500),
        ],
        ..VersionEdit::default()
    };
    Version::new(3).apply(&edit)
}

#[test]
fn a_merge_kills_what_its_outputs_no_longer_reference() {
    let version = flushed();
    // Merge both into one table that keeps 7 values of file 1 and none of file 2.
    let mut edit = VersionEdit {
        removed: vec![1, 2],
        added: vec![(1, vec![table(3, "a", "z", &[(1, 7, 700)])])],
        ..VersionEdit::default()
    };
    edit.credit_blob_garbage(&version);
    assert_eq!(
        edit.blob_garbage,
        [BlobGarbage {
            file_id: 1,
            frames: 3,
            value_bytes: 300
        }]
    );
    assert_eq!(edit.removed_blob_files, [2]);
    let after = version.apply(&edit);
    after.validate();
    assert_eq!(after.blob_file_count(), 1);
    assert_eq!(after.stale_blob_bytes(), 300);
    let info = after.blob_files()[&1];
    assert!((info.dead_ratio() - 0.3).abs() < 1e-9);
    assert_eq!(
        after.tables().next().unwrap().blob_ref(1).unwrap().frames,
        7
    );
}

#[test]
fn a_move_kills_nothing_and_a_drop_kills_everything_referenced() {
    let version = flushed();
    let moved = version.tables().map(|t| (**t).clone()).collect();
    let mut edit = VersionEdit {
        removed: vec![1, 2],
        added: vec![(1, moved)],
        ..VersionEdit::default()
    };
    edit.credit_blob_garbage(&version);
    assert!(edit.blob_garbage.is_empty() && edit.removed_blob_files.is_empty());

    let mut edit = VersionEdit {
        removed: vec![2],
        ..VersionEdit::default()
    };
    edit.credit_blob_garbage(&version);
    assert_eq!(edit.blob_garbage.len(), 1);
    assert_eq!(edit.blob_garbage[0].frames, 4);
    let after = version.apply(&edit);
    let mut edit = VersionEdit {
        removed: vec![1],
        ..VersionEdit::default()
    };
    edit.credit_blob_garbage(&after);
    let mut removed = edit.removed_blob_files.clone();
    removed.sort_unstable();
    assert_eq!(removed, [1, 2]);
    let empty = after.apply(&edit);
    empty.validate();
    assert_eq!((empty.blob_file_count(), empty.stale_blob_bytes()), (0, 0));
}

#[test]
fn blob_references_round_trip_and_must_ascend() {
    let meta = table(7, "a", "b", &[(3, 1, 10), (9, 2, 20)]);
    let mut bytes = Vec::new();
    meta.encode_into(&mut bytes);
    let decoded = TableMeta::decode_from(
        &mut lsm_core::coding::Decoder::new(&bytes),
        &lsm_core::KeyOrder::lexicographic(),
    )
    .unwrap();
    assert_eq!(decoded, meta);
    let unordered = table(7, "a", "b", &[(9, 1, 10), (3, 2, 20)]);
    let mut bytes = Vec::new();
    unordered.encode_into(&mut bytes);
    assert!(
        TableMeta::decode_from(
            &mut lsm_core::coding::Decoder::new(&bytes),
            &lsm_core::KeyOrder::lexicographic(),
        )
        .is_err()
    );
}

#[test]
fn the_dead_ratio_of_empty_values_counts_frames() {
    let empty = |dead_frames| BlobFileInfo {
        dead_frames,
        ..BlobFileInfo::new(1, 4, 0, 200)
    };
    assert!(empty(0).dead_ratio().abs() < 1e-9);
    assert!((empty(1).dead_ratio() - 0.25).abs() < 1e-9);
    assert!((empty(4).dead_ratio() - 1.0).abs() < 1e-9);
    let no_frames = BlobFileInfo::new(2, 0, 0, 100);
    assert!(no_frames.is_dead());
    assert!((no_frames.dead_ratio() - 1.0).abs() < 1e-9);
}
