//! Tests of the simulated file system's durability model.

use std::io;
use std::path::Path;

use lsm_core::fs::read_all;
use lsm_core::{Fs, OpenOptions};

use super::*;

fn write_file(fs: &SimFs, path: &str, bytes: &[u8], sync: bool) {
    let file = fs.open(Path::new(path), OpenOptions::write()).unwrap();
    file.append(bytes).unwrap();
    if sync {
        file.sync_all().unwrap();
    }
}

fn contents(fs: &SimFs, path: &str) -> Option<Vec<u8>> {
    match read_all(fs, Path::new(path)) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn only_synced_data_and_entries_survive_strict_crashes() {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new("/db")).unwrap();
    fs.sync_dir(Path::new("/")).unwrap();
    write_file(&fs, "/db/synced", b"durable", true);
    fs.sync_dir(Path::new("/db")).unwrap();
    write_file(&fs, "/db/synced", b" and more", false);
    write_file(&fs, "/db/unlinked", b"data synced, entry not", true);
    let mut rng = Rng::new(1);

    let strict = fs.crash(CrashModel::DropUnsynced, &mut rng);
    assert_eq!(contents(&strict, "/db/synced").unwrap(), b"durable");
    assert_eq!(contents(&strict, "/db/unlinked"), None);

    let kept = fs.crash(CrashModel::KeepAll, &mut rng);
    assert_eq!(contents(&kept, "/db/synced").unwrap(), b"durable and more");
    assert_eq!(
        contents(&kept, "/db/unlinked").unwrap(),
        b"data synced, entry not"
    );
}

#[test]
fn partial_models_keep_prefixes_subsets_and_torn_tails() {
    let fs = SimFs::new();
    let file = fs
        .open(Path::new("/log"), OpenOptions::create_new())
        .unwrap();
    file.sync_all().unwrap();
    fs.sync_dir(Path::new("/")).unwrap();
    let writes: Vec<Vec<u8>> = (0..8_u8).map(|idx| vec![idx + 1; 100]).collect();
    for write in &writes {
        file.append(write).unwrap();
    }
    let live = contents(&fs, "/log").unwrap();
    let mut rng = Rng::new(7);
    for _ in 0..50 {
        let prefix = contents(&fs.crash(CrashModel::PrefixPerFile, &mut rng), "/log").unwrap();
        assert_eq!(prefix.len() % 100, 0);
        assert_eq!(prefix, live[..prefix.len()]);

        let torn = contents(&fs.crash(CrashModel::TornLast, &mut rng), "/log").unwrap();
        assert!(torn.len() <= live.len());
        // Whole writes before the torn one are intact.
        let intact = torn.len().saturating_sub(100) / 100 * 100;
        assert_eq!(torn[..intact], live[..intact]);

        let subset = contents(&fs.crash(CrashModel::Reorder, &mut rng), "/log").unwrap();
        for (chunk_idx, chunk) in subset.chunks(100).enumerate() {
            assert!(chunk.iter().all(|&byte| byte == 0) || chunk == writes[chunk_idx].as_slice());
        }
    }
}

#[test]
fn unsynced_renames_are_all_or_nothing() {
    let fs = SimFs::new();
    write_file(&fs, "/current.tmp", b"pointer", true);
    fs.sync_dir(Path::new("/")).unwrap();
    fs.rename(Path::new("/current.tmp"), Path::new("/current"))
        .unwrap();
    let mut rng = Rng::new(3);
    let (mut renamed, mut kept) = (0, 0);
    for _ in 0..100 {
        let image = fs.crash(CrashModel::DirentSubset, &mut rng);
        match (
            contents(&image, "/current.tmp"),
            contents(&image, "/current"),
        ) {
            (None, Some(bytes)) => {
                assert_eq!(bytes, b"pointer");
                renamed += 1;
            }
            (Some(bytes), None) => {
                assert_eq!(bytes, b"pointer");
                kept += 1;
            }
            other => panic!("rename split: {other:?}"),
        }
    }
    assert!(renamed > 0 && kept > 0);
}

#[test]
fn crash_points_power_off_and_faults_are_one_shot() {
    let fs = SimFs::new();
    write_file(&fs, "/a", b"1", true);
    let count = fs.op_count();
    assert_eq!(count, 3, "open-create, append, sync");
    fs.crash_at(count + 1);
    let file = fs.open(Path::new("/a"), OpenOptions::write()).unwrap();
    file.append(b"2").unwrap();
    assert!(file.sync_all().is_err(), "the crash point fails");
    assert!(fs.is_powered_off());
    assert!(file.append(b"3").is_err() && read_all(&fs, Path::new("/a")).is_err());
    let image = fs.crash(CrashModel::DropUnsynced, &mut Rng::new(1));
    assert_eq!(
        contents(&image, "/a"),
        None,
        "the directory entry was never synced"
    );

    let fs = SimFs::new();
    fs.fail_op(1, io::ErrorKind::Other);
    let file = fs.open(Path::new("/b"), OpenOptions::create_new()).unwrap();
    assert_eq!(file.append(b"x").unwrap_err().kind(), io::ErrorKind::Other);
    file.append(b"y").unwrap();
    assert_eq!(contents(&fs, "/b").unwrap(), b"y");
}

#[test]
fn a_sticky_fault_fails_every_later_operation_until_cleared() {
    let fs = SimFs::new();
    fs.fail_from(1, io::ErrorKind::StorageFull);
    let file = fs.open(Path::new("/c"), OpenOptions::create_new()).unwrap();
    for _ in 0..3 {
        assert_eq!(
            file.append(b"x").unwrap_err().kind(),
            io::ErrorKind::StorageFull
        );
    }
    assert!(file.sync_all().is_err() && fs.sync_dir(Path::new("/")).is_err());
    // Reads go on while the disk refuses writes.
    assert_eq!(contents(&fs, "/c").unwrap(), b"");
    fs.clear_faults();
    file.append(b"y").unwrap();
    assert_eq!(contents(&fs, "/c").unwrap(), b"y");
}

#[test]
fn the_quota_reports_storage_full() {
    let fs = SimFs::new();
    fs.set_quota_bytes(Some(10));
    let file = fs.open(Path::new("/f"), OpenOptions::create_new()).unwrap();
    file.append(&[0; 10]).unwrap();
    assert_eq!(
        file.append(b"x").unwrap_err().kind(),
        io::ErrorKind::StorageFull
    );
    assert_eq!(fs.available_space(Path::new("/")).unwrap(), 0);
    fs.remove_file(Path::new("/f")).unwrap();
    assert_eq!(fs.available_space(Path::new("/")).unwrap(), 10);
}

#[test]
fn directories_links_and_locks_behave() {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new("/x/y")).unwrap();
    write_file(&fs, "/x/y/f", b"data", true);
    fs.hard_link(Path::new("/x/y/f"), Path::new("/x/g"))
        .unwrap();
    fs.remove_file(Path::new("/x/y/f")).unwrap();
    assert_eq!(contents(&fs, "/x/g").unwrap(), b"data");
    let names: Vec<_> = fs
        .read_dir(Path::new("/x"))
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .collect();
    assert_eq!(names, [Path::new("/x/g"), Path::new("/x/y")]);
    assert_eq!(
        fs.remove_dir(Path::new("/x")).unwrap_err().kind(),
        io::ErrorKind::DirectoryNotEmpty
    );
    let lock = fs.lock(Path::new("/LOCK")).unwrap();
    assert_eq!(
        fs.lock(Path::new("/LOCK")).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(lock);
    drop(fs.lock(Path::new("/LOCK")).unwrap());
}
