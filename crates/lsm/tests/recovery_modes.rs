//! `Config::manifest_recovery_mode` through the facade: a manifest with a damaged middle
//! edit refuses the strict open with a typed error; point-in-time recovery opens the tree
//! as of the flush before the damage, drops the later tables as orphans, and the tree
//! then reopens strictly and takes writes.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;

use lsm::config::ManifestRecoveryMode;
use lsm::{AbstractTree, Config, Error, Fs, Guard, MemFs, SeqNo, SequenceNumberCounter};

fn config(fs: &Arc<dyn Fs>, mode: ManifestRecoveryMode) -> Config {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs))
    .manifest_recovery_mode(mode)
}

fn keys(tree: &impl AbstractTree) -> Vec<String> {
    tree.iter(SeqNo::MAX, None)
        .map(|item| String::from_utf8(item.key().unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn point_in_time_recovery_keeps_the_version_before_the_damage() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let manifest = Path::new("/db/manifest-1");
    let tree = config(&fs, ManifestRecoveryMode::default()).open().unwrap();
    let mut edit_starts = Vec::new();
    for (seqno, key) in ["a", "b", "c"].iter().enumerate() {
        tree.insert(*key, "v", seqno as SeqNo);
        edit_starts.push(lsm_core::fs::read_all(fs.as_ref(), manifest).unwrap().len());
        tree.flush_active_memtable(0).unwrap();
    }
    drop(tree);
    let mut bytes = lsm_core::fs::read_all(fs.as_ref(), manifest).unwrap();
    // A byte in the second flush's edit.
    bytes[edit_starts[1] + 12 + 3] ^= 0x10;
    fs.remove_file(manifest).unwrap();
    fs.open(manifest, lsm_core::OpenOptions::create_new())
        .unwrap()
        .append(&bytes)
        .unwrap();
    assert!(matches!(
        config(&fs, ManifestRecoveryMode::AbsoluteConsistency).open(),
        Err(Error::Manifest(lsm_version::Error::Corruption { .. }))
    ));
    let recovered = config(&fs, ManifestRecoveryMode::PointInTimeRecovery)
        .open()
        .unwrap();
    assert_eq!(keys(&recovered), ["a"]);
    assert_eq!(recovered.table_count(), 1);
    assert_eq!(
        fs.read_dir(Path::new("/db/tables")).unwrap().len(),
        1,
        "the later flushes' tables went as orphans"
    );
    recovered.insert("d", "v", 10);
    recovered.flush_active_memtable(0).unwrap();
    drop(recovered);
    let strict = config(&fs, ManifestRecoveryMode::AbsoluteConsistency)
        .open()
        .unwrap();
    assert_eq!(keys(&strict), ["a", "d"]);
}
