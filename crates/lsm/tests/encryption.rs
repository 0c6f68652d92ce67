//! Encryption through `Config::with_encryption`: an encrypted tree (standard and blob)
//! writes, flushes, compacts, checkpoints and reopens with its key and answers exactly;
//! no file of the tree (tables, blob files, manifest) holds a key or value in plaintext; the wrong key, no key, a key
//! for a plaintext tree and a provider without a master key are typed errors at open;
//! a sampled tampered byte of a table or blob file is a typed error whenever a read
//! touches it, and never a wrong answer; every tampered byte of the manifest is a typed
//! error at open, but for the bytes of its last commit record, which are harmless.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm::background::MaintenanceOptions;
use lsm::compaction::{CompactionAction, Leveled};
use lsm::encryption::EncryptionProvider;
use lsm::{
    AbstractTree, Aes256GcmProvider, AnyTree, Config, Error, Fs, Guard, KvSeparationOptions, MemFs,
    SeqNo, SequenceNumberCounter, StaticKeyChain,
};
use lsm_testkit::rng::Rng;

const KEY: [u8; 32] = [0x5a; 32];
const KEYS: u32 = 600;

fn config(fs: &Arc<dyn Fs>, path: &str, key: Option<[u8; 32]>, blob: bool) -> Config {
    Config::new(
        path,
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs))
    .with_kv_separation(blob.then(|| KvSeparationOptions::default().separation_threshold(32)))
    .with_encryption(
        key.map(|key| Arc::new(Aes256GcmProvider::new(&key)) as Arc<dyn EncryptionProvider>),
    )
}

fn key_of(i: u32) -> String {
    format!("secret-key-{i:05}")
}

fn value_of(i: u32, round: u32) -> String {
    // Long enough to be separated in the blob tree.
    format!(
        "secret-value-{i:05}-{round}-{}",
        "payload ".repeat(i as usize % 8)
    )
}

/// Three rounds of every key, flushed, then a major compaction.
fn fill(tree: &AnyTree) {
    let mut seqno = 0;
    for round in 0..3 {
        for i in (0..KEYS).filter(|i| (i + round) % 3 != 0) {
            tree.insert(key_of(i), value_of(i, round), seqno);
            seqno += 1;
        }
        tree.flush_active_memtable(0).unwrap();
    }
    tree.major_compact(64 << 10, SeqNo::MAX).unwrap();
    for i in 0..20 {
        tree.insert(key_of(i), value_of(i, 9), seqno);
        seqno += 1;
    }
    tree.flush_active_memtable(0).unwrap();
}

fn expected() -> Vec<(String, String)> {
    (0..KEYS)
        .map(|i| {
            let round = if i < 20 {
                9
            } else {
                (0..3).rev().find(|round| (i + round) % 3 != 0).unwrap()
            };
            (key_of(i), value_of(i, round))
        })
        .collect()
}

/// Every pair by a scan, and every key by a point read.
fn read_all(tree: &AnyTree) -> lsm::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for item in tree.iter(SeqNo::MAX, None) {
        let (key, value) = item.into_inner()?;
        pairs.push((
            String::from_utf8_lossy(&key).into_owned(),
            String::from_utf8_lossy(&value).into_owned(),
        ));
    }
    for i in 0..KEYS {
        tree.get(key_of(i), SeqNo::MAX)?;
    }
    Ok(pairs)
}

/// The data files of the tree at `dir` (tables and blob files).
fn data_files(fs: &Arc<dyn Fs>, dir: &str) -> Vec<PathBuf> {
    ["tables", "blobs"]
        .iter()
        .map(|sub| Path::new(dir).join(sub))
        .filter(|sub| fs.exists(sub).unwrap())
        .flat_map(|sub| fs.read_dir(&sub).unwrap())
        .map(|entry| entry.path)
        .collect()
}

#[test]
fn an_encrypted_tree_round_trips_and_stores_no_plaintext() {
    for blob in [false, true] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = config(&fs, "/db", Some(KEY), blob).open().unwrap();
        fill(&tree);
        assert_eq!(read_all(&tree).unwrap(), expected());
        if blob {
            assert!(tree.blob_file_count() > 0);
        }
        tree.create_checkpoint(Path::new("/checkpoint")).unwrap();
        drop(tree);
        let reopened = config(&fs, "/db", Some(KEY), blob).open().unwrap();
        assert_eq!(read_all(&reopened).unwrap(), expected());
        let checkpoint = config(&fs, "/checkpoint", Some(KEY), blob).open().unwrap();
        assert_eq!(read_all(&checkpoint).unwrap(), expected());
        drop(checkpoint);
        assert!(matches!(
            config(&fs, "/checkpoint", None, blob).open(),
            Err(Error::EncryptionRequired)
        ));
        drop(reopened);
        // Every file of the tree: tables, blob files, the manifest and the marker.
        let mut files = data_files(&fs, "/db");
        files.extend(
            fs.read_dir(Path::new("/db"))
                .unwrap()
                .into_iter()
                .map(|entry| entry.path)
                .filter(|path| fs.metadata(path).is_ok_and(|meta| !meta.is_dir)),
        );
        assert!(
            files
                .iter()
                .any(|path| path.to_string_lossy().contains("manifest-")),
            "{files:?}"
        );
        for path in files {
            let bytes = lsm_core::fs::read_all(fs.as_ref(), &path).unwrap();
            assert!(
                !bytes.windows(7).any(|window| window == b"secret-"),
                "{}: plaintext found",
                path.display()
            );
        }
    }
}

