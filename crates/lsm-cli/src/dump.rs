//! `lsm dump`: one table (properties, index, entries, filter statistics) or blob file
//! (frames), read without its tree.

use std::path::{Path, PathBuf};

use clap::Args;
use lsm::inspect::{self, InspectOptions};
use lsm::{StdFs, ValueType};

use crate::error::{Result, Status};
use crate::text;

/// Arguments of `lsm dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    /// A table (`<tree>/tables/<id>`) or blob file (`<tree>/blobs/<id>`), plaintext.
    pub file: PathBuf,
    /// Also the index: each data block's last key and place.
    #[arg(long)]
    pub index: bool,
    /// Also the entries (every version and tombstone) or, for a blob file, the frames.
    #[arg(long)]
    pub entries: bool,
    /// At most this many entries, frames or index entries.
    #[arg(long, default_value_t = 1_000)]
    pub limit: usize,
    /// Print everything as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Whether `file` lies in a tree's `blobs` directory.
fn in_blobs(file: &Path) -> bool {
    file.parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == lsm::layout::BLOBS_DIR)
}

/// Runs `lsm dump`.
pub fn run(args: &DumpArgs) -> Result<Status> {
    if !args.file.is_file() {
        return Err(crate::error::CliError::new(
            Status::NotFound,
            format!("no file at {}", args.file.display()),
        ));
    }
    if in_blobs(&args.file) {
        blob_file(args)
    } else {
        table(args)
    }
}

fn value_type(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::Value => "value",
        ValueType::Tombstone => "tombstone",
        ValueType::WeakTombstone => "weak tombstone",
        ValueType::MergeOperand => "merge operand",
        ValueType::Indirection => "indirection",
    }
}

