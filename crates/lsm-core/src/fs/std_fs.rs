//! [`StdFs`]: the operating system's file system, through `std::fs`.
//!
//! This is the one module of the engine allowed to use `std::fs`. It builds wherever
//! Rust's standard library does; the calls that differ by platform sit behind `cfg`,
//! each with a portable fallback:
//! - positional reads and writes: `pread`/`pwrite` on Unix, `seek_read`/`seek_write` on
//!   Windows, elsewhere a seek and a read or write under the file's lock;
//! - directory sync: `fsync` of the directory on Unix; elsewhere a no-op (Windows
//!   journals directory entries with the file system's metadata and cannot open a
//!   directory for a sync through `std`);
//! - free space: `statvfs` on Unix; elsewhere `ErrorKind::Unsupported`;
//! - the directory lock: `File::try_lock` from `std`, on every platform.
//!
//! Only Linux is tested (CI runs on x86-64 Linux).
#![expect(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the real file system implementation of the Fs seam"
)]

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::{DirEntry, Fs, FsFile, FsLock, Metadata, OpenOptions};

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

#[derive(Debug)]
struct StdFile {
    file: File,
    /// Serialises appends (`O_APPEND` is not used because `pwrite` ignores offsets on
    /// it) and, where reads and writes go through the file cursor, every use of it.
    /// Holds where this handle's next append goes, once known: the file's length is
    /// read at the first append (a `statx`), then followed, and forgotten by a
    /// positional write, a length change, or a failed append through this handle (a
    /// file is appended to through one handle at a time).
    lock: Mutex<Option<u64>>,
}

impl StdFile {
    fn lock(&self) -> io::Result<MutexGuard<'_, Option<u64>>> {
        self.lock
            .lock()
            .map_err(|_| io::Error::other("file lock poisoned"))
    }
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
            lock: Mutex::new(None),
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
        if cfg!(unix) {
            File::open(path)?.sync_all()
        } else {
            // See the module docs: no directory sync outside Unix; the directory must
            // still exist.
            fs::metadata(path).map(|_| ())
        }
    }

    #[cfg(target_vendor = "apple")]
    fn sync_dir_full(&self, path: &Path) -> io::Result<()> {
        rustix::fs::fcntl_fullfsync(&File::open(path)?).map_err(io::Error::from)
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
        available_space(path)
    }
}

impl FsFile for StdFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        positional::read_at(self, buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let mut end = self.lock()?;
        *end = None;
        positional::write_at_locked(self, buf, offset)
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        let mut end = self.lock()?;
        let at = match *end {
            Some(at) => at,
            None => self.file.metadata()?.len(),
        };
        *end = None;
        super::write_all_with(buf, at, |part, at| {
            positional::write_at_locked(self, part, at)
        })?;
        *end = Some(at + buf.len() as u64);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    #[cfg(target_vendor = "apple")]
    fn sync_full(&self) -> io::Result<()> {
        rustix::fs::fcntl_fullfsync(&self.file).map_err(io::Error::from)
    }

    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        let mut end = self.lock()?;
        *end = None;
        self.file.set_len(len_bytes)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

#[cfg(unix)]
fn available_space(path: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn available_space(_path: &Path) -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no free-space probe on this platform",
    ))
}

/// Reads and writes at an offset, by platform (see the module docs).
mod positional {
    use std::io;

    use super::StdFile;

    /// Reads at `offset`.
    pub(super) fn read_at(file: &StdFile, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_at(&file.file, buf, offset)
        }
        #[cfg(windows)]
        {
            std::os::windows::fs::FileExt::seek_read(&file.file, buf, offset)
        }
        #[cfg(not(any(unix, windows)))]
        {
            let _guard = file.lock()?;
            cursor::read_at(&file.file, buf, offset)
        }
    }

    /// Writes at `offset`; the caller holds the file's lock where the platform needs it.
    pub(super) fn write_at_locked(file: &StdFile, buf: &[u8], offset: u64) -> io::Result<usize> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::write_at(&file.file, buf, offset)
        }
        #[cfg(windows)]
        {
            std::os::windows::fs::FileExt::seek_write(&file.file, buf, offset)
        }
        #[cfg(not(any(unix, windows)))]
        {
            cursor::write_at(&file.file, buf, offset)
        }
    }

    /// The fallback through the file cursor; callers hold the file's lock. Compiled on
    /// every platform so that its tests run where CI does.
    #[cfg_attr(
        all(any(unix, windows), not(test)),
        expect(dead_code, reason = "the fallback of platforms without positional I/O")
    )]
    pub(super) mod cursor {
        use std::fs::File;
        use std::io::{self, Read, Seek, SeekFrom, Write};

        pub(in super::super) fn read_at(
            mut file: &File,
            buf: &mut [u8],
            offset: u64,
        ) -> io::Result<usize> {
            file.seek(SeekFrom::Start(offset))?;
            file.read(buf)
        }

        pub(in super::super) fn write_at(
            mut file: &File,
            buf: &[u8],
            offset: u64,
        ) -> io::Result<usize> {
            file.seek(SeekFrom::Start(offset))?;
            file.write(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::positional::cursor;

    #[test]
    fn the_cursor_fallback_reads_and_writes_at_offsets() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        assert_eq!(cursor::write_at(&file, b"ab", 3).unwrap(), 2);
        assert_eq!(cursor::write_at(&file, b"yz", 12).unwrap(), 2);
        let mut buf = [0; 6];
        assert_eq!(cursor::read_at(&file, &mut buf, 1).unwrap(), 6);
        assert_eq!(&buf, b"12ab56");
        let mut tail = [0; 8];
        let read = cursor::read_at(&file, &mut tail, 10).unwrap();
        assert_eq!(&tail[..read], b"\0\0yz");
        assert_eq!(cursor::read_at(&file, &mut tail, 14).unwrap(), 0);
    }
}
