//! The fuzz target body: arbitrary bytes as a manifest file behind a valid pointer. The
//! `fuzz/` target calls it, and `cargo test` runs it over the checked-in corpus in
//! `fuzz/corpus/manifest_replay/` plus seeded mutations of it.

use std::path::Path;
use std::sync::Arc;

use lsm_core::{Fs, MemFs, OpenOptions};

use crate::{Manifest, Recovered, VersionEdit};

/// Recovers a manifest whose generation-1 file holds `data`: an error or a valid version,
/// never a panic; a recovered manifest must take a new edit.
pub fn manifest_replay(data: &[u8]) {
    let fs = Arc::new(MemFs::new());
    let dir = Path::new("/db");
    if fs.create_dir_all(dir).is_err() {
        return;
    }
    let mut current = crate::layout::CURRENT_MAGIC.to_vec();
    current.extend_from_slice(&1_u64.to_le_bytes());
    let checksum = xxhash_rust::xxh3::xxh3_64(&current);
    current.extend_from_slice(&checksum.to_le_bytes());
    let write = |name: &str, bytes: &[u8]| {
        fs.open(&dir.join(name), OpenOptions::create_new())
            .and_then(|file| file.append(bytes))
            .is_ok()
    };
    if !write("current", &current) || !write("manifest-1", data) {
        return;
    }
    if let Ok(Recovered::Manifest(mut manifest)) = Manifest::open(fs, dir, 1 << 20) {
        manifest.version().validate();
        let edit = VersionEdit {
            next_table_id: manifest.version().next_table_id(),
            ..VersionEdit::default()
        };
        manifest
            .apply(&edit)
            .expect("an empty edit applies to a recovered manifest");
    }
}

#[cfg(test)]
mod tests {
    use lsm_core::KeyRange;

    use super::*;
    use crate::{TableMeta, Version};

    #[test]
    fn manifest_replay_corpus() {
        lsm_testkit::fuzz::replay("manifest_replay", 10_000, manifest_replay);
    }

    /// Writes a seed manifest (never overwriting a file): a generator that `cargo xtask fixtures`
    /// runs, not a check.
    #[test]
    #[ignore = "issue 2: corpus generator, run by cargo xtask fixtures"]
    fn write_seed_corpus() {
        let fs = Arc::new(MemFs::new());
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let mut manifest = Manifest::create(fs.clone(), dir, Version::new(3), 1 << 20).unwrap();
        for id in 1..4_u64 {
            let table = TableMeta {
                id,
                key_range: KeyRange::new(
                    &lsm_core::KeyOrder::lexicographic(),
                    format!("k{id}a").into(),
                    format!("k{id}z").into(),
                ),
                seqno_min: id,
                seqno_max: id + 5,
                size_bytes: 100,
                entry_count: 3,
                tombstone_count: 0,
                blob_refs: Vec::new(),
                digest: Some(id * 7919),
                global_seqno: (id % 3 == 0).then_some(id * 31),
            };
            let edit = VersionEdit {
                added: vec![(0, vec![table])],
                next_table_id: id + 1,
                last_seqno: id * 10,
                added_blob_files: vec![crate::BlobFileInfo::new(id, 4, 400, 500)],
                next_blob_file_id: id + 1,
                ..VersionEdit::default()
            };
            manifest.apply(&edit).unwrap();
        }
        let removal = VersionEdit {
            removed: vec![2],
            next_table_id: 4,
            removed_blob_files: vec![1],
            blob_garbage: vec![crate::BlobGarbage {
                file_id: 2,
                frames: 2,
                value_bytes: 200,
            }],
            ..VersionEdit::default()
        };
        manifest.apply(&removal).unwrap();
        let bytes = lsm_core::fs::read_all(fs.as_ref(), &dir.join("manifest-1")).unwrap();
        lsm_testkit::fuzz::write_seed("manifest_replay", "four-edits-with-blob-files", &bytes);
    }
}