fn table(args: &DumpArgs) -> Result<Status> {
    let options = InspectOptions::default();
    let properties = inspect::read_table_properties(&StdFs, &args.file, &options)?;
    let filter = inspect::read_filter_stats(&StdFs, &args.file, &options)?;
    let rows: Vec<(&str, String)> = vec![
        ("smallest key", text::escaped(&properties.key_min)),
        ("largest key", text::escaped(&properties.key_max)),
        (
            "seqnos",
            format!("{} ..= {}", properties.seqno_min, properties.seqno_max),
        ),
        ("entries", properties.entry_count.to_string()),
        ("distinct keys", properties.user_key_count.to_string()),
        ("tombstones", properties.tombstone_count.to_string()),
        (
            "weak tombstones",
            properties.weak_tombstone_count.to_string(),
        ),
        ("merge operands", properties.merge_operand_count.to_string()),
        ("indirections", properties.indirection_count.to_string()),
        (
            "range tombstones",
            properties.range_tombstone_count.to_string(),
        ),
        ("data blocks", properties.data_block_count.to_string()),
        ("index blocks", properties.index_block_count.to_string()),
        ("data bytes (raw)", properties.data_bytes_raw.to_string()),
        (
            "data bytes (stored)",
            properties.data_bytes_stored.to_string(),
        ),
        ("index bytes", properties.index_bytes_stored.to_string()),
        ("filter bytes", properties.filter_bytes_stored.to_string()),
        ("key bytes", properties.key_bytes.to_string()),
        ("value bytes", properties.value_bytes.to_string()),
        ("data compression", properties.data_compression.clone()),
        ("index compression", properties.index_compression.clone()),
        ("block size", properties.block_size.to_string()),
        ("restart interval", properties.restart_interval.to_string()),
        ("created at (ms)", properties.created_at_ms.to_string()),
        (
            "key order",
            properties
                .comparator
                .clone()
                .unwrap_or_else(|| "lexicographic".into()),
        ),
        (
            "prefix extractor",
            properties
                .prefix_extractor
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
        ("replaces tables", ids(&properties.replaces)),
        ("obsolete tables", ids(&properties.obsolete)),
    ];
    let index = if args.index {
        inspect::read_index_entries(&StdFs, &args.file, &options)?
            .into_iter()
            .take(args.limit)
            .collect()
    } else {
        Vec::new()
    };
    let entries = if args.entries {
        inspect::iter_data_block_entries(&StdFs, &args.file, &options)?
            .take(args.limit)
            .collect::<lsm::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    if args.json {
        let mut object = serde_json::Map::new();
        object.insert("kind".into(), "table".into());
        let mut props = serde_json::Map::new();
        for (name, value) in &rows {
            props.insert((*name).to_owned(), value.clone().into());
        }
        object.insert("properties".into(), props.into());
        if let Some(filter) = &filter {
            object.insert(
                "filter".into(),
                serde_json::json!({
                    "keys": filter.key_count,
                    "bytes": filter.size_in_bytes,
                    "bits_per_key": filter.bits_per_key,
                }),
            );
        }
        if args.index {
            let index: Vec<serde_json::Value> = index
                .iter()
                .map(|entry| {
                    let mut item = serde_json::Map::new();
                    text::json_bytes(&mut item, "last_key", &entry.last_key.user_key);
                    item.insert("offset".into(), entry.handle.offset.into());
                    item.insert("len".into(), entry.handle.len_bytes.into());
                    item.into()
                })
                .collect();
            object.insert("index".into(), index.into());
        }
        if args.entries {
            let entries: Vec<serde_json::Value> = entries
                .iter()
                .map(|entry| {
                    let mut item = serde_json::Map::new();
                    text::json_bytes(&mut item, "key", &entry.key.user_key);
                    item.insert("seqno".into(), entry.key.seqno.into());
                    item.insert("type".into(), value_type(entry.key.value_type).into());
                    text::json_bytes(&mut item, "value", &entry.value);
                    item.into()
                })
                .collect();
            object.insert("entries".into(), entries.into());
        }
        println!("{}", serde_json::Value::Object(object));
        return Ok(Status::Ok);
    }
    println!("table {}", args.file.display());
    for (name, value) in &rows {
        println!("  {name:<20} {value}");
    }
    match &filter {
        Some(filter) => println!(
            "  {:<20} {} keys, {} ({:.2} bits per key)",
            "filter",
            filter.key_count,
            text::size(filter.size_in_bytes as u64),
            filter.bits_per_key
        ),
        None => println!("  {:<20} none", "filter"),
    }
    if args.index {
        let rows: Vec<Vec<String>> = index
            .iter()
            .map(|entry| {
                vec![
                    text::escaped(&entry.last_key.user_key),
                    entry.last_key.seqno.to_string(),
                    entry.handle.offset.to_string(),
                    entry.handle.len_bytes.to_string(),
                ]
            })
            .collect();
        print!(
            "\n{}",
            text::table(&["last key", "seqno", "offset", "bytes"], &rows)
        );
    }
    if args.entries {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|entry| {
                vec![
                    text::escaped(&entry.key.user_key),
                    entry.key.seqno.to_string(),
                    value_type(entry.key.value_type).to_owned(),
                    text::escaped(&entry.value),
                ]
            })
            .collect();
        print!(
            "\n{}",
            text::table(&["key", "seqno", "type", "value"], &rows)
        );
    }
    Ok(Status::Ok)
}

fn ids(ids: &[u64]) -> String {
    if ids.is_empty() {
        return "-".into();
    }
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn blob_file(args: &DumpArgs) -> Result<Status> {
    let frames = inspect::read_blob_frames(&StdFs, &args.file)?;
    let value_bytes: u64 = frames.iter().map(|frame| u64::from(frame.value_len)).sum();
    let stored: u64 = frames.iter().map(|frame| frame.on_disk_len).sum();
    if args.json {
        let mut object = serde_json::Map::new();
        object.insert("kind".into(), "blob file".into());
        object.insert("frames".into(), frames.len().into());
        object.insert("value_bytes".into(), value_bytes.into());
        object.insert("stored_bytes".into(), stored.into());
        if args.entries {
            let items: Vec<serde_json::Value> = frames
                .iter()
                .take(args.limit)
                .map(|frame| {
                    let mut item = serde_json::Map::new();
                    text::json_bytes(&mut item, "key", &frame.key);
                    item.insert("seqno".into(), frame.seqno.into());
                    item.insert("offset".into(), frame.offset.into());
                    item.insert("stored_bytes".into(), frame.on_disk_len.into());
                    item.insert("value_bytes".into(), frame.value_len.into());
                    item.into()
                })
                .collect();
            object.insert("entries".into(), items.into());
        }
        println!("{}", serde_json::Value::Object(object));
        return Ok(Status::Ok);
    }
    println!("blob file {}", args.file.display());
    println!("  {:<20} {}", "frames", frames.len());
    println!("  {:<20} {}", "value bytes", value_bytes);
    println!("  {:<20} {}", "stored bytes", stored);
    if args.entries {
        let rows: Vec<Vec<String>> = frames
            .iter()
            .take(args.limit)
            .map(|frame| {
                vec![
                    text::escaped(&frame.key),
                    frame.seqno.to_string(),
                    frame.offset.to_string(),
                    frame.on_disk_len.to_string(),
                    frame.value_len.to_string(),
                ]
            })
            .collect();
        print!(
            "\n{}",
            text::table(&["key", "seqno", "offset", "stored", "value bytes"], &rows)
        );
    }
    Ok(Status::Ok)
}
