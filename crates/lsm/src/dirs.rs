//! A tree's directories: creating them durably, locking them, telling a new tree's
//! directory from one whose manifest is gone, and claiming the directories of its level
//! routes (see [`crate::config::LevelRoute`]).
//!
//! A route's directory holds only tables, which orphan removal deletes when the tree's
//! manifest does not name them: a directory two trees shared would lose one tree's
//! tables to the other's cleanup. So each tree names itself with a random identity in
//! `<tree>/ROUTE`, and each of its routes carries the same file: opening refuses a route
//! directory that names another tree, or that holds tables but no name at all.

use std::io;
use std::path::Path;

use lsm_compaction::Outputs;
use lsm_core::{Fs, FsLock};

use crate::layout::{BLOBS_DIR, LOCK_FILE, ROUTE_FILE, TABLES_DIR, parse_table_file_name};
use crate::{Config, Error, Result};

/// Creates `dir` and makes its entry durable in its parent.
pub(crate) fn create_dir_durably(fs: &dyn Fs, dir: &Path) -> Result<()> {
    if fs
        .exists(dir)
        .map_err(|source| Error::io("stat", dir, source))?
    {
        return Ok(());
    }
    fs.create_dir_all(dir)
        .map_err(|source| Error::io("create dir", dir, source))?;
    if let Some(parent) = dir.parent() {
        fs.sync_dir(parent)
            .map_err(|source| Error::io("sync dir", parent, source))?;
    }
    Ok(())
}

/// Takes the lock file of `dir` (when `enabled`), held until the guard drops.
///
/// # Errors
/// [`Error::Locked`] when another opener holds it; I/O errors.
pub(crate) fn lock_directory(
    fs: &dyn Fs,
    dir: &Path,
    enabled: bool,
) -> Result<Option<Box<dyn FsLock>>> {
    if !enabled {
        return Ok(None);
    }
    let path = dir.join(LOCK_FILE);
    match fs.lock(&path) {
        Ok(lock) => Ok(Some(lock)),
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
            Err(Error::Locked(dir.display().to_string()))
        }
        Err(source) => Err(Error::io("lock", &path, source)),
    }
}

