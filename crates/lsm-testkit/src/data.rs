//! The Debian package index as key-value records.
//!
//! Two sets of the same records, one JSON object per line, zstd-compressed:
//! - the full set, `debian-packages.jsonl.zst` (63,440 records, 53 MB of JSON), in the
//!   folder `$LSM_DATA_DIR` names, or else in `shared/data` beside the checkout when
//!   that folder is there;
//! - otherwise the subset that ships with this crate, `data/debian-packages-subset.jsonl.zst`:
//!   the full set's first 12,000 records (9.9 MB of JSON, 1.7 MB compressed; see
//!   `data/README.md` for where they come from and their terms).
//!
//! [`DataSet::current`] says which one the loaders read; every tool that reports a figure
//! drawn from them names it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use lsm_codec::DataBlockBuilder;
use lsm_core::{StdFs, ValueType, fs::read_all};
use serde_json::{Map, Value};

/// The name of the full set's file.
pub const DEBIAN_PACKAGES_FILE: &str = "debian-packages.jsonl.zst";

/// The name of the shipped subset's file, in this crate's `data` folder.
pub const DEBIAN_PACKAGES_SUBSET_FILE: &str = "debian-packages-subset.jsonl.zst";

/// Records in the shipped subset (the full set's first ones, in file order).
pub const SUBSET_RECORD_COUNT: usize = 12_000;

/// Which set of records the loaders read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSet {
    /// The full set, at this path.
    Full(PathBuf),
    /// The subset shipped with this crate, at this path.
    Subset(PathBuf),
}

impl DataSet {
    /// The set the loaders read: the full set in `$LSM_DATA_DIR` when set (it must hold
    /// the file: a named folder without it is an error at load, not a silent fallback),
    /// else the full set in `shared/data` beside the checkout when it is there, else the
    /// shipped subset.
    /// `LSM_DATA_SUBSET=1` picks the shipped subset whatever else is there (to compare
    /// figures on the two sets).
    #[must_use]
    pub fn current() -> Self {
        if std::env::var_os("LSM_DATA_SUBSET").is_some_and(|value| value == "1") {
            return Self::subset();
        }
        if let Some(dir) = std::env::var_os("LSM_DATA_DIR") {
            return Self::Full(PathBuf::from(dir).join(DEBIAN_PACKAGES_FILE));
        }
        let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .join(DEBIAN_PACKAGES_FILE);
        if lsm_core::Fs::metadata(&StdFs, &beside).is_ok_and(|metadata| !metadata.is_dir) {
            return Self::Full(beside);
        }
        Self::subset()
    }

    /// The subset shipped with this crate.
    #[must_use]
    pub fn subset() -> Self {
        Self::Subset(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data")
                .join(DEBIAN_PACKAGES_SUBSET_FILE),
        )
    }

    /// The compressed file.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Self::Full(path) | Self::Subset(path) => path,
        }
    }

    /// `"full"` or `"subset"`: the set's name in reports and result files.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Full(_) => "full",
            Self::Subset(_) => "subset",
        }
    }
}

impl fmt::Display for DataSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(path) => write!(
                f,
                "Debian's package index, full set (63,440 records, {})",
                path.display()
            ),
            Self::Subset(_) => write!(
                f,
                "Debian's package index, the shipped subset (its first {SUBSET_RECORD_COUNT} \
                 records; LSM_DATA_DIR selects the full set)"
            ),
        }
    }
}

/// Fields kept in [`Record::small_value`]: a row of a few hundred bytes.
const SMALL_ROW_FIELDS: &[&str] = &[
    "Package",
    "Version",
    "Architecture",
    "Maintainer",
    "Installed-Size",
    "Depends",
    "Section",
    "Priority",
    "Homepage",
    "Description",
];

/// One package: key `Package` + `Version`, value the whole JSON line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `"<Package> <Version>"`.
    pub key: Vec<u8>,
    /// The JSON line, as stored in the file.
    pub value: Vec<u8>,
    /// The same record cut to the fields of a typical small row (100 to 500 bytes).
    pub small_value: Vec<u8>,
}

