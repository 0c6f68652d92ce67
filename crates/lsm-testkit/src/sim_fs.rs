//! [`SimFs`]: an in-memory file system that remembers what is durable, and crashes.
//!
//! Every file keeps its live bytes, its durable bytes (as of its last `sync_data` or
//! `sync_all`) and the writes since then; every directory keeps its live and durable
//! entries and the operations since its last `sync_dir`. [`SimFs::crash`] builds the image
//! a machine could show after a power cut under a [`CrashModel`], from strict POSIX
//! (only what was synced survives) to torn and reordered writes and partially persisted
//! directory changes. Every mutating call counts as one operation; [`SimFs::crash_at`]
//! fails operation `k` and powers the file system off (every later call fails), which
//! is how crash-point enumeration reaches every point of a workload. A byte quota turns
//! writes beyond it into `StorageFull`, and [`SimFs::fail_op`] injects an error at one
//! operation.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lsm_core::{DirEntry, Fs, FsFile, FsLock, Metadata, OpenOptions};

use crate::rng::Rng;

/// Sector size for torn writes.
const SECTOR_BYTES: usize = 4096;

/// What survives a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashModel {
    /// Synced data and synced directory entries only (strict POSIX).
    DropUnsynced,
    /// Everything written (a process crash with the OS alive).
    KeepAll,
    /// Per file, synced data plus a random prefix of its later writes.
    PrefixPerFile,
    /// Per file, synced data plus a random subset of its later writes.
    Reorder,
    /// As `PrefixPerFile`, with the last kept write cut short and the rest of its sector
    /// zeroed or garbage.
    TornLast,
    /// Synced data; each unsynced directory change applied or not (renames whole).
    DirentSubset,
}

impl CrashModel {
    /// Every model.
    pub const ALL: [Self; 6] = [
        Self::DropUnsynced,
        Self::KeepAll,
        Self::PrefixPerFile,
        Self::Reorder,
        Self::TornLast,
        Self::DirentSubset,
    ];
}

/// A simulated file system; clones share it.
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    File(usize),
    Dir,
}

#[derive(Debug, Clone)]
enum DirOp {
    Put(PathBuf, Node),
    Remove(PathBuf),
    Rename(PathBuf, PathBuf),
}

#[derive(Debug, Clone, Default)]
struct Inode {
    live: Vec<u8>,
    durable: Vec<u8>,
    /// Writes since the last sync: offset and bytes, or a truncation (`None` bytes).
    unsynced: Vec<(u64, Option<Vec<u8>>)>,
}

#[derive(Debug, Default)]
struct State {
    inodes: Vec<Inode>,
    live: BTreeMap<PathBuf, Node>,
    durable: BTreeMap<PathBuf, Node>,
    /// Directory operations since each directory's last sync.
    pending: BTreeMap<PathBuf, Vec<DirOp>>,
    locks: BTreeSet<PathBuf>,
    op_count: u64,
    crash_at: Option<u64>,
    fail_at: Option<(u64, io::ErrorKind)>,
    /// Every mutating operation from this index on fails (a sticky fault).
    fail_from: Option<(u64, io::ErrorKind)>,
    powered_off: bool,
    quota_bytes: Option<u64>,
}

fn off() -> io::Error {
    io::Error::other("the simulated machine is off")
}