/// Whether `tables/` or `blobs/` of the tree at `dir` holds a numerically named file.
pub(crate) fn holds_files(fs: &dyn Fs, dir: &Path) -> Result<bool> {
    for sub in [TABLES_DIR, BLOBS_DIR] {
        if holds_numbered(fs, &dir.join(sub))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `dir` exists and holds a numerically named file (a table or a blob file).
fn holds_numbered(fs: &dyn Fs, dir: &Path) -> Result<bool> {
    if !fs
        .exists(dir)
        .map_err(|source| Error::io("stat", dir, source))?
    {
        return Ok(false);
    }
    let entries = fs
        .read_dir(dir)
        .map_err(|source| Error::io("list", dir, source))?;
    Ok(entries
        .iter()
        .any(|entry| entry.file_name().and_then(parse_table_file_name).is_some()))
}

/// The first line of a route identity file.
const ROUTE_MAGIC: &str = "lsm level route 1";

/// Creates, locks and claims the directory of each of `config`'s level routes (after
/// the tree's own directory is locked); the locks are held while the tree is open.
/// `take_over` (a repair, which adopts the tables it finds) claims a directory whatever
/// it names.
///
/// # Errors
/// [`Error::RouteClaimed`] for a directory of another tree; [`Error::Locked`]; I/O
/// errors creating or claiming the directories.
pub(crate) fn claim_routes(
    fs: &dyn Fs,
    config: &Config,
    take_over: bool,
) -> Result<Vec<Box<dyn FsLock>>> {
    // `fs` is the tree's (serving every route); a route's own directory entry is made
    // on the route's file system.
    if config.level_routes().is_empty() {
        return Ok(Vec::new());
    }
    let identity = tree_identity(fs, &config.path)?;
    let mut locks = Vec::new();
    for route in config.level_routes() {
        let dir = &route.dir;
        create_dir_durably(config.route_fs(route).as_ref(), dir)?;
        locks.extend(lock_directory(fs, dir, config.directory_lock)?);
        let tables = dir.join(TABLES_DIR);
        create_dir_durably(fs, &tables)?;
        let claimed = if take_over {
            Ok(None)
        } else {
            read_identity(fs, dir)
        };
        match claimed {
            Ok(Some(claimed)) if claimed == identity => {}
            Ok(None) if take_over || !holds_numbered(fs, &tables)? => {
                write_identity(fs, dir, &identity)?;
            }
            Ok(_) => return Err(Error::RouteClaimed(dir.clone())),
            Err(error) => return Err(error),
        }
    }
    Ok(locks)
}

/// The identity of the tree at `dir`, made (durably) on first use.
fn tree_identity(fs: &dyn Fs, dir: &Path) -> Result<String> {
    if let Some(identity) = read_identity(fs, dir)? {
        return Ok(identity);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let seed = format!("{}:{nanos}:{}", dir.display(), std::process::id());
    let identity = format!(
        "{:016x}",
        lsm_core::checksum::Checksum::of(seed.as_bytes()).into_raw()
    );
    write_identity(fs, dir, &identity)?;
    Ok(identity)
}

/// The identity `dir/ROUTE` holds, if the file exists.
///
/// # Errors
/// [`Error::RouteClaimed`] for a file that is not an identity (damaged, or not ours):
/// the directory is not known to be this tree's.
fn read_identity(fs: &dyn Fs, dir: &Path) -> Result<Option<String>> {
    let path = dir.join(ROUTE_FILE);
    let bytes = match lsm_core::fs::read_all(fs, &path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::io("read", &path, source)),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(ROUTE_MAGIC), Some(identity))
            if identity.len() == 16 && identity.bytes().all(|byte| byte.is_ascii_hexdigit()) =>
        {
            Ok(Some(identity.to_owned()))
        }
        _ => Err(Error::RouteClaimed(dir.to_path_buf())),
    }
}

fn write_identity(fs: &dyn Fs, dir: &Path, identity: &str) -> Result<()> {
    let bytes = format!("{ROUTE_MAGIC}\n{identity}\n");
    let temp = format!("{ROUTE_FILE}.tmp");
    lsm_core::fs::replace_durably(fs, dir, ROUTE_FILE, &temp, bytes.as_bytes())
        .map_err(|step| Error::io(step.op, &step.path, step.source))
}

/// Moves the tables of `outputs` (written, not yet named by any edit) into `dir` when
/// they are elsewhere, each durably: a rename, or a copy and a delete between file
/// systems; `dir` is synced before this returns. A crash leaves orphans only.
///
/// # Errors
/// I/O errors (the files moved so far are named by `outputs`, for the caller to delete).
pub(crate) fn move_tables(fs: &dyn Fs, outputs: &mut Outputs, dir: &Path) -> Result<()> {
    let mut moved = false;
    for table in &mut outputs.tables {
        if table.path.parent() == Some(dir) {
            continue;
        }
        let Some(name) = table.path.file_name() else {
            continue;
        };
        let to = dir.join(name);
        move_file(fs, &table.path, &to)?;
        table.path = to;
        moved = true;
    }
    if moved {
        fs.sync_dir(dir)
            .map_err(|source| Error::io("sync dir", dir, source))?;
    }
    Ok(())
}

/// Bytes copied per step when a move crosses file systems.
const COPY_CHUNK_BYTES: usize = 1 << 20;

/// Moves `from` to `to`: a rename, or (across devices or `Fs` backends) a copy synced
/// before `from` is removed.
fn move_file(fs: &dyn Fs, from: &Path, to: &Path) -> Result<()> {
    match fs.rename(from, to) {
        Ok(()) => return Ok(()),
        Err(error) if error.kind() == io::ErrorKind::CrossesDevices => {}
        Err(source) => return Err(Error::io("rename", from, source)),
    }
    if let Err(error) = copy_file(fs, from, to) {
        // Best effort: the next open removes what is left as an orphan.
        let _ = fs.remove_file(to);
        return Err(error);
    }
    fs.remove_file(from)
        .map_err(|source| Error::io("remove", from, source))
}

/// Copies `from` to the new file `to` in chunks of [`COPY_CHUNK_BYTES`], synced.
///
/// # Errors
/// I/O errors (a partial `to` is left for the caller).
pub(crate) fn copy_file(fs: &dyn Fs, from: &Path, to: &Path) -> Result<()> {
    let source = fs
        .open(from, lsm_core::OpenOptions::read())
        .map_err(|source| Error::io("open", from, source))?;
    let target = fs
        .open(to, lsm_core::OpenOptions::create_new())
        .map_err(|source| Error::io("create", to, source))?;
    let len = source
        .len()
        .map_err(|source| Error::io("stat", from, source))?;
    let mut buf = vec![0; COPY_CHUNK_BYTES];
    let mut offset = 0;
    while offset < len {
        let chunk = usize::try_from(len - offset).map_or(buf.len(), |left| left.min(buf.len()));
        source
            .read_exact_at(&mut buf[..chunk], offset)
            .map_err(|source| Error::io("read", from, source))?;
        target
            .append(&buf[..chunk])
            .map_err(|source| Error::io("write", to, source))?;
        offset += chunk as u64;
    }
    target
        .sync_all()
        .map_err(|source| Error::io("sync", to, source))
}
