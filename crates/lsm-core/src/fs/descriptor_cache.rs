//! [`DescriptorCache`]: a bounded set of open files, shared by tables and blob files.
//!
//! A process with thousands of tables must stay under its open-file limit. A file read
//! through a descriptor cache ([`ReadFile::cached`]) does not stay open: each read asks
//! the cache, which reopens the file through its `Fs` when it was closed, and closes the
//! least recently used file when more than `capacity` are open.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Fs, FsFile, OpenOptions};

/// A bounded cache of open files; see the module docs.
#[derive(Debug)]
pub struct DescriptorCache {
    fs: Arc<dyn Fs>,
    capacity: usize,
    state: Mutex<State>,
    next_id: AtomicU64,
    opens: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    open: HashMap<u64, (Arc<dyn FsFile>, u64)>,
    clock: u64,
}

impl DescriptorCache {
    /// A cache keeping at most `capacity` files of `fs` open (at least one).
    #[must_use]
    pub fn new(fs: Arc<dyn Fs>, capacity: usize) -> Self {
        Self {
            fs,
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
            opens: AtomicU64::new(0),
        }
    }

    /// The file system files are opened through.
    #[must_use]
    pub fn fs(&self) -> &Arc<dyn Fs> {
        &self.fs
    }

    /// A fresh id for one reader's file.
    fn new_file_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The open file `id` at `path`, opening it (and closing another) when needed.
    fn get(&self, id: u64, path: &Path) -> io::Result<Arc<dyn FsFile>> {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.clock += 1;
            let now = state.clock;
            if let Some((file, last_used)) = state.open.get_mut(&id) {
                *last_used = now;
                return Ok(Arc::clone(file));
            }
        }
        // Open outside the lock: a slow open must not stall other tables' reads.
        let file: Arc<dyn FsFile> = Arc::from(self.fs.open(path, OpenOptions::read())?);
        self.opens.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.clock += 1;
        let now = state.clock;
        while state.open.len() >= self.capacity {
            let oldest = state
                .open
                .iter()
                .min_by_key(|(_, (_, last_used))| *last_used)
                .map(|(&id, _)| id);
            match oldest {
                Some(oldest) => state.open.remove(&oldest),
                None => break,
            };
        }
        state.open.insert(id, (Arc::clone(&file), now));
        Ok(file)
    }

    /// Forgets file `id` (when its reader is dropped).
    fn remove(&self, id: u64) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open
            .remove(&id);
    }

    /// Files open now.
    #[must_use]
    pub fn open_count(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open
            .len()
    }

    /// Files opened so far (reopens included).
    #[must_use]
    pub fn open_calls(&self) -> u64 {
        self.opens.load(Ordering::Relaxed)
    }
}

/// A file read by position: kept open, or reopened through a descriptor cache.
#[derive(Debug)]
pub struct ReadFile(Inner);

#[derive(Debug)]
enum Inner {
    Owned(Box<dyn FsFile>),
    Cached {
        cache: Arc<DescriptorCache>,
        id: u64,
        path: PathBuf,
    },
}

impl ReadFile {
    /// A file that stays open as long as the reader.
    #[must_use]
    pub fn owned(file: Box<dyn FsFile>) -> Self {
        Self(Inner::Owned(file))
    }

    /// The file at `path`, opened through `cache` on each read.
    #[must_use]
    pub fn cached(cache: &Arc<DescriptorCache>, path: &Path) -> Self {
        Self(Inner::Cached {
            cache: Arc::clone(cache),
            id: cache.new_file_id(),
            path: path.to_path_buf(),
        })
    }

    /// Fills `buf` from `offset`.
    ///
    /// # Errors
    /// As [`FsFile::read_exact_at`], and as [`Fs::open`] when the file must be reopened.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        match &self.0 {
            Inner::Owned(file) => file.read_exact_at(buf, offset),
            Inner::Cached { cache, id, path } => cache.get(*id, path)?.read_exact_at(buf, offset),
        }
    }
}

impl Drop for ReadFile {
    fn drop(&mut self) {
        if let Inner::Cached { cache, id, .. } = &self.0 {
            cache.remove(*id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::MemFs;

    #[test]
    fn at_most_capacity_files_stay_open() {
        let fs = Arc::new(MemFs::new());
        for idx in 0..10 {
            fs.open(Path::new(&format!("/f{idx}")), OpenOptions::create_new())
                .unwrap()
                .append(&[idx])
                .unwrap();
        }
        let cache = DescriptorCache::new(fs, 3);
        for round in 0..3 {
            for idx in 0..10_u8 {
                let file = cache
                    .get(u64::from(idx), Path::new(&format!("/f{idx}")))
                    .unwrap();
                let mut byte = [0];
                file.read_exact_at(&mut byte, 0).unwrap();
                assert_eq!(byte[0], idx, "round {round}");
                assert!(cache.open_count() <= 3);
            }
        }
        assert_eq!(cache.open_calls(), 30);
        let _ = cache.get(9, Path::new("/f9")).unwrap();
        assert_eq!(cache.open_calls(), 30, "a cached file is not reopened");
    }

    #[test]
    fn cached_files_reopen_and_are_forgotten_when_dropped() {
        let fs = Arc::new(MemFs::new());
        for name in ["/a", "/b"] {
            fs.open(Path::new(name), OpenOptions::create_new())
                .unwrap()
                .append(name.as_bytes())
                .unwrap();
        }
        let cache = Arc::new(DescriptorCache::new(fs, 1));
        let a = ReadFile::cached(&cache, Path::new("/a"));
        let b = ReadFile::cached(&cache, Path::new("/b"));
        let mut byte = [0; 2];
        for _ in 0..2 {
            a.read_exact_at(&mut byte, 0).unwrap();
            assert_eq!(&byte, b"/a");
            b.read_exact_at(&mut byte, 0).unwrap();
            assert_eq!(&byte, b"/b");
            assert_eq!(cache.open_count(), 1);
        }
        assert_eq!(cache.open_calls(), 4);
        drop(b);
        assert_eq!(cache.open_count(), 0);
        let missing = ReadFile::cached(&cache, Path::new("/gone"));
        assert!(missing.read_exact_at(&mut byte, 0).is_err());
    }
}