fn not_found() -> io::Error {
    io::ErrorKind::NotFound.into()
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl State {
    /// Counts a mutating operation; fails it when a crash or a fault is due.
    fn operation(&mut self) -> io::Result<()> {
        if self.powered_off {
            return Err(off());
        }
        let op_idx = self.op_count;
        self.op_count += 1;
        if self.crash_at == Some(op_idx) {
            self.powered_off = true;
            return Err(off());
        }
        if let Some((fail_idx, kind)) = self.fail_at
            && fail_idx == op_idx
        {
            return Err(kind.into());
        }
        if let Some((from, kind)) = self.fail_from
            && op_idx >= from
        {
            return Err(kind.into());
        }
        Ok(())
    }

    fn reading(&self) -> io::Result<()> {
        if self.powered_off { Err(off()) } else { Ok(()) }
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.as_os_str().is_empty()
            || path.parent().is_none()
            || self.live.get(path) == Some(&Node::Dir)
    }

    fn used_bytes(&self) -> u64 {
        let linked: BTreeSet<usize> = self
            .live
            .values()
            .filter_map(|node| match node {
                Node::File(inode) => Some(*inode),
                Node::Dir => None,
            })
            .collect();
        linked
            .iter()
            .filter_map(|&inode| self.inodes.get(inode))
            .map(|inode| inode.live.len() as u64)
            .sum()
    }

    fn check_quota(&self, growth: u64) -> io::Result<()> {
        match self.quota_bytes {
            Some(quota) if self.used_bytes() + growth > quota => {
                Err(io::ErrorKind::StorageFull.into())
            }
            _ => Ok(()),
        }
    }

    fn put(&mut self, path: &Path, node: Node) {
        self.live.insert(path.to_path_buf(), node);
        self.record(parent_of(path), DirOp::Put(path.to_path_buf(), node));
    }

    /// Removes the entry at `path`; durable once its directory is synced.
    fn remove(&mut self, path: &Path) {
        self.live.remove(path);
        self.record(parent_of(path), DirOp::Remove(path.to_path_buf()));
    }

    /// Records a directory change of `dir` that its next sync makes durable.
    fn record(&mut self, dir: PathBuf, op: DirOp) {
        self.pending.entry(dir).or_default().push(op);
    }

    fn inode(&mut self, inode: usize) -> io::Result<&mut Inode> {
        self.inodes.get_mut(inode).ok_or_else(not_found)
    }
}

impl SimFs {
    /// An empty file system.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails mutating operation `op_idx` (0-based) and powers off: it and every later
    /// call return an error.
    pub fn crash_at(&self, op_idx: u64) {
        self.state().crash_at = Some(op_idx);
    }

    /// Fails mutating operation `op_idx` once with `kind`, and carries on.
    pub fn fail_op(&self, op_idx: u64, kind: io::ErrorKind) {
        self.state().fail_at = Some((op_idx, kind));
    }

    /// Fails every mutating operation from `op_idx` (0-based) on with `kind`, until
    /// [`Self::clear_faults`]: a disk that stays broken, or full.
    pub fn fail_from(&self, op_idx: u64, kind: io::ErrorKind) {
        self.state().fail_from = Some((op_idx, kind));
    }

    /// Ends every fault set with [`Self::fail_op`] and [`Self::fail_from`].
    pub fn clear_faults(&self) {
        let mut state = self.state();
        state.fail_at = None;
        state.fail_from = None;
    }

    /// Limits the bytes of all files; writes beyond fail with `StorageFull`.
    pub fn set_quota_bytes(&self, quota_bytes: Option<u64>) {
        self.state().quota_bytes = quota_bytes;
    }

    /// Mutating operations so far.
    #[must_use]
    pub fn op_count(&self) -> u64 {
        self.state().op_count
    }

    /// Whether a crash point was reached.
    #[must_use]
    pub fn is_powered_off(&self) -> bool {
        self.state().powered_off
    }

    /// The file system a reboot would find after a crash under `model`; this one stays
    /// as it is (power it off with [`Self::crash_at`] first to stop writers).
    #[must_use]
    pub fn crash(&self, model: CrashModel, rng: &mut Rng) -> Self {
        let state = self.state();
        let entries = match model {
            CrashModel::KeepAll => state.live.clone(),
            CrashModel::DirentSubset => replay_some(&state.durable, &state.pending, rng),
            _ => state.durable.clone(),
        };
        // Only the files some surviving entry names come through, renumbered: a removed
        // file's bytes do not outlive the crash (nor pile up over many crashes).
        let mut entries = entries;
        let mut renumbered: BTreeMap<usize, usize> = BTreeMap::new();
        for node in entries.values_mut() {
            if let Node::File(inode) = node {
                let next = renumbered.len();
                *inode = *renumbered.entry(*inode).or_insert(next);
            }
        }
        let mut inodes = vec![Inode::default(); renumbered.len()];
        // Every file draws its randomness in order, kept or not, so that a seed gives
        // the images it always gave.
        for (old, inode) in state.inodes.iter().enumerate() {
            let bytes = match model {
                CrashModel::KeepAll => inode.live.clone(),
                CrashModel::DropUnsynced | CrashModel::DirentSubset => inode.durable.clone(),
                CrashModel::PrefixPerFile | CrashModel::TornLast => {
                    let keep = rng.index(inode.unsynced.len() + 1);
                    let mut bytes = replay(&inode.durable, inode.unsynced.iter().take(keep));
                    if model == CrashModel::TornLast && keep > 0 {
                        tear(&mut bytes, inode.unsynced.get(keep - 1), rng);
                    }
                    bytes
                }
                CrashModel::Reorder => {
                    let kept = inode.unsynced.iter().filter(|_| rng.below(2) == 0);
                    replay(&inode.durable, kept)
                }
            };
            if let Some(&new) = renumbered.get(&old) {
                inodes[new] = Inode {
                    live: bytes.clone(),
                    durable: bytes,
                    unsynced: Vec::new(),
                };
            }
        }
        let crashed = State {
            inodes,
            live: entries.clone(),
            durable: entries,
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(crashed)),
        }
    }
}

