//! Names of a tree's files and directories (`docs/format/file-naming.md`).
//!
//! ```text
//! <tree>/lock            the directory lock (exclusive while open)
//! <tree>/current         names the live manifest generation (lsm-version)
//! <tree>/manifest-<gen>  the manifest (lsm-version)
//! <tree>/ENCRYPTION      an encrypted tree's salt and key check value
//! <tree>/tables/<id>     one table per file, named by its decimal id
//! <tree>/tables/drop-<n> a drop marker: the ids of the tables one drop removes (clear,
//!                        drop_range, a FIFO drop); written whole before the edit,
//!                        removed once they are all deleted, and all removed at open
//! <tree>/blobs/<id>      one blob file per file, named by its decimal id
//! <tree>/ROUTE           the tree's identity, when it has level routes
//! <route>/lock           a level route's directory lock
//! <route>/ROUTE          the identity of the tree the route belongs to
//! <route>/tables/<id>    the tables of the route's levels
//! ```

use std::path::{Path, PathBuf};

use lsm_core::{BlobFileId, TableId};

/// The lock file.
pub const LOCK_FILE: &str = "lock";

/// The marker of an encrypted tree (see `crate::encryption`).
pub const ENCRYPTION_MARKER: &str = "ENCRYPTION";

/// The identity file of a tree with level routes, and of each route's directory.
pub const ROUTE_FILE: &str = "ROUTE";

/// The directory of tables.
pub const TABLES_DIR: &str = "tables";

/// Where table `id` of the tree at `tree_dir` lives in the tree's own directory (a
/// table of a level with a route lives in the route's `tables/` instead; see
/// [`crate::config::LevelRoute`]).
#[must_use]
pub fn table_path(tree_dir: &Path, id: TableId) -> PathBuf {
    tree_dir.join(TABLES_DIR).join(id.to_string())
}

/// The id a tree gave the file at `path` (its name).
///
/// # Errors
/// [`crate::Error::NotATreeFile`] for a name the tree never gives a table or blob file.
pub(crate) fn tree_file_id(path: &Path) -> crate::Result<u64> {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(parse_table_file_name)
        .ok_or_else(|| crate::Error::NotATreeFile {
            path: path.to_path_buf(),
        })
}

/// The prefix of a drop marker's file name (see the module docs).
pub const DROP_MARKER_PREFIX: &str = "drop-";

/// The magic first line of a drop marker.
const DROP_MARKER_MAGIC: &str = "lsm drop marker 1";

/// The file name of drop marker `n`, and of the file it is written as first.
#[must_use]
pub fn drop_marker_names(n: u64) -> (String, String) {
    let name = format!("{DROP_MARKER_PREFIX}{n}");
    let temp = format!("{name}.tmp");
    (name, temp)
}

/// Whether `name` is a drop marker's (or one being written).
#[must_use]
pub fn is_drop_marker_name(name: &str) -> bool {
    name.strip_prefix(DROP_MARKER_PREFIX)
        .map(|rest| rest.strip_suffix(".tmp").unwrap_or(rest))
        .is_some_and(|digits| parse_table_file_name(digits).is_some())
}

/// A drop marker's content: the magic line, one id per line, and the XXH3-64 of what
/// comes before it.
#[must_use]
pub fn encode_drop_marker(ids: &[TableId]) -> Vec<u8> {
    let mut text = format!("{DROP_MARKER_MAGIC}\n");
    for id in ids {
        text.push_str(&format!("{id}\n"));
    }
    let digest = lsm_core::checksum::Checksum::of(text.as_bytes()).into_raw();
    text.push_str(&format!("{digest:016x}\n"));
    text.into_bytes()
}

/// The ids of a drop marker, or `None` when it is not a whole one.
#[must_use]
pub fn decode_drop_marker(bytes: &[u8]) -> Option<Vec<TableId>> {
    let text = std::str::from_utf8(bytes).ok()?.strip_suffix('\n')?;
    let (body, digest) = text.split_at(text.rfind('\n')? + 1);
    if digest.len() != 16 || !digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let digest = u64::from_str_radix(digest, 16).ok()?;
    if lsm_core::checksum::Checksum::of(body.as_bytes()).into_raw() != digest {
        return None;
    }
    let mut lines = body.lines();
    if lines.next()? != DROP_MARKER_MAGIC {
        return None;
    }
    lines.map(parse_table_file_name).collect()
}

/// The directory of blob files (separated values).
pub const BLOBS_DIR: &str = "blobs";

/// Where blob file `id` of the tree at `tree_dir` lives.
#[must_use]
pub fn blob_path(tree_dir: &Path, id: BlobFileId) -> PathBuf {
    tree_dir.join(BLOBS_DIR).join(id.to_string())
}

/// The id of a table (or blob) file name, or `None` for a name the tree never writes.
#[must_use]
pub fn parse_table_file_name(name: &str) -> Option<TableId> {
    let canonical = !name.is_empty()
        && name.bytes().all(|byte| byte.is_ascii_digit())
        && (name == "0" || !name.starts_with('0'));
    canonical.then(|| name.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_markers_round_trip_and_damage_is_refused() {
        let bytes = encode_drop_marker(&[3, 17, 250]);
        assert_eq!(decode_drop_marker(&bytes), Some(vec![3, 17, 250]));
        for idx in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[idx] ^= 0x01;
            assert_eq!(decode_drop_marker(&damaged), None, "flip at {idx}");
        }
        assert_eq!(decode_drop_marker(&bytes[..bytes.len() - 3]), None);
        let (name, temp) = drop_marker_names(9);
        assert!(is_drop_marker_name(&name) && is_drop_marker_name(&temp));
        assert!(!is_drop_marker_name("drop-x") && !is_drop_marker_name("9"));
    }

    #[test]
    fn table_names_round_trip_and_strangers_are_ignored() {
        let path = table_path(Path::new("/db"), 42);
        assert_eq!(path, Path::new("/db/tables/42"));
        assert_eq!(parse_table_file_name("42"), Some(42));
        for stranger in ["", "042", "4a", "42.tmp", "-1", "99999999999999999999999"] {
            assert_eq!(parse_table_file_name(stranger), None, "{stranger}");
        }
    }
}
