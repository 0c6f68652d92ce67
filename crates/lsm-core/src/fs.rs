//! The file-system seam: every byte the engine reads or writes goes through [`Fs`].
//!
//! Engine crates never touch `std::fs` (clippy's `disallowed-types` enforces it); they take
//! an `Arc<dyn Fs>` chosen at open time. [`StdFs`] is the real file system; [`MemFs`] keeps
//! files in memory; the test kit adds a crash-simulating and a fault-injecting one.
//!
//! Durability is explicit: a write is durable only after `sync_data`/`sync_all` on its
//! file, and a create, rename or remove only after `sync_dir` on its directory. No
//! implementation may make anything durable as a side effect of `drop`.

mod descriptor_cache;
mod full_sync;
mod mem_fs;
mod routed;
mod std_fs;

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};

pub use descriptor_cache::{DescriptorCache, ReadFile};
pub use mem_fs::MemFs;
pub use routed::routed;
pub use std_fs::StdFs;

/// How thoroughly the engine's syncs reach the storage device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SyncMode {
    /// `fsync` (or the platform's plain sync): durable as the operating system promises.
    #[default]
    Normal,
    /// Past the device's volatile write cache where the platform tells the two apart
    /// (macOS: `F_FULLFSYNC`; elsewhere the same as `Normal`).
    Full,
}

/// `fs` with every sync of a file or directory made as `mode` asks.
#[must_use]
pub fn with_sync_mode(fs: std::sync::Arc<dyn Fs>, mode: SyncMode) -> std::sync::Arc<dyn Fs> {
    match mode {
        SyncMode::Normal => fs,
        SyncMode::Full => std::sync::Arc::new(full_sync::FullSync(fs)),
    }
}

/// How to open a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Allow writes.
    pub write: bool,
    /// Create the file when it does not exist.
    pub create: bool,
    /// Fail when the file exists (implies `create`).
    pub create_new: bool,
    /// Truncate an existing file to zero length.
    pub truncate: bool,
}

impl OpenOptions {
    /// Read an existing file.
    #[must_use]
    pub fn read() -> Self {
        Self::default()
    }

    /// Create a new file for writing; fail when it exists.
    #[must_use]
    pub fn create_new() -> Self {
        Self {
            write: true,
            create: true,
            create_new: true,
            truncate: false,
        }
    }

    /// Open for writing, creating the file when missing and keeping its contents.
    #[must_use]
    pub fn write() -> Self {
        Self {
            write: true,
            create: true,
            create_new: false,
            truncate: false,
        }
    }
}

/// What [`Fs::metadata`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Length in bytes (0 for directories).
    pub len_bytes: u64,
    /// Whether the path is a directory.
    pub is_dir: bool,
}

/// One entry of [`Fs::read_dir`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirEntry {
    /// The entry's full path.
    pub path: PathBuf,
    /// Whether it is a directory.
    pub is_dir: bool,
}

impl DirEntry {
    /// The entry's file name, if it is valid UTF-8.
    #[must_use]
    pub fn file_name(&self) -> Option<&str> {
        self.path.file_name().and_then(|name| name.to_str())
    }
}