/// Durable bytes with `writes` applied in order.
fn replay<'a>(durable: &[u8], writes: impl Iterator<Item = &'a (u64, Option<Vec<u8>>)>) -> Vec<u8> {
    let mut bytes = durable.to_vec();
    for (offset, write) in writes {
        let offset = usize::try_from(*offset).unwrap_or(usize::MAX);
        match write {
            Some(data) => {
                let end = offset + data.len();
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[offset..end].copy_from_slice(data);
            }
            None => bytes.resize(offset, 0),
        }
    }
    bytes
}

/// Cuts the last kept write at a random byte and fills the rest of its sector with zeros
/// or garbage.
fn tear(bytes: &mut [u8], write: Option<&(u64, Option<Vec<u8>>)>, rng: &mut Rng) {
    let Some((offset, Some(data))) = write else {
        return;
    };
    let Ok(offset) = usize::try_from(*offset) else {
        return;
    };
    let cut = offset + rng.index(data.len() + 1);
    let sector_end = (cut / SECTOR_BYTES + 1) * SECTOR_BYTES;
    let garbage = rng.below(2) == 0;
    for byte in bytes
        .iter_mut()
        .take(sector_end.min(offset + data.len()))
        .skip(cut)
    {
        *byte = if garbage {
            rng.next_u64().to_le_bytes()[0]
        } else {
            0
        };
    }
}

/// The durable entries with each pending directory operation applied or not.
fn replay_some(
    durable: &BTreeMap<PathBuf, Node>,
    pending: &BTreeMap<PathBuf, Vec<DirOp>>,
    rng: &mut Rng,
) -> BTreeMap<PathBuf, Node> {
    let mut entries = durable.clone();
    for ops in pending.values() {
        for op in ops {
            if rng.below(2) == 0 {
                continue;
            }
            match op {
                DirOp::Put(path, node) => {
                    entries.insert(path.clone(), *node);
                }
                DirOp::Remove(path) => {
                    entries.remove(path);
                }
                DirOp::Rename(from, to) => {
                    if let Some(node) = entries.remove(from) {
                        entries.insert(to.clone(), node);
                    }
                }
            }
        }
    }
    entries
}

#[derive(Debug)]
struct SimFile {
    fs: SimFs,
    inode: usize,
    writable: bool,
}

#[derive(Debug)]
struct SimLock {
    fs: SimFs,
    path: PathBuf,
}

impl FsLock for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.fs.state().locks.remove(&self.path);
    }
}

