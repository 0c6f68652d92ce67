//! `Config::sync_mode`: with `SyncMode::Full` every sync the tree issues (tables, blob
//! files, manifest, directories) asks the file system for a full sync, and with
//! `Normal` none does.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lsm::fs::{DirEntry, Fs, FsFile, FsLock, MemFs, Metadata, OpenOptions, SyncMode};
use lsm::{AbstractTree, Config, KvSeparationOptions, SeqNo, SequenceNumberCounter};

/// Syncs asked for, by kind.
#[derive(Debug, Default)]
struct Syncs {
    plain: AtomicUsize,
    full: AtomicUsize,
}

/// `MemFs`, counting the syncs asked of it.
#[derive(Debug)]
struct Counting {
    inner: MemFs,
    syncs: Arc<Syncs>,
}

#[derive(Debug)]
struct CountingFile {
    inner: Box<dyn FsFile>,
    syncs: Arc<Syncs>,
}

impl Fs for Counting {
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>> {
        let inner = self.inner.open(path, options)?;
        Ok(Box::new(CountingFile {
            inner,
            syncs: Arc::clone(&self.syncs),
        }))
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.inner.read_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.syncs.plain.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_dir(path)
    }
    fn sync_dir_full(&self, path: &Path) -> io::Result<()> {
        self.syncs.full.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_dir(path)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.inner.metadata(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.hard_link(from, to)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        self.inner.lock(path)
    }
    fn available_space(&self, path: &Path) -> io::Result<u64> {
        self.inner.available_space(path)
    }
}

impl FsFile for CountingFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.inner.write_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.append(buf)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.syncs.plain.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.syncs.plain.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_all()
    }
    fn sync_full(&self) -> io::Result<()> {
        self.syncs.full.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_all()
    }
    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.inner.set_len(len_bytes)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}

/// Opens a blob tree on a counting file system, writes, flushes, compacts and reopens;
/// returns the syncs asked for.
fn run(mode: SyncMode) -> (usize, usize) {
    let syncs = Arc::new(Syncs::default());
    let fs: Arc<dyn Fs> = Arc::new(Counting {
        inner: MemFs::new(),
        syncs: Arc::clone(&syncs),
    });
    let open = || {
        Config::new(
            "/db",
            SequenceNumberCounter::default(),
            SequenceNumberCounter::default(),
        )
        .with_shared_fs(Arc::clone(&fs))
        .with_kv_separation(Some(
            KvSeparationOptions::default().separation_threshold(16),
        ))
        .manifest_log_rotate_bytes(0)
        .sync_mode(mode)
        .open()
        .unwrap()
    };
    let tree = open();
    for round in 0..3_u64 {
        for i in 0..100_u64 {
            tree.insert(
                format!("key{i:03}"),
                format!("{round}:{}", "v".repeat(40)),
                round * 100 + i,
            );
        }
        tree.flush_active_memtable(0).unwrap();
    }
    tree.major_compact(1 << 20, SeqNo::MAX).unwrap();
    drop(tree);
    let tree = open();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 100);
    (
        syncs.plain.load(Ordering::Relaxed),
        syncs.full.load(Ordering::Relaxed),
    )
}

#[test]
fn full_sync_mode_asks_for_a_full_sync_every_time() {
    let (plain, full) = run(SyncMode::Full);
    assert_eq!(plain, 0, "no plain sync in full mode");
    assert!(full > 10, "{full} full syncs");
    let (plain, full) = run(SyncMode::Normal);
    assert_eq!(full, 0, "no full sync in normal mode");
    assert!(plain > 10, "{plain} plain syncs");
}
