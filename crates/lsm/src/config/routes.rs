//! Level routes: the tables of the deeper levels in other directories, or on other file
//! systems (a fast disk for the top of the tree, a large slow one for the bottom).
//!
//! A route sends the tables of every level from its first level down (until the next
//! route's first level) to `<route dir>/tables/`; the levels above the first route stay
//! in the tree's own directory, which also keeps the manifest and the blob files. Where
//! a table lives follows from its level: a flush or merge writes into the directory of
//! the level it writes, and a trivial move between levels of different routes is
//! carried out as a rewrite into the destination. Opening looks for each table in its
//! level's directory first and then in every other configured one, so a table left
//! elsewhere (routes changed between runs, a table moved by hand) is read where it is
//! and moves at its next compaction. See `docs/tiered-storage.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm_core::{Fs, TableId};

use crate::layout::TABLES_DIR;

/// Where the tables of a range of levels live; see the module docs and
/// [`crate::Config::level_route`].
#[derive(Clone, Debug)]
pub struct LevelRoute {
    /// The first level the route holds (it holds every deeper level up to the next
    /// route's first).
    pub first_level: u8,
    /// The route's directory (its tables go to `tables/` inside it). One tree's alone:
    /// opening refuses a directory another tree has claimed.
    pub dir: PathBuf,
    /// The file system it is on (`None`: the tree's).
    pub fs: Option<Arc<dyn Fs>>,
}

impl super::Config {
    /// Keeps the tables of `first_level` and deeper (up to the next route) in `dir`
    /// on the tree's file system; see the module docs. A second route with the same
    /// first level replaces the first.
    ///
    /// ```
    /// use lsm::{AbstractTree, Config, SeqNo, SequenceNumberCounter};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let (fast, slow) = (dir.path().join("fast"), dir.path().join("slow"));
    /// let tree = Config::new(&fast, SequenceNumberCounter::default(), SequenceNumberCounter::default())
    ///     .level_route(1, &slow)
    ///     .open()?;
    /// tree.insert("a", "1", 0);
    /// tree.flush_active_memtable(0)?;
    /// tree.major_compact(64 << 20, SeqNo::MAX)?;
    /// // The last level is in the route's directory.
    /// assert_eq!(std::fs::read_dir(slow.join("tables"))?.count(), 1);
    /// assert_eq!(tree.get("a", SeqNo::MAX)?.as_deref(), Some(&b"1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn level_route<P: AsRef<Path>>(self, first_level: u8, dir: P) -> Self {
        self.push_route(first_level, dir.as_ref(), None)
    }

    /// [`Self::level_route`] on another file system (another [`Fs`] backend: a second
    /// device, a fault-injecting one in tests).
    #[must_use]
    pub fn level_route_on<P: AsRef<Path>>(self, first_level: u8, dir: P, fs: Arc<dyn Fs>) -> Self {
        self.push_route(first_level, dir.as_ref(), Some(fs))
    }

    fn push_route(mut self, first_level: u8, dir: &Path, fs: Option<Arc<dyn Fs>>) -> Self {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        self.level_routes
            .retain(|route| route.first_level != first_level);
        self.level_routes.push(LevelRoute {
            first_level,
            dir,
            fs,
        });
        self.level_routes.sort_by_key(|route| route.first_level);
        self
    }

    /// The routes, by first level.
    #[must_use]
    pub fn level_routes(&self) -> &[LevelRoute] {
        &self.level_routes
    }

    /// The file system the tree works through: the configured one, with the routes on
    /// file systems of their own served by theirs, and every sync going as far as the
    /// sync mode asks.
    pub(crate) fn tree_fs(&self) -> Arc<dyn Fs> {
        let backends = self
            .level_routes
            .iter()
            .filter_map(|route| Some((route.dir.clone(), Arc::clone(route.fs.as_ref()?))))
            .collect();
        let routed = lsm_core::fs::routed(Arc::clone(&self.fs), backends);
        lsm_core::fs::with_sync_mode(routed, self.sync_mode)
    }

    /// The file system of `route` itself (for its directory's own entry, which lies
    /// outside the paths the route serves).
    pub(crate) fn route_fs(&self, route: &LevelRoute) -> Arc<dyn Fs> {
        match &route.fs {
            Some(fs) => lsm_core::fs::with_sync_mode(Arc::clone(fs), self.sync_mode),
            None => Arc::clone(&self.fs),
        }
    }

    /// The directory tables of `level` are written to.
    pub(crate) fn tables_dir(&self, level: usize) -> PathBuf {
        self.level_routes
            .iter()
            .rev()
            .find(|route| usize::from(route.first_level) <= level)
            .map_or_else(
                || self.path.join(TABLES_DIR),
                |route| route.dir.join(TABLES_DIR),
            )
    }

    /// Where table `id` of `level` is written.
    pub(crate) fn table_path(&self, level: usize, id: TableId) -> PathBuf {
        self.tables_dir(level).join(id.to_string())
    }

    /// Every directory the tree's tables may be in: its own first, then each route's.
    pub(crate) fn table_dirs(&self) -> Vec<PathBuf> {
        std::iter::once(self.path.join(TABLES_DIR))
            .chain(
                self.level_routes
                    .iter()
                    .map(|route| route.dir.join(TABLES_DIR)),
            )
            .collect()
    }

    /// Checks the routes: levels the tree has, directories apart from the tree's own
    /// and from one another.
    pub(crate) fn validate_routes(&self) -> crate::Result<()> {
        for (index, route) in self.level_routes.iter().enumerate() {
            if route.first_level >= self.level_count {
                return Err(crate::Error::InvalidConfig(
                    "a level route's first level must be a level of the tree",
                ));
            }
            if route.dir == self.path {
                return Err(crate::Error::InvalidConfig(
                    "a level route needs a directory of its own, not the tree's",
                ));
            }
            if self.level_routes[..index]
                .iter()
                .any(|other| other.dir == route.dir)
            {
                return Err(crate::Error::InvalidConfig(
                    "two level routes name the same directory",
                ));
            }
        }
        Ok(())
    }
}
