//! Names of a tree's files and directories (`docs/format/file-naming.md`).
//!
//! ```text
//! <tree>/lock            the directory lock (exclusive while open)
//! <tree>/current         names the live manifest generation (lsm-version)
//! <tree>/manifest-<gen>  the manifest (lsm-version)
//! <tree>/ENCRYPTION      an encrypted tree's salt and key check value
//! <tree>/tables/<id>     one table per file, named by its decimal id
//! <tree>/blobs/<id>      one blob file per file, named by its decimal id
//! ```

use std::path::{Path, PathBuf};

use lsm_core::{BlobFileId, TableId};

/// The lock file.
pub const LOCK_FILE: &str = "lock";

/// The marker of an encrypted tree (see `crate::encryption`).
pub const ENCRYPTION_MARKER: &str = "ENCRYPTION";

/// The directory of tables.
pub const TABLES_DIR: &str = "tables";

/// Where table `id` of the tree at `tree_dir` lives.
#[must_use]
pub fn table_path(tree_dir: &Path, id: TableId) -> PathBuf {
    tree_dir.join(TABLES_DIR).join(id.to_string())
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
    fn table_names_round_trip_and_strangers_are_ignored() {
        let path = table_path(Path::new("/db"), 42);
        assert_eq!(path, Path::new("/db/tables/42"));
        assert_eq!(parse_table_file_name("42"), Some(42));
        for stranger in ["", "042", "4a", "42.tmp", "-1", "99999999999999999999999"] {
            assert_eq!(parse_table_file_name(stranger), None, "{stranger}");
        }
    }
}