/// Loads every record of the current [`DataSet`], in file order.
///
/// # Errors
/// When the file is missing or not zstd-compressed JSON lines.
pub fn debian_records() -> io::Result<Vec<Record>> {
    records_of(&DataSet::current())
}

/// Loads every record of `set`, in file order.
///
/// # Errors
/// As [`debian_records`].
pub fn records_of(set: &DataSet) -> io::Result<Vec<Record>> {
    let path = set.path();
    let compressed = read_all(&StdFs, path)
        .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))?;
    let text = zstd::decode_all(compressed.as_slice())?;
    text.split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(parse_record)
        .collect()
}

fn parse_record(line: &[u8]) -> io::Result<Record> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let object: Map<String, Value> =
        serde_json::from_slice(line).map_err(|error| invalid(&error.to_string()))?;
    let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or_default();
    let key = format!("{} {}", field("Package"), field("Version")).into_bytes();
    let small: Map<String, Value> = SMALL_ROW_FIELDS
        .iter()
        .filter_map(|&name| {
            object
                .get(name)
                .map(|value| (name.to_owned(), short(value)))
        })
        .collect();
    let small_value = serde_json::to_vec(&small).map_err(|error| invalid(&error.to_string()))?;
    Ok(Record {
        key,
        value: line.to_vec(),
        small_value,
    })
}

/// Keeps the first line of long text fields (the description's summary).
fn short(value: &Value) -> Value {
    match value.as_str() {
        Some(text) => Value::String(text.lines().next().unwrap_or_default().to_owned()),
        None => value.clone(),
    }
}

/// Sorted, distinct `(key, row)` pairs of one block, and the encoded block.
pub type RowBlock = (Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>);

/// The Debian records as sorted `(key, small row)` pairs cut into data blocks of about
/// `block_bytes` (restart interval 16, seqno 1): what block and codec benchmarks run on.
///
/// # Errors
/// As [`debian_records`].
pub fn small_row_blocks(block_bytes: usize) -> io::Result<Vec<RowBlock>> {
    let mut rows: Vec<_> = debian_records()?
        .into_iter()
        .map(|record| (record.key, record.small_value))
        .collect();
    rows.sort();
    rows.dedup_by(|a, b| a.0 == b.0);
    let mut blocks = Vec::new();
    let mut builder = DataBlockBuilder::new(16);
    let mut entries = Vec::new();
    for (key, value) in rows {
        builder.add(&key, 1, ValueType::Value, &value);
        entries.push((key, value));
        if builder.estimated_len() >= block_bytes {
            blocks.push((std::mem::take(&mut entries), builder.finish()));
        }
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_subset_loads_with_distinct_keys_and_real_values() {
        let records = records_of(&DataSet::subset()).unwrap();
        assert_eq!(records.len(), SUBSET_RECORD_COUNT);
        let mut keys: Vec<_> = records.iter().map(|record| &record.key).collect();
        keys.sort();
        keys.dedup();
        assert!(
            keys.len() > SUBSET_RECORD_COUNT * 99 / 100,
            "keys mostly distinct"
        );
        let value_bytes: usize = records.iter().map(|record| record.value.len()).sum();
        // The db_bench value corpus is the first 8 MiB of values: the subset holds it whole.
        assert!(value_bytes > 8 << 20, "{value_bytes} bytes of values");
        assert!(
            records
                .iter()
                .all(|record| record.value.starts_with(b"{\"Package\""))
        );
    }

    #[test]
    fn the_subset_is_the_full_sets_first_records_when_both_are_here() {
        let DataSet::Full(path) = DataSet::current() else {
            return; // Only the subset is here: nothing to compare with.
        };
        let Ok(full) = records_of(&DataSet::Full(path)) else {
            return;
        };
        let subset = records_of(&DataSet::subset()).unwrap();
        assert_eq!(&full[..SUBSET_RECORD_COUNT], subset.as_slice());
    }

    #[test]
    fn a_named_folder_without_the_file_is_an_error_not_a_fallback() {
        let missing = DataSet::Full(PathBuf::from("/nonexistent").join(DEBIAN_PACKAGES_FILE));
        let error = records_of(&missing).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("/nonexistent"));
    }
}