#[test]
fn keys_are_checked_at_open() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, "/db", Some(KEY), false).open().unwrap();
    fill(&tree);
    drop(tree);
    let mut rng = Rng::new(7);
    let mut refused = 0;
    for _ in 0..1_000 {
        let mut wrong = [0_u8; 32];
        for byte in &mut wrong {
            *byte = u8::try_from(rng.index(256)).unwrap();
        }
        if wrong == KEY {
            continue;
        }
        match config(&fs, "/db", Some(wrong), false).open() {
            Err(Error::WrongKey) => refused += 1,
            other => panic!("a wrong key opened the tree: {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(refused, 1_000);
    assert!(matches!(
        config(&fs, "/db", None, false).open(),
        Err(Error::EncryptionRequired)
    ));
    // A plaintext tree refuses a key.
    let plain = config(&fs, "/plain", None, false).open().unwrap();
    fill(&plain);
    drop(plain);
    assert!(matches!(
        config(&fs, "/plain", Some(KEY), false).open(),
        Err(Error::NotEncrypted)
    ));
    // The right key still opens both ways.
    assert_eq!(
        read_all(&config(&fs, "/db", Some(KEY), false).open().unwrap()).unwrap(),
        expected()
    );
    assert_eq!(
        read_all(&config(&fs, "/plain", None, false).open().unwrap()).unwrap(),
        expected()
    );
}

/// Encrypts messages, but has no master key for the tree's files.
struct MessagesOnly;

impl EncryptionProvider for MessagesOnly {
    fn encrypt(&self, plaintext: &[u8]) -> lsm::Result<Vec<u8>> {
        Ok(plaintext.iter().rev().copied().collect())
    }
    fn decrypt(&self, ciphertext: &[u8]) -> lsm::Result<Vec<u8>> {
        Ok(ciphertext.iter().rev().copied().collect())
    }
    fn max_overhead(&self) -> u32 {
        0
    }
}

#[test]
fn providers_without_a_master_key_and_bad_keys_are_refused() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let result = Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(fs)
    .with_encryption(Some(Arc::new(MessagesOnly)))
    .open();
    assert!(matches!(result, Err(Error::Encrypt(_))));
    assert!(matches!(
        Aes256GcmProvider::from_slice(&[1; 31]),
        Err(Error::Encrypt(_))
    ));
    let provider = Aes256GcmProvider::from_slice(&KEY).unwrap();
    let sealed = provider.encrypt(b"message").unwrap();
    assert_eq!(sealed.len(), 7 + Aes256GcmProvider::OVERHEAD);
    assert_eq!(provider.decrypt(&sealed).unwrap(), b"message");
    assert!(matches!(
        Aes256GcmProvider::new(&[1; 32]).decrypt(&sealed),
        Err(Error::Decrypt(_))
    ));
    assert!(provider.supports_aad_block_path());
    assert!(!MessagesOnly.supports_aad_block_path());
}

#[test]
fn tampered_bytes_are_typed_errors() {
    let started = std::time::Instant::now();
    let mut cases = 0;
    for blob in [false, true] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = config(&fs, "/db", Some(KEY), blob).open().unwrap();
        fill(&tree);
        drop(tree);
        let (mut refused, mut unread) = (0, 0);
        for path in data_files(&fs, "/db") {
            let original = lsm_core::fs::read_all(fs.as_ref(), &path).unwrap();
            // Every 37th byte, and the last ones (the footer).
            let positions = (0..original.len())
                .step_by(37)
                .chain(original.len().saturating_sub(48)..original.len());
            for at in positions {
                let mut bytes = original.clone();
                bytes[at] ^= 0x10;
                write(&fs, &path, &bytes);
                let outcome = config(&fs, "/db", Some(KEY), blob)
                    .open()
                    .and_then(|tree| read_all(&tree));
                match outcome {
                    Err(_) => refused += 1,
                    // A byte no read touches (a blob file whose values are all
                    // overwritten): the answers must be exactly right.
                    Ok(pairs) => {
                        assert_eq!(
                            pairs,
                            expected(),
                            "{} byte {at}: a wrong answer",
                            path.display()
                        );
                        unread += 1;
                    }
                }
            }
            write(&fs, &path, &original);
        }
        let damaged_bytes = refused;
        println!("blob tree {blob}: {refused} flipped bytes refused, {unread} never read");
        assert!(damaged_bytes > 100, "{damaged_bytes}");
        assert_eq!(
            read_all(&config(&fs, "/db", Some(KEY), blob).open().unwrap()).unwrap(),
            expected()
        );
        cases += refused + unread;
    }
    lsm_testkit::reliability::record(
        "G8",
        "encryption: tampered bytes of encrypted tables and blob files",
        cases as u64,
        "cases",
        started,
    );
}

