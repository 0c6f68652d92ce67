//! Reading and writing whole files through the engine's file-system seam.

use std::io;
use std::path::Path;

use lsm::fs::{Fs, OpenOptions, StdFs};

/// The whole file at `path`.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let file = StdFs.open(path, OpenOptions::read())?;
    let len = usize::try_from(file.len()?).map_err(|_| io::Error::other("file too large"))?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
}

/// Replaces (or creates) the file at `path` with `bytes`, synced.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let options = OpenOptions {
        truncate: true,
        ..OpenOptions::write()
    };
    let file = StdFs.open(path, options)?;
    file.append(bytes)?;
    file.sync_all()
}