/// A file system.
pub trait Fs: Send + Sync + Debug + 'static {
    /// Opens a file.
    ///
    /// # Errors
    /// `NotFound` without `create`; `AlreadyExists` with `create_new`; any I/O error.
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>>;

    /// Creates a directory and its missing parents (not durable until `sync_dir` on each parent).
    ///
    /// # Errors
    /// Any I/O error.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;

    /// Lists a directory, sorted by path.
    ///
    /// # Errors
    /// `NotFound` when it does not exist; any I/O error.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;

    /// Renames a file, replacing `to` atomically (not durable until `sync_dir`).
    ///
    /// # Errors
    /// Any I/O error.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file (not durable until `sync_dir`).
    ///
    /// # Errors
    /// `NotFound`; any I/O error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Removes an empty directory.
    ///
    /// # Errors
    /// `NotFound`, a non-empty directory; any I/O error.
    fn remove_dir(&self, path: &Path) -> io::Result<()>;

    /// Makes a directory's entries (creates, renames, removes) durable.
    ///
    /// # Errors
    /// Any I/O error; after an error nothing is known about durability.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;

    /// [`Self::sync_dir`] as [`SyncMode::Full`] asks: past the device's volatile write
    /// cache where the platform tells the two apart (the default: `sync_dir`).
    ///
    /// # Errors
    /// As [`Self::sync_dir`].
    fn sync_dir_full(&self, path: &Path) -> io::Result<()> {
        self.sync_dir(path)
    }

    /// Length and kind of a path.
    ///
    /// # Errors
    /// `NotFound`; any I/O error.
    fn metadata(&self, path: &Path) -> io::Result<Metadata>;

    /// Whether a path exists.
    ///
    /// # Errors
    /// Any I/O error other than `NotFound`.
    fn exists(&self, path: &Path) -> io::Result<bool> {
        match self.metadata(path) {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Makes `to` a second name of the file `from` (used for checkpoints).
    ///
    /// # Errors
    /// `AlreadyExists`; `Unsupported` where the file system has no links; any I/O error.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Takes an exclusive lock on a lock file (created if missing), held until the guard drops.
    ///
    /// # Errors
    /// `WouldBlock` when another holder has it; any I/O error.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>>;

    /// Bytes available to this process on the file system holding `path`.
    ///
    /// # Errors
    /// Any I/O error; `ErrorKind::Unsupported` where the platform has no probe (callers
    /// treat that as "unknown", not as "full").
    fn available_space(&self, path: &Path) -> io::Result<u64>;
}

/// An open file. All positional calls take `&self`, so a file can be shared across readers.
pub trait FsFile: Send + Sync + Debug {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    ///
    /// # Errors
    /// Any I/O error.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Writes up to `buf.len()` bytes at `offset`; returns how many were written.
    ///
    /// # Errors
    /// Any I/O error, `StorageFull` among them.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;

    /// Appends all of `buf` at the end of the file.
    ///
    /// # Errors
    /// Any I/O error; a partial append may have happened.
    fn append(&self, buf: &[u8]) -> io::Result<()>;

    /// Makes the file's data durable.
    ///
    /// # Errors
    /// Any I/O error; after an error the data is in an unknown state and must be rewritten.
    fn sync_data(&self) -> io::Result<()>;

    /// Makes the file's data and metadata durable.
    ///
    /// # Errors
    /// As [`Self::sync_data`].
    fn sync_all(&self) -> io::Result<()>;

    /// Makes the file's data and metadata durable on the device itself, past its
    /// volatile write cache, where the platform tells this apart from
    /// [`Self::sync_all`] (macOS's `F_FULLFSYNC`); elsewhere, and by default, `sync_all`.
    ///
    /// # Errors
    /// As [`Self::sync_data`].
    fn sync_full(&self) -> io::Result<()> {
        self.sync_all()
    }

    /// Truncates or extends the file.
    ///
    /// # Errors
    /// Any I/O error.
    fn set_len(&self, len_bytes: u64) -> io::Result<()>;

    /// The file's length.
    ///
    /// # Errors
    /// Any I/O error.
    fn len(&self) -> io::Result<u64>;

    /// Whether the file is empty.
    ///
    /// # Errors
    /// Any I/O error.
    fn is_empty(&self) -> io::Result<bool> {
        self.len().map(|len| len == 0)
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    ///
    /// # Errors
    /// `UnexpectedEof` when the file ends first; any I/O error.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(read) => {
                    buf = &mut buf[read..];
                    offset += read as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset`.
    ///
    /// # Errors
    /// `WriteZero` when the file system accepts nothing; any I/O error.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        write_all_with(buf, offset, |part, at| self.write_at(part, at))
    }
}

/// Writes all of `buf` at `offset` through `write_at`, which may write less than it is
/// given (retrying on `Interrupted`).
///
/// # Errors
/// `WriteZero` when `write_at` accepts nothing; its errors.
pub(crate) fn write_all_with(
    mut buf: &[u8],
    mut offset: u64,
    mut write_at: impl FnMut(&[u8], u64) -> io::Result<usize>,
) -> io::Result<()> {
    while !buf.is_empty() {
        match write_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                buf = &buf[written..];
                offset += written as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A held lock; dropping it releases the lock.
pub trait FsLock: Send + Sync + Debug {}

/// The step of [`replace_durably`] that failed: the operation and its path.
#[derive(Debug)]
pub struct StepError {
    /// The operation (`create`, `append`, `sync`, `rename`, `sync_dir`).
    pub op: &'static str,
    /// The file or directory it failed on.
    pub path: PathBuf,
    /// What the file system said.
    pub source: io::Error,
}

/// Replaces `dir/name` with `bytes` so that a crash leaves the old content or the new,
/// never a mix: writes `dir/temp_name` (truncated first), syncs it, renames it over
/// `name`, and syncs `dir`.
///
/// # Errors
/// The first step that fails; the old file is then untouched or wholly replaced.
pub fn replace_durably(
    fs: &dyn Fs,
    dir: &Path,
    name: &str,
    temp_name: &str,
    bytes: &[u8],
) -> Result<(), StepError> {
    let step = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| StepError { op, path, source }
    };
    let temp = dir.join(temp_name);
    let options = OpenOptions {
        truncate: true,
        ..OpenOptions::write()
    };
    let file = fs.open(&temp, options).map_err(step("create", &temp))?;
    file.append(bytes).map_err(step("append", &temp))?;
    file.sync_all().map_err(step("sync", &temp))?;
    drop(file);
    let target = dir.join(name);
    fs.rename(&temp, &target).map_err(step("rename", &target))?;
    fs.sync_dir(dir).map_err(step("sync_dir", dir))
}

/// Removes `dir` and everything in it through `fs`, then syncs its parent, so the
/// removal survives a power cut.
///
/// # Errors
/// The first I/O error; what was removed before it stays removed.
pub fn remove_dir_all(fs: &dyn Fs, dir: &Path) -> io::Result<()> {
    for entry in fs.read_dir(dir)? {
        if entry.is_dir {
            remove_dir_all(fs, &entry.path)?;
        } else {
            fs.remove_file(&entry.path)?;
        }
    }
    fs.remove_dir(dir)?;
    if let Some(parent) = dir.parent() {
        fs.sync_dir(parent)?;
    }
    Ok(())
}

/// Reads a whole file through `fs`.
///
/// # Errors
/// Any I/O error.
pub fn read_all(fs: &dyn Fs, path: &Path) -> io::Result<Vec<u8>> {
    let file = fs.open(path, OpenOptions::read())?;
    let len = usize::try_from(file.len()?).map_err(|_| io::ErrorKind::OutOfMemory)?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;
