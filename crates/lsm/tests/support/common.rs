//! Pieces the integration tests share (included with `#[path]`; each test uses some).

#![allow(dead_code, reason = "each test file uses a part of this module")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use lsm::compaction::filter::{CompactionFilter, Context, Factory, ItemAccessor, Verdict};
use lsm::{AbstractTree, AnyTree, Config, SequenceNumberCounter, UserValue};
use lsm_testkit::ops::concat;
use lsm_testkit::sim_fs::SimFs;

/// Waits (up to a minute) until `done` holds: background work finishing, a condition,
/// not a timing assertion.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A merge operator that appends operands to the base: the model's merge function.
pub struct Concat;

impl lsm::MergeOperator for Concat {
    fn merge(
        &self,
        _key: &[u8],
        base: Option<&[u8]>,
        operands: &[&[u8]],
    ) -> lsm::Result<UserValue> {
        Ok(concat(base, operands).into())
    }
}

/// A tree with the default configuration in a fresh temporary directory.
pub fn temp_tree() -> (tempfile::TempDir, AnyTree, SequenceNumberCounter) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let seqno = SequenceNumberCounter::default();
    let tree = Config::new(dir.path(), seqno.clone(), SequenceNumberCounter::default())
        .open()
        .expect("the tree opens");
    assert!(
        tree.is_empty(lsm::SeqNo::MAX, None)
            .expect("a new tree reads")
    );
    (dir, tree, seqno)
}

/// The ids of the files in `dir` that are named by an id (tables, blob files): none
/// when the directory does not exist.
pub fn file_ids(fs: &dyn lsm::fs::Fs, dir: &str) -> Vec<u64> {
    let dir = std::path::Path::new(dir);
    if !fs.exists(dir).expect("the file system answers") {
        return Vec::new();
    }
    fs.read_dir(dir)
        .expect("the directory lists")
        .iter()
        .filter_map(|entry| {
            entry
                .file_name()
                .and_then(lsm::layout::parse_table_file_name)
        })
        .collect()
}

/// The default configuration of a tree at `/db` on `fs` (fresh seqno counters).
pub fn config_on(fs: &Arc<dyn lsm::fs::Fs>) -> Config {
    Config::new(
        "/db",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(fs))
}

/// A tree with the default configuration at `/db` on a simulated file system.
pub fn sim_tree(fs: &SimFs, seqno: &SequenceNumberCounter) -> AnyTree {
    Config::new("/db", seqno.clone(), SequenceNumberCounter::default())
        .with_shared_fs(Arc::new(fs.clone()))
        .open()
        .expect("the tree opens")
}

/// Holds the first merge of a tree at one of its items until released, so that a test
/// can run other work while that merge is in the middle of its job (as a slow or
/// rate-limited merge would be). Set it with [`Gate::factory`]; the merge only sees
/// items below its GC watermark, so run it with a high one.
#[derive(Default)]
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    filters_made: AtomicUsize,
}

#[derive(Default)]
struct GateState {
    /// The held merge reached its item (or its job ended before it).
    arrived: bool,
    released: bool,
}

impl Gate {
    /// The compaction filter factory that holds the first merge at item `pause_at`.
    pub fn factory(self: &Arc<Self>, pause_at: usize) -> Arc<dyn Factory> {
        Arc::new(GateFactory {
            gate: Arc::clone(self),
            pause_at,
        })
    }

    /// Waits until the held merge reached its item, or [`Self::arrive`] was called.
    pub fn wait_for_arrival(&self) {
        let mut state = self.lock();
        while !state.arrived {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Marks the held merge as arrived (call it when its job ends, in case it failed
    /// before reaching its item).
    pub fn arrive(&self) {
        self.lock().arrived = true;
        self.changed.notify_all();
    }

    /// Lets the held merge go on.
    pub fn release(&self) {
        self.lock().released = true;
        self.changed.notify_all();
    }

    fn hold(&self) {
        let mut state = self.lock();
        state.arrived = true;
        self.changed.notify_all();
        while !state.released {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct GateFactory {
    gate: Arc<Gate>,
    pause_at: usize,
}

impl Factory for GateFactory {
    fn name(&self) -> &'static str {
        "gate"
    }

    fn make_filter(&self, _ctx: &Context) -> Box<dyn CompactionFilter> {
        let first = self.gate.filters_made.fetch_add(1, Ordering::AcqRel) == 0;
        Box::new(Held {
            gate: Arc::clone(&self.gate),
            items_left: first.then_some(self.pause_at),
        })
    }
}

struct Held {
    gate: Arc<Gate>,
    /// Items before the pause (`None`: this merge is not held).
    items_left: Option<usize>,
}

impl CompactionFilter for Held {
    fn filter_item(&mut self, _item: ItemAccessor<'_>, _ctx: &Context) -> lsm::Result<Verdict> {
        match &mut self.items_left {
            Some(0) => {
                self.items_left = None;
                self.gate.hold();
            }
            Some(left) => *left -= 1,
            None => {}
        }
        Ok(Verdict::Keep)
    }
}

/// Files on disk through the tree's own file-system seam (`StdFs`).
pub mod disk {
    use std::path::{Path, PathBuf};

    use lsm::fs::{Fs, OpenOptions, StdFs};

    /// The whole file at `path`.
    pub fn read(path: &Path) -> Vec<u8> {
        let file = StdFs.open(path, OpenOptions::read()).expect("file opens");
        let mut bytes = vec![0; usize::try_from(file.len().expect("length")).expect("fits")];
        file.read_exact_at(&mut bytes, 0).expect("file reads");
        bytes
    }

    /// Replaces the file at `path` with `bytes`.
    pub fn write(path: &Path, bytes: &[u8]) {
        let options = OpenOptions {
            truncate: true,
            ..OpenOptions::write()
        };
        let file = StdFs.open(path, options).expect("file opens");
        file.append(bytes).expect("file writes");
        file.sync_all().expect("file syncs");
    }

    /// The entries of `dir`: (path, is a directory), sorted.
    pub fn list(dir: &Path) -> Vec<(PathBuf, bool)> {
        let mut entries: Vec<_> = StdFs
            .read_dir(dir)
            .expect("directory lists")
            .into_iter()
            .map(|entry| (entry.path, entry.is_dir))
            .collect();
        entries.sort();
        entries
    }

    /// Removes the file at `path`.
    pub fn remove(path: &Path) {
        StdFs.remove_file(path).expect("file removed");
    }

    /// Copies the files under `from` to `to` (not the lock file).
    pub fn copy_tree(from: &Path, to: &Path) {
        StdFs.create_dir_all(to).expect("directory created");
        for (path, is_dir) in list(from) {
            let name = path.file_name().expect("a name");
            if is_dir {
                copy_tree(&path, &to.join(name));
            } else if name != "lock" {
                write(&to.join(name), &read(&path));
            }
        }
    }
}
