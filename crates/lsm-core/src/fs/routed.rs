//! [`Routed`]: one [`Fs`] made of several, each serving the paths under its own root.
//!
//! A tree whose levels live on different storage (a fast disk for the top levels, a
//! slow one for the bottom) still sees one file system: every call goes to the backend
//! whose root is the longest prefix of its path, and to the default backend when none
//! is. A rename or hard link between two backends is refused with
//! [`io::ErrorKind::CrossesDevices`], as between two mounted devices (callers that link
//! copy instead).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{DirEntry, Fs, FsFile, FsLock, Metadata, OpenOptions};

/// `default` with the paths under each root of `routes` served by its backend; see the
/// module docs.
#[must_use]
pub fn routed(default: Arc<dyn Fs>, routes: Vec<(PathBuf, Arc<dyn Fs>)>) -> Arc<dyn Fs> {
    if routes.is_empty() {
        return default;
    }
    Arc::new(Routed { default, routes })
}

/// See the module docs.
#[derive(Debug)]
struct Routed {
    default: Arc<dyn Fs>,
    routes: Vec<(PathBuf, Arc<dyn Fs>)>,
}

impl Routed {
    /// The index of the route serving `path` (`None`: the default backend).
    fn route_of(&self, path: &Path) -> Option<usize> {
        self.routes
            .iter()
            .enumerate()
            .filter(|(_, (root, _))| path.starts_with(root))
            .max_by_key(|(_, (root, _))| root.components().count())
            .map(|(index, _)| index)
    }

    fn backend_of(&self, route: Option<usize>) -> &dyn Fs {
        match route.and_then(|index| self.routes.get(index)) {
            Some((_, backend)) => backend.as_ref(),
            None => self.default.as_ref(),
        }
    }

    fn backend(&self, path: &Path) -> &dyn Fs {
        self.backend_of(self.route_of(path))
    }

    /// The backend serving both paths, or `CrossesDevices`.
    fn common(&self, from: &Path, to: &Path) -> io::Result<&dyn Fs> {
        let route = self.route_of(from);
        if route == self.route_of(to) {
            Ok(self.backend_of(route))
        } else {
            Err(io::Error::new(
                io::ErrorKind::CrossesDevices,
                format!(
                    "{} and {} are on different file systems",
                    from.display(),
                    to.display()
                ),
            ))
        }
    }
}

impl Fs for Routed {
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>> {
        self.backend(path).open(path, options)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.backend(path).create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.backend(path).read_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.common(from, to)?.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.backend(path).remove_file(path)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.backend(path).remove_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.backend(path).sync_dir(path)
    }

    fn sync_dir_full(&self, path: &Path) -> io::Result<()> {
        self.backend(path).sync_dir_full(path)
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.backend(path).metadata(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.backend(path).exists(path)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.common(from, to)?.hard_link(from, to)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        self.backend(path).lock(path)
    }

    fn available_space(&self, path: &Path) -> io::Result<u64> {
        self.backend(path).available_space(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    fn write(fs: &dyn Fs, path: &Path, bytes: &[u8]) {
        let file = fs.open(path, OpenOptions::create_new()).unwrap();
        file.write_all_at(bytes, 0).unwrap();
    }

    #[test]
    fn each_path_goes_to_the_backend_of_its_longest_root() {
        let default: Arc<dyn Fs> = Arc::new(MemFs::new());
        let slow: Arc<dyn Fs> = Arc::new(MemFs::new());
        let slower: Arc<dyn Fs> = Arc::new(MemFs::new());
        let fs = routed(
            Arc::clone(&default),
            vec![
                (PathBuf::from("/slow"), Arc::clone(&slow)),
                (PathBuf::from("/slow/deeper"), Arc::clone(&slower)),
            ],
        );
        for dir in ["/tree", "/slow", "/slow/deeper", "/slowly"] {
            fs.create_dir_all(Path::new(dir)).unwrap();
        }
        write(fs.as_ref(), Path::new("/tree/a"), b"a");
        write(fs.as_ref(), Path::new("/slow/b"), b"b");
        write(fs.as_ref(), Path::new("/slow/deeper/c"), b"c");
        // A root is a path prefix by components, not by characters.
        write(fs.as_ref(), Path::new("/slowly/d"), b"d");
        let holds = |backend: &Arc<dyn Fs>, path: &str| backend.exists(Path::new(path)).unwrap();
        assert!(holds(&default, "/tree/a") && holds(&default, "/slowly/d"));
        assert!(holds(&slow, "/slow/b") && !holds(&slow, "/slow/deeper/c"));
        assert!(holds(&slower, "/slow/deeper/c") && !holds(&default, "/slow/b"));
        assert_eq!(
            crate::fs::read_all(fs.as_ref(), Path::new("/slow/deeper/c")).unwrap(),
            b"c"
        );
    }

    #[test]
    fn renames_and_links_between_backends_are_refused_as_between_devices() {
        let slow: Arc<dyn Fs> = Arc::new(MemFs::new());
        let fs = routed(Arc::new(MemFs::new()), vec![(PathBuf::from("/slow"), slow)]);
        fs.create_dir_all(Path::new("/tree")).unwrap();
        fs.create_dir_all(Path::new("/slow")).unwrap();
        write(fs.as_ref(), Path::new("/tree/a"), b"a");
        for result in [
            fs.rename(Path::new("/tree/a"), Path::new("/slow/a")),
            fs.hard_link(Path::new("/tree/a"), Path::new("/slow/a")),
        ] {
            assert_eq!(result.unwrap_err().kind(), io::ErrorKind::CrossesDevices);
        }
        // Within one backend both work.
        fs.rename(Path::new("/tree/a"), Path::new("/tree/b"))
            .unwrap();
        assert!(fs.exists(Path::new("/tree/b")).unwrap());
    }
}
