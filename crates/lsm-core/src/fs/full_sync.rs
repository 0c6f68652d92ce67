//! [`FullSync`]: an [`Fs`] whose syncs all go as far as [`super::SyncMode::Full`] asks.
//!
//! Every call passes through to the inner file system unchanged, except the syncs:
//! `sync_data` and `sync_all` of its files become [`FsFile::sync_full`], and `sync_dir`
//! becomes [`Fs::sync_dir_full`]. The engine's code never chooses a sync mode itself.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::{DirEntry, Fs, FsFile, FsLock, Metadata, OpenOptions};

/// See the module docs.
#[derive(Debug)]
pub(super) struct FullSync(pub(super) Arc<dyn Fs>);

impl Fs for FullSync {
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>> {
        self.0
            .open(path, options)
            .map(|file| Box::new(FullSyncFile(file)) as Box<dyn FsFile>)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.0.create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.0.read_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.0.remove_file(path)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.0.remove_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.0.sync_dir_full(path)
    }

    fn sync_dir_full(&self, path: &Path) -> io::Result<()> {
        self.0.sync_dir_full(path)
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.0.metadata(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.0.exists(path)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.hard_link(from, to)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        self.0.lock(path)
    }

    fn available_space(&self, path: &Path) -> io::Result<u64> {
        self.0.available_space(path)
    }
}

#[derive(Debug)]
struct FullSyncFile(Box<dyn FsFile>);

impl FsFile for FullSyncFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.0.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.0.append(buf)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_full()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_full()
    }

    fn sync_full(&self) -> io::Result<()> {
        self.0.sync_full()
    }

    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.0.set_len(len_bytes)
    }

    fn len(&self) -> io::Result<u64> {
        self.0.len()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
}