impl Fs for SimFs {
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Box<dyn FsFile>> {
        let mut state = self.state();
        let creating = options.create || options.create_new;
        // Only creating a file (or truncating one) changes the file system.
        if creating && !state.live.contains_key(path) || options.truncate {
            state.operation()?;
        } else {
            state.reading()?;
        }
        let inode = match state.live.get(path).copied() {
            Some(Node::Dir) => return Err(io::ErrorKind::IsADirectory.into()),
            Some(Node::File(_)) if options.create_new => {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            Some(Node::File(inode)) => inode,
            None if creating => {
                if !state.is_dir(&parent_of(path)) {
                    return Err(not_found());
                }
                state.inodes.push(Inode::default());
                let inode = state.inodes.len() - 1;
                state.put(path, Node::File(inode));
                inode
            }
            None => return Err(not_found()),
        };
        if options.truncate {
            let file = state.inode(inode)?;
            file.live.clear();
            file.unsynced.push((0, None));
        }
        Ok(Box::new(SimFile {
            fs: self.clone(),
            inode,
            writable: options.write || creating,
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.operation()?;
        let mut missing: Vec<&Path> = path
            .ancestors()
            .filter(|ancestor| !state.is_dir(ancestor))
            .collect();
        missing.reverse();
        for dir in missing {
            if state.live.contains_key(dir) {
                return Err(io::ErrorKind::NotADirectory.into());
            }
            state.put(dir, Node::Dir);
        }
        Ok(())
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let state = self.state();
        state.reading()?;
        if !state.is_dir(path) {
            return Err(not_found());
        }
        Ok(state
            .live
            .iter()
            .filter(|(entry, _)| entry.parent() == Some(path))
            .map(|(entry, node)| DirEntry {
                path: entry.clone(),
                is_dir: *node == Node::Dir,
            })
            .collect())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.operation()?;
        if !state.is_dir(&parent_of(to)) {
            return Err(not_found());
        }
        let node = state.live.remove(from).ok_or_else(not_found)?;
        state.live.insert(to.to_path_buf(), node);
        let op = DirOp::Rename(from.to_path_buf(), to.to_path_buf());
        // A rename touches both directories; it is durable once both are synced, which the
        // simulation approximates by recording it with the target's directory.
        state.record(parent_of(to), op);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.operation()?;
        match state.live.get(path) {
            Some(Node::File(_)) => {}
            Some(Node::Dir) => return Err(io::ErrorKind::IsADirectory.into()),
            None => return Err(not_found()),
        }
        state.remove(path);
        Ok(())
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.operation()?;
        if state.live.get(path) != Some(&Node::Dir) {
            return Err(not_found());
        }
        if state.live.keys().any(|entry| entry.parent() == Some(path)) {
            return Err(io::ErrorKind::DirectoryNotEmpty.into());
        }
        state.remove(path);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.operation()?;
        if !state.is_dir(path) {
            return Err(not_found());
        }
        let in_dir = |entry: &Path| entry.parent() == Some(path);
        let durable_now: Vec<(PathBuf, Node)> = state
            .live
            .iter()
            .filter(|(entry, _)| in_dir(entry))
            .map(|(entry, node)| (entry.clone(), *node))
            .collect();
        state.durable.retain(|entry, _| !in_dir(entry));
        state.durable.extend(durable_now);
        state.pending.remove(path);
        Ok(())
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        let state = self.state();
        state.reading()?;
        if state.is_dir(path) {
            return Ok(Metadata {
                len_bytes: 0,
                is_dir: true,
            });
        }
        match state.live.get(path) {
            Some(Node::File(inode)) => {
                let len_bytes = state
                    .inodes
                    .get(*inode)
                    .map_or(0, |inode| inode.live.len() as u64);
                Ok(Metadata {
                    len_bytes,
                    is_dir: false,
                })
            }
            _ => Err(not_found()),
        }
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.operation()?;
        if state.live.contains_key(to) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let node = *state.live.get(from).ok_or_else(not_found)?;
        state.put(to, node);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        drop(self.open(path, OpenOptions::write())?);
        let mut state = self.state();
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Box::new(SimLock {
            fs: self.clone(),
            path: path.to_path_buf(),
        }))
    }

    fn available_space(&self, _path: &Path) -> io::Result<u64> {
        let state = self.state();
        state.reading()?;
        Ok(state
            .quota_bytes
            .map_or(u64::MAX, |quota| quota.saturating_sub(state.used_bytes())))
    }
}

impl SimFile {
    fn write(&self, offset: Option<u64>, buf: &[u8]) -> io::Result<usize> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "file opened read-only",
            ));
        }
        let mut state = self.fs.state();
        state.operation()?;
        let current_len = state.inode(self.inode)?.live.len() as u64;
        let offset = offset.unwrap_or(current_len);
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or(io::ErrorKind::InvalidInput)?;
        state.check_quota(end.saturating_sub(current_len))?;
        let file = state.inode(self.inode)?;
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        let end = usize::try_from(end).map_err(|_| io::ErrorKind::InvalidInput)?;
        if file.live.len() < end {
            file.live.resize(end, 0);
        }
        file.live[start..end].copy_from_slice(buf);
        file.unsynced.push((offset, Some(buf.to_vec())));
        Ok(buf.len())
    }

    fn sync(&self) -> io::Result<()> {
        let mut state = self.fs.state();
        state.operation()?;
        let file = state.inode(self.inode)?;
        file.durable.clone_from(&file.live);
        file.unsynced.clear();
        Ok(())
    }
}

impl FsFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut state = self.fs.state();
        state.reading()?;
        let file = state.inode(self.inode)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(file.live.len());
        let available = &file.live[start..];
        let read = available.len().min(buf.len());
        buf[..read].copy_from_slice(&available[..read]);
        Ok(read)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.write(Some(offset), buf)
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.write(None, buf).map(drop)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync()
    }

    fn set_len(&self, len_bytes: u64) -> io::Result<()> {
        let mut state = self.fs.state();
        state.operation()?;
        let current = state.inode(self.inode)?.live.len() as u64;
        state.check_quota(len_bytes.saturating_sub(current))?;
        let file = state.inode(self.inode)?;
        file.live.resize(
            usize::try_from(len_bytes).map_err(|_| io::ErrorKind::InvalidInput)?,
            0,
        );
        file.unsynced.push((len_bytes, None));
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let mut state = self.fs.state();
        state.reading()?;
        Ok(state.inode(self.inode)?.live.len() as u64)
    }
}

#[cfg(test)]
mod tests;
