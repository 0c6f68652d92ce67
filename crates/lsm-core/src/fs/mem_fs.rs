//! [`MemFs`]: an in-memory file system.
//!
//! Everything written is immediately "durable" (there is no crash model here; the test
//! kit's simulated file system adds one). Files are shared inodes, so hard links work,
//! and an optional capacity makes writes fail with `StorageFull` like a full disk.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::{DirEntry, Fs, FsFile, FsLock, Metadata, OpenOptions};

/// An in-memory file system. Clones share the same files.
#[derive(Clone, Debug, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
}

type Inode = Arc<RwLock<Vec<u8>>>;

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<PathBuf, Inode>,
    dirs: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    /// Byte capacity over all inodes; `None` is unbounded.
    capacity_bytes: Option<u64>,
    /// Bytes of all inodes, kept in step by every write and truncate.
    used_bytes: u64,
}

#[derive(Debug)]
struct MemFile {
    inode: Inode,
    state: Arc<Mutex<State>>,
    writable: bool,
}

#[derive(Debug)]
struct MemLock {
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

impl MemFs {
    /// An empty file system without a size bound.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty file system that holds at most `capacity_bytes` of file data.
    #[must_use]
    pub fn with_capacity(capacity_bytes: u64) -> Self {
        let fs = Self::new();
        fs.lock_state().capacity_bytes = Some(capacity_bytes);
        fs
    }

    /// Changes the bound on file data (`None`: unbounded); files already past it stay,
    /// and writes fail with `StorageFull` until enough is freed.
    pub fn set_capacity(&self, capacity_bytes: Option<u64>) {
        self.lock_state().capacity_bytes = capacity_bytes;
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.state)
    }
}

fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock leaves only plain data behind; keep going.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn not_found() -> io::Error {
    io::ErrorKind::NotFound.into()
}

impl State {
    fn parent_exists(&self, path: &Path) -> bool {
        path.parent().is_none_or(|parent| self.is_dir(parent))
    }

    /// Whether `path` is a directory; the root and the empty path always are.
    fn is_dir(&self, path: &Path) -> bool {
        path.as_os_str().is_empty() || path.parent().is_none() || self.dirs.contains(path)
    }

    fn reserve(&mut self, old_len: usize, new_len: usize) -> io::Result<()> {
        let grow = new_len.saturating_sub(old_len) as u64;
        let shrink = old_len.saturating_sub(new_len) as u64;
        let used = self.used_bytes - shrink + grow;
        if self.capacity_bytes.is_some_and(|capacity| used > capacity) {
            return Err(io::ErrorKind::StorageFull.into());
        }
        self.used_bytes = used;
        Ok(())
    }
}

