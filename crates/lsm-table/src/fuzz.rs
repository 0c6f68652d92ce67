//! The fuzz target body: arbitrary bytes as a table file. The `fuzz/` target calls it,
//! and `cargo test` runs it over the checked-in corpus in `fuzz/corpus/table_open/` plus
//! seeded mutations of it.

use lsm_core::{Fs, MemFs, OpenOptions, SeqNo};

use crate::{ReadOptions, Table};

/// Opens `data` as table 9 and, if that works, scans it from both ends and looks keys up.
/// Nothing may panic.
pub fn table_open(data: &[u8]) {
    let fs = MemFs::new();
    let Ok(file) = fs.open("/t".as_ref(), OpenOptions::create_new()) else {
        return;
    };
    if file.append(data).is_err() {
        return;
    }
    let Ok(table) = Table::open(&fs, "/t".as_ref(), 9, &ReadOptions::default()) else {
        return;
    };
    let forward = table
        .iter(SeqNo::MAX)
        .take(10_000)
        .take_while(Result::is_ok)
        .count();
    let backward = table
        .iter(SeqNo::MAX)
        .rev()
        .take(10_000)
        .take_while(Result::is_ok)
        .count();
    assert!(
        forward <= data.len() && backward <= data.len(),
        "more entries than bytes"
    );
    for key in [&b"user:0007"[..], b"a", b"\xff\xff"] {
        let _ = table.get(key, SeqNo::MAX);
        let _ = table.range(key.., 5).next_back();
    }
    let _ = table.verify();
    let _ = table.index_entries();
    let tombstones = table.range_tombstones();
    assert!(
        tombstones
            .windows(2)
            .all(|pair| pair[0].start <= pair[1].start),
        "range tombstones out of order"
    );
}

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "test arithmetic on small values"
)]
mod tests {
    use std::path::Path;

    use lsm_core::StdFs;

    use super::*;

    #[test]
    fn table_open_corpus() {
        lsm_testkit::fuzz::replay("table_open", 10_000, table_open);
    }

    /// Copies the golden tables into the corpus (never overwriting a file): a generator that `cargo xtask fixtures`
    /// runs, not a check.
    #[test]
    #[ignore = "issue 2: corpus generator, run by cargo xtask fixtures"]
    fn write_seed_corpus() {
        for name in ["table_plain.sst", "table_partitioned_prefix.sst"] {
            let source = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/v1")
                .join(name);
            let bytes = lsm_core::fs::read_all(&StdFs, &source).unwrap();
            lsm_testkit::fuzz::write_seed("table_open", name, &bytes);
        }
        // A table with range tombstones, and one holding nothing else.
        for (name, with_entries) in [
            ("table_range_tombstones.sst", true),
            ("table_only_range_tombstones.sst", false),
        ] {
            let fs = MemFs::new();
            let mut writer =
                crate::TableWriter::create(&fs, Path::new("/t"), 9, crate::TableOptions::default())
                    .unwrap();
            for (start, end, seqno) in [("", "b", 3), ("user:0003", "user:0009", 7)] {
                let tombstone = lsm_core::RangeTombstone::new(
                    &lsm_core::KeyOrder::lexicographic(),
                    start.into(),
                    end.into(),
                    seqno,
                )
                .unwrap();
                writer.add_range_tombstone(&tombstone).unwrap();
            }
            if with_entries {
                for idx in 0..20_u64 {
                    let key = format!("user:{idx:04}");
                    writer
                        .add(&lsm_core::InternalEntry::new(
                            key,
                            "value",
                            idx,
                            lsm_core::ValueType::Value,
                        ))
                        .unwrap();
                }
            }
            writer.finish().unwrap();
            let bytes = lsm_core::fs::read_all(&fs, Path::new("/t")).unwrap();
            lsm_testkit::fuzz::write_seed("table_open", name, &bytes);
        }
    }
}
