//! [`StdFs`]: the operating system's file system, through `std::fs`.
//!
//! This is the one module of the engine allowed to use `std::fs`.
#![expect(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the real file system implementation of the Fs seam"
)]

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use super::{DirEntry, Fs, FsFile, FsLock, Metadata, OpenOptions};

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

#[derive(Debug)]
struct StdFile {
    file: File,
    /// Serialises appends; `O_APPEND` is not used because `pwrite` ignores offsets on it.
    append_lock: Mutex<()>,
}

#[derive(Debug)]
struct StdLock {
    _file: File,
}

impl FsLock for StdLock {}

impl Fs for StdFs {
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>> {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(options.write || options.create || options.create_new)
            .create(options.create)
            .create_new(options.create_new)
            .truncate(options.truncate)
            .open(path)?;
        Ok(Box::new(StdFile {
            file,
            append_lock: Mutex::new(()),
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            entries.push(DirEntry {
                path: entry.path(),
                is_dir: entry.file_type()?.is_dir(),
            });
        }
        entries.sort();
        Ok(entries)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        let metadata = fs::metadata(path)?;
        Ok(Metadata {
            len_bytes: if metadata.is_dir() { 0 } else { metadata.len() },
            is_dir: metadata.is_dir(),
        })
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(StdLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Err(fs::TryLockError::Error(error)) => Err(error),
        }
    }

    fn available_space(&self, path: &Path) -> io::Result<u64> {
        let stat = rustix::fs::statvfs(path)?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
}

impl FsFile for StdFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.file.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        let _guard = self
            .append_lock
            .lock()
            .map_err(|_| io::Error::other("append lock poisoned"))?;
        let end = self.file.metadata()?.len();
        self.file.write_all_at(buf, end)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.file.set_len(len_bytes)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}