impl Fs for MemFs {
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>> {
        let mut state = self.lock_state();
        if state.dirs.contains(path) {
            return Err(io::ErrorKind::IsADirectory.into());
        }
        let inode = match state.files.get(path) {
            Some(_) if options.create_new => return Err(io::ErrorKind::AlreadyExists.into()),
            Some(inode) => Arc::clone(inode),
            None if options.create || options.create_new => {
                if !state.parent_exists(path) {
                    return Err(not_found());
                }
                let inode = Inode::default();
                state.files.insert(path.to_path_buf(), Arc::clone(&inode));
                inode
            }
            None => return Err(not_found()),
        };
        if options.truncate {
            let mut bytes = inode
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.reserve(bytes.len(), 0)?;
            bytes.clear();
        }
        Ok(Box::new(MemFile {
            inode,
            state: Arc::clone(&self.state),
            writable: options.write || options.create || options.create_new,
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        for ancestor in path.ancestors() {
            if ancestor.as_os_str().is_empty() {
                continue;
            }
            if state.files.contains_key(ancestor) {
                return Err(io::ErrorKind::NotADirectory.into());
            }
            state.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let state = self.lock_state();
        if !state.is_dir(path) {
            return Err(not_found());
        }
        let in_dir = |candidate: &&PathBuf| candidate.parent() == Some(path);
        let mut entries: Vec<DirEntry> = state
            .files
            .keys()
            .filter(in_dir)
            .map(|file| DirEntry {
                path: file.clone(),
                is_dir: false,
            })
            .chain(state.dirs.iter().filter(in_dir).map(|dir| DirEntry {
                path: dir.clone(),
                is_dir: true,
            }))
            .collect();
        entries.sort();
        Ok(entries)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        if !state.parent_exists(to) {
            return Err(not_found());
        }
        let inode = state.files.remove(from).ok_or_else(not_found)?;
        if let Some(replaced) = state.files.insert(to.to_path_buf(), inode) {
            release_if_unlinked(&mut state, &replaced);
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        let inode = state.files.remove(path).ok_or_else(not_found)?;
        release_if_unlinked(&mut state, &inode);
        Ok(())
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        if !state.dirs.contains(path) {
            return Err(not_found());
        }
        let has_children = state.files.keys().any(|file| file.parent() == Some(path))
            || state.dirs.iter().any(|dir| dir.parent() == Some(path));
        if has_children {
            return Err(io::ErrorKind::DirectoryNotEmpty.into());
        }
        state.dirs.remove(path);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        if self.lock_state().is_dir(path) {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        let state = self.lock_state();
        if state.is_dir(path) {
            return Ok(Metadata {
                len_bytes: 0,
                is_dir: true,
            });
        }
        let inode = state.files.get(path).ok_or_else(not_found)?;
        let len_bytes = inode.read().map_or(0, |bytes| bytes.len() as u64);
        Ok(Metadata {
            len_bytes,
            is_dir: false,
        })
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        if state.files.contains_key(to) || state.dirs.contains(to) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        if !state.parent_exists(to) {
            return Err(not_found());
        }
        let inode = Arc::clone(state.files.get(from).ok_or_else(not_found)?);
        state.files.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        drop(self.open(path, OpenOptions::write())?);
        let mut state = self.lock_state();
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Box::new(MemLock {
            path: path.to_path_buf(),
            state: Arc::clone(&self.state),
        }))
    }

    fn available_space(&self, _path: &Path) -> io::Result<u64> {
        let state = self.lock_state();
        Ok(state.capacity_bytes.map_or(u64::MAX, |capacity| {
            capacity.saturating_sub(state.used_bytes)
        }))
    }
}

/// Frees an inode's bytes from the quota when no name refers to it any more.
fn release_if_unlinked(state: &mut State, inode: &Inode) {
    let still_linked = state.files.values().any(|other| Arc::ptr_eq(other, inode));
    if !still_linked {
        let len = inode.read().map_or(0, |bytes| bytes.len());
        state.used_bytes -= len as u64;
    }
}

impl MemFile {
    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "file opened read-only",
            ))
        }
    }

    fn offset_to_usize(offset: u64) -> io::Result<usize> {
        usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput.into())
    }
}

impl FsFile for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let bytes = self
            .inode
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = Self::offset_to_usize(offset)?.min(bytes.len());
        let available = &bytes[start..];
        let read = available.len().min(buf.len());
        buf[..read].copy_from_slice(&available[..read]);
        Ok(read)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.check_writable()?;
        let start = Self::offset_to_usize(offset)?;
        let end = start
            .checked_add(buf.len())
            .ok_or(io::ErrorKind::InvalidInput)?;
        let mut state = lock_state(&self.state);
        let mut bytes = self
            .inode
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if end > bytes.len() {
            state.reserve(bytes.len(), end)?;
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(buf);
        Ok(buf.len())
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.check_writable()?;
        let mut state = lock_state(&self.state);
        let mut bytes = self
            .inode
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.reserve(bytes.len(), bytes.len() + buf.len())?;
        bytes.extend_from_slice(buf);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }

    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        self.check_writable()?;
        let new_len = Self::offset_to_usize(len_bytes)?;
        let mut state = lock_state(&self.state);
        let mut bytes = self
            .inode
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.reserve(bytes.len(), new_len)?;
        bytes.resize(new_len, 0);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.inode.read().map_or(0, |bytes| bytes.len() as u64))
    }
}

impl FsLock for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        lock_state(&self.state).locks.remove(&self.path);
    }
}
