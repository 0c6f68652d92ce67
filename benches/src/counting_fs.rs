//! [`CountingFs`]: the real file system, counting the bytes written through it (what
//! write amplification is measured in: every table, manifest and pointer byte).

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lsm_core::{DirEntry, Fs, FsFile, FsLock, Metadata, OpenOptions, StdFs};

/// `StdFs` with a counter of bytes written.
#[derive(Debug, Default, Clone)]
pub(crate) struct CountingFs {
    written: Arc<AtomicU64>,
}

impl CountingFs {
    /// Bytes written so far.
    pub(crate) fn written_bytes(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct CountingFile {
    inner: Box<dyn FsFile>,
    written: Arc<AtomicU64>,
}

impl Fs for CountingFs {
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(CountingFile {
            inner: StdFs.open(path, options)?,
            written: Arc::clone(&self.written),
        }))
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFs.create_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        StdFs.read_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        StdFs.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        StdFs.remove_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        StdFs.sync_dir(path)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        StdFs.metadata(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFs.hard_link(from, to)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        StdFs.lock(path)
    }
    fn available_space(&self, path: &Path) -> io::Result<u64> {
        StdFs.available_space(path)
    }
}

impl FsFile for CountingFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let written = self.inner.write_at(buf, offset)?;
        self.written.fetch_add(written as u64, Ordering::Relaxed);
        Ok(written)
    }
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.append(buf)?;
        self.written.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.inner.sync_all()
    }
    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.inner.set_len(len_bytes)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}