/// Every byte of the manifest flipped, in an encrypted and a plaintext tree: the open is
/// a typed error, or the byte was in the last commit record (read as a torn commit: the
/// edit before it stands) and every answer is exact. Never a rollback of a recorded
/// flush or compaction.
#[test]
fn every_flipped_manifest_byte_is_refused_or_harmless() {
    for key in [Some(KEY), None] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = config(&fs, "/db", key, false).open().unwrap();
        fill(&tree);
        drop(tree);
        let files = all_files(&fs, Path::new("/db"));
        let (manifest, original) = files
            .iter()
            .find(|(path, _)| path.to_string_lossy().contains("manifest-"))
            .cloned()
            .unwrap();
        let commit_len = if key.is_some() { 12 + 9 + 16 } else { 12 + 9 };
        let commit_start = original.len() - commit_len;
        let (mut refused, mut harmless) = (0, 0);
        for at in 0..original.len() {
            let copy: Arc<dyn Fs> = Arc::new(MemFs::new());
            for (path, bytes) in &files {
                copy.create_dir_all(path.parent().unwrap()).unwrap();
                let mut bytes = bytes.clone();
                if *path == manifest {
                    bytes[at] ^= 0x08;
                }
                write_new(&copy, path, &bytes);
            }
            match config(&copy, "/db", key, false)
                .open()
                .and_then(|tree| read_all(&tree))
            {
                Err(_) => refused += 1,
                Ok(pairs) => {
                    assert!(
                        at >= commit_start,
                        "byte {at} before the last commit is read"
                    );
                    assert_eq!(pairs, expected(), "byte {at}: a wrong answer");
                    harmless += 1;
                }
            }
        }
        println!(
            "key {}: {refused} flipped manifest bytes refused, {harmless} harmless",
            key.is_some()
        );
        // A commit's length flipped shorter reads as damage before other bytes: refused.
        assert!(
            refused >= commit_start && harmless > 0,
            "{refused} {harmless}"
        );
    }
}

/// Every file under `dir` with its bytes.
fn all_files(fs: &Arc<dyn Fs>, dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in fs.read_dir(dir).unwrap() {
        if entry.is_dir {
            files.extend(all_files(fs, &entry.path));
        } else if entry.path.file_name() != Some("lock".as_ref()) {
            let bytes = lsm_core::fs::read_all(fs.as_ref(), &entry.path).unwrap();
            files.push((entry.path, bytes));
        }
    }
    files
}

fn write_new(fs: &Arc<dyn Fs>, path: &Path, bytes: &[u8]) {
    fs.open(path, lsm_core::OpenOptions::create_new())
        .unwrap()
        .append(bytes)
        .unwrap();
}

fn write(fs: &Arc<dyn Fs>, path: &Path, bytes: &[u8]) {
    fs.remove_file(path).unwrap();
    fs.open(path, lsm_core::OpenOptions::create_new())
        .unwrap()
        .append(bytes)
        .unwrap();
}

const NEW_KEY: [u8; 32] = [0xa5; 32];

fn config_with(fs: &Arc<dyn Fs>, provider: Aes256GcmProvider, blob: bool) -> Config {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs))
    .with_kv_separation(blob.then(|| KvSeparationOptions::default().separation_threshold(32)))
    .with_encryption(Some(Arc::new(provider)))
}

