//! The Debian package index as key-value records.
//!
//! The file is `debian-packages.jsonl.zst` in the shared data folder: one JSON object per
//! line. Its location is `$LSM_DATA_DIR` when set, else `../shared/data` beside the
//! workspace root (where every checkout and CI run has it).

use std::io;
use std::path::{Path, PathBuf};

use lsm_codec::DataBlockBuilder;
use lsm_core::{StdFs, ValueType, fs::read_all};
use serde_json::{Map, Value};

/// The name of the data file.
pub const DEBIAN_PACKAGES_FILE: &str = "debian-packages.jsonl.zst";

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

/// Where the data folder is.
#[must_use]
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LSM_DATA_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Loads every record of the Debian package index, in file order.
///
/// # Errors
/// When the file is missing or not zstd-compressed JSON lines.
pub fn debian_records() -> io::Result<Vec<Record>> {
    let path = data_dir().join(DEBIAN_PACKAGES_FILE);
    let compressed = read_all(&StdFs, &path)
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
