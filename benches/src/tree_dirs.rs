//! Database directories of the bench: removal and on-disk size, through `StdFs`.

use std::path::Path;

use lsm_core::{Fs, StdFs};

/// Removes a directory tree (best effort).
pub fn remove_all(path: &Path) {
    if let Ok(entries) = StdFs.read_dir(path) {
        for entry in entries {
            if entry.is_dir {
                remove_all(&entry.path);
            } else {
                let _ = StdFs.remove_file(&entry.path);
            }
        }
    }
    let _ = StdFs.remove_dir(path);
}

/// Bytes of every file below `path`.
///
/// A file removed while it is counted (an engine deleting an obsolete file) counts 0.
///
/// # Errors
/// When a directory cannot be listed or a file's size read.
pub fn dir_bytes(path: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in StdFs.read_dir(path)? {
        total += if entry.is_dir {
            dir_bytes(&entry.path)?
        } else {
            match StdFs.metadata(&entry.path) {
                Ok(metadata) => metadata.len_bytes,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
                Err(error) => return Err(error),
            }
        };
    }
    Ok(total)
}