/// A tree written under key epoch 0 opens with a chain whose current epoch is 1: every
/// file reads, the marker and the manifest move to the new key at once, and compaction
/// steps with nothing else to do rewrite the tables and blob files until the rotation
/// debt is 0; then the new key alone opens the tree and the old one is refused.
#[test]
fn keys_rotate_through_compaction() {
    for blob in [false, true] {
        let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
        let tree = config_with(&fs, Aes256GcmProvider::new(&KEY), blob)
            .open()
            .unwrap();
        fill(&tree);
        assert_eq!(tree.rotation_debt(), 0);
        drop(tree);
        let chain = StaticKeyChain::new(&KEY).with_key(1, &NEW_KEY);
        let tree = config_with(&fs, Aes256GcmProvider::with_key_chain(chain), blob)
            .open()
            .unwrap();
        assert_eq!(read_all(&tree).unwrap(), expected());
        let debt = tree.rotation_debt();
        assert!(debt > 0);
        let strategy = Arc::new(Leveled::default());
        let mut steps = 0;
        while tree.compact(strategy.clone(), SeqNo::MAX).unwrap().action
            != CompactionAction::Nothing
        {
            steps += 1;
            assert!(steps < 1_000, "rotation does not finish");
        }
        assert_eq!(tree.rotation_debt(), 0, "after {steps} steps");
        assert_eq!(read_all(&tree).unwrap(), expected());
        drop(tree);
        let tree = config_with(&fs, Aes256GcmProvider::new(&NEW_KEY), blob)
            .open()
            .unwrap();
        assert_eq!(read_all(&tree).unwrap(), expected());
        drop(tree);
        assert!(matches!(
            config_with(&fs, Aes256GcmProvider::new(&KEY), blob).open(),
            Err(Error::WrongKey)
        ));
    }
}

/// With background maintenance, an idle tree rotates on its own.
#[test]
fn an_idle_tree_rotates_in_the_background() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config_with(&fs, Aes256GcmProvider::new(&KEY), true)
        .open()
        .unwrap();
    fill(&tree);
    drop(tree);
    let chain = || StaticKeyChain::new(&KEY).with_key(7, &NEW_KEY);
    // Opened without background work first, so that the debt is seen before the
    // background threads may pay it.
    let tree = config_with(&fs, Aes256GcmProvider::with_key_chain(chain()), true)
        .open()
        .unwrap();
    assert!(tree.rotation_debt() > 0);
    drop(tree);
    let tree = config_with(&fs, Aes256GcmProvider::with_key_chain(chain()), true)
        .with_background_maintenance(Some(MaintenanceOptions::default()))
        .open()
        .unwrap();
    // Waits for the background threads (a hang guard, not a timing measurement).
    let started = std::time::Instant::now();
    while tree.rotation_debt() > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the background threads did not rotate the keys"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(read_all(&tree).unwrap(), expected());
    drop(tree);
    let tree = config_with(&fs, Aes256GcmProvider::new(&NEW_KEY), true)
        .open()
        .unwrap();
    assert_eq!(read_all(&tree).unwrap(), expected());
}

/// Two table files of an encrypted tree swapped: a typed error, never the other file's
/// answers (each table's footer names its id, and its blocks are bound to it).
#[test]
fn swapped_files_are_typed_errors() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs, "/db", Some(KEY), false).open().unwrap();
    fill(&tree);
    tree.major_compact(16 << 10, SeqNo::MAX).unwrap();
    drop(tree);
    let mut tables = data_files(&fs, "/db");
    tables.sort();
    assert!(tables.len() >= 2, "{tables:?}");
    let read = |path: &Path| lsm_core::fs::read_all(fs.as_ref(), path).unwrap();
    let (first, second) = (read(&tables[0]), read(&tables[1]));
    write(&fs, &tables[0], &second);
    write(&fs, &tables[1], &first);
    let outcome = config(&fs, "/db", Some(KEY), false)
        .open()
        .and_then(|tree| read_all(&tree));
    assert!(outcome.is_err(), "swapped tables read without an error");
    write(&fs, &tables[0], &first);
    write(&fs, &tables[1], &second);
    assert_eq!(
        read_all(&config(&fs, "/db", Some(KEY), false).open().unwrap()).unwrap(),
        expected()
    );
}

/// A table of another tree under the same master key, copied in place of this tree's
/// table of the same id: its key is scoped to the other tree, so it does not open.
#[test]
fn a_table_from_another_tree_under_the_same_key_does_not_open() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    for dir in ["/db", "/other"] {
        let tree = config(&fs, dir, Some(KEY), false).open().unwrap();
        fill(&tree);
    }
    let ours = data_files(&fs, "/db");
    let theirs = data_files(&fs, "/other");
    let names = |files: &[PathBuf]| -> Vec<_> {
        files
            .iter()
            .map(|path| path.file_name().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&ours), names(&theirs), "the same ids in both trees");
    let target = &ours[0];
    let source = &theirs[0];
    write(
        &fs,
        target,
        &lsm_core::fs::read_all(fs.as_ref(), source).unwrap(),
    );
    let outcome = config(&fs, "/db", Some(KEY), false)
        .open()
        .and_then(|tree| read_all(&tree));
    assert!(
        matches!(outcome, Err(Error::Table(_))),
        "a transplanted table opened: {:?}",
        outcome.map(|pairs| pairs.len())
    );
}
