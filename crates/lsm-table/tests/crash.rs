//! Crash-point enumeration over writing a table: crash at every mutating operation, take
//! the image every crash model allows, and reopen. A table is promised only once
//! `finish` and the directory sync have returned; before that, a reopened table may be
//! missing or refuse to open with a typed error, but if it opens, every answer must be
//! exact.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers unwrap like the tests they serve"
)]

use std::path::Path;

use lsm_core::{Fs, InternalEntry, SeqNo, ValueType};
use lsm_table::{ReadOptions, Table, TableOptions, TableWriter};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

fn entries() -> Vec<InternalEntry> {
    (0..5000_u64)
        .map(|idx| {
            InternalEntry::new(
                format!("key-{idx:06}"),
                vec![(idx % 251) as u8; 90],
                1,
                ValueType::Value,
            )
        })
        .collect()
}

/// Writes the table and makes it durable; stops at the first error.
fn workload(fs: &SimFs, entries: &[InternalEntry]) -> Result<(), String> {
    fs.create_dir_all(Path::new("/db"))
        .map_err(|error| error.to_string())?;
    fs.sync_dir(Path::new("/"))
        .map_err(|error| error.to_string())?;
    let mut writer = TableWriter::create(fs, Path::new("/db/1.sst"), 1, TableOptions::default())
        .map_err(|error| error.to_string())?;
    for entry in entries {
        writer.add(entry).map_err(|error| error.to_string())?;
    }
    writer.finish().map_err(|error| error.to_string())?;
    fs.sync_dir(Path::new("/db"))
        .map_err(|error| error.to_string())
}

fn check_image(image: &SimFs, entries: &[InternalEntry], must_exist: bool) -> bool {
    match Table::open(image, Path::new("/db/1.sst"), 1, &ReadOptions::default()) {
        Ok(table) => {
            let all: Vec<_> = table
                .iter(SeqNo::MAX)
                .collect::<Result<_, _>>()
                .expect("an opened table reads");
            assert_eq!(all, entries, "a table that opens answers exactly");
            true
        }
        Err(error) => {
            assert!(!must_exist, "a durable table failed to open: {error}");
            false
        }
    }
}

#[test]
fn every_crash_point_gives_a_whole_table_or_none() {
    let entries = entries();
    let dry_run = SimFs::new();
    workload(&dry_run, &entries).unwrap();
    let op_count = dry_run.op_count();
    assert!(op_count >= 6, "{op_count} operations");
    let mut rng = Rng::from_env(11);
    let (mut images, mut opened) = (0, 0);
    for crash_point in 0..op_count {
        let fs = SimFs::new();
        fs.crash_at(crash_point);
        assert!(
            workload(&fs, &entries).is_err(),
            "crash point {crash_point} was not reached"
        );
        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut rng);
            opened += usize::from(check_image(&image, &entries, false));
            images += 1;
        }
    }
    // Without a crash, the table is durable under every model.
    for model in CrashModel::ALL {
        let image = dry_run.crash(model, &mut rng);
        assert!(check_image(&image, &entries, true));
    }
    println!("{op_count} crash points, {images} images, {opened} opened with exact answers");
}
