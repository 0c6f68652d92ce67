//! Golden fixtures: checked-in files that tests compare against and keep decoding.
//! `LSM_WRITE_FIXTURES=1` (what `cargo xtask fixtures` sets) writes missing ones; an
//! existing fixture is never overwritten.

use std::path::Path;

use lsm_core::{Fs, OpenOptions, StdFs};

/// The fixture `name` in `dir`, written from `fresh` first when it is missing and
/// writing is enabled.
///
/// # Panics
/// When the fixture is missing (and not being written) or cannot be read or written.
#[must_use]
pub fn fixture(dir: &Path, name: &str, fresh: &[u8]) -> Vec<u8> {
    let path = dir.join(name);
    let writing = std::env::var("LSM_WRITE_FIXTURES").as_deref() == Ok("1");
    if writing && !StdFs.exists(&path).expect("the fixture folder is readable") {
        StdFs
            .create_dir_all(dir)
            .expect("the fixture folder can be created");
        // create_new: two tests writing the same fixture at once must not both succeed.
        if let Ok(file) = StdFs.open(&path, OpenOptions::create_new()) {
            file.append(fresh).expect("the fixture writes");
            file.sync_all().expect("the fixture syncs");
        }
    }
    let bytes = lsm_core::fs::read_all(&StdFs, &path).unwrap_or_else(|error| {
        panic!(
            "fixture {}: {error} (run `cargo xtask fixtures`)",
            path.display()
        )
    });
    crate::reliability::tally("G11", "golden files of format 1", 1, "fixture files");
    bytes
}
