//! Conformance tests run against every `Fs` of this crate.

use std::io;
use std::path::Path;

use super::*;

fn conformance(fs: &dyn Fs, root: &Path) {
    let dir = root.join("a/b");
    fs.create_dir_all(&dir).unwrap();
    assert!(fs.metadata(&dir).unwrap().is_dir);

    let path = dir.join("file");
    let file = fs.open(&path, OpenOptions::create_new()).unwrap();
    file.append(b"hello").unwrap();
    file.append(b" world").unwrap();
    file.write_all_at(b"W", 6).unwrap();
    file.sync_all().unwrap();
    assert_eq!(file.len().unwrap(), 11);
    let mut buf = [0; 5];
    file.read_exact_at(&mut buf, 6).unwrap();
    assert_eq!(&buf, b"World");
    let mut past_end = [0; 4];
    assert_eq!(
        file.read_exact_at(&mut past_end, 9).unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
    assert_eq!(
        fs.open(&path, OpenOptions::create_new())
            .unwrap_err()
            .kind(),
        io::ErrorKind::AlreadyExists
    );
    fs.sync_dir(&dir).unwrap();

    let renamed = dir.join("renamed");
    fs.rename(&path, &renamed).unwrap();
    assert!(!fs.exists(&path).unwrap());
    assert_eq!(read_all(fs, &renamed).unwrap(), b"hello World");

    let linked = dir.join("linked");
    fs.hard_link(&renamed, &linked).unwrap();
    fs.remove_file(&renamed).unwrap();
    assert_eq!(read_all(fs, &linked).unwrap(), b"hello World");

    let names: Vec<_> = fs
        .read_dir(&dir)
        .unwrap()
        .into_iter()
        .map(|entry| entry.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["linked"]);

    let reopened = fs.open(&linked, OpenOptions::write()).unwrap();
    reopened.append(b"!").unwrap();
    reopened.set_len(5).unwrap();
    assert_eq!(read_all(fs, &linked).unwrap(), b"hello");
    // Appends follow a length change and a positional write past the end.
    reopened.append(b"!").unwrap();
    reopened.write_all_at(b"??", 8).unwrap();
    reopened.append(b".").unwrap();
    assert_eq!(read_all(fs, &linked).unwrap(), b"hello!\0\0??.");
    reopened.set_len(5).unwrap();
    let read_only = fs.open(&linked, OpenOptions::read()).unwrap();
    assert!(read_only.append(b"x").is_err());

    let tree = root.join("tree");
    fs.create_dir_all(&tree.join("inner/deeper")).unwrap();
    for path in [
        tree.join("f"),
        tree.join("inner/g"),
        tree.join("inner/deeper/h"),
    ] {
        fs.open(&path, OpenOptions::create_new()).unwrap();
    }
    remove_dir_all(fs, &tree).unwrap();
    assert!(!fs.exists(&tree).unwrap());
    assert!(fs.exists(root).unwrap(), "only the directory goes");

    let lock_path = root.join("LOCK");
    let lock = fs.lock(&lock_path).unwrap();
    assert_eq!(
        fs.lock(&lock_path).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(lock);
    drop(fs.lock(&lock_path).unwrap());

    assert_eq!(
        fs.remove_dir(&dir).unwrap_err().kind(),
        io::ErrorKind::DirectoryNotEmpty
    );
    fs.remove_file(&linked).unwrap();
    fs.remove_dir(&dir).unwrap();
    assert_eq!(
        fs.open(&root.join("missing"), OpenOptions::read())
            .unwrap_err()
            .kind(),
        io::ErrorKind::NotFound
    );
    if cfg!(unix) {
        assert!(fs.available_space(root).unwrap() > 0);
    }
}

#[test]
fn std_fs_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&StdFs, dir.path());
}

#[test]
fn mem_fs_conforms() {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("/root")).unwrap();
    conformance(&fs, Path::new("/root"));
}

#[test]
fn mem_fs_capacity_reports_storage_full() {
    let fs = MemFs::with_capacity(10);
    let file = fs.open(Path::new("f"), OpenOptions::create_new()).unwrap();
    file.append(b"0123456789").unwrap();
    assert_eq!(
        file.append(b"x").unwrap_err().kind(),
        io::ErrorKind::StorageFull
    );
    assert_eq!(fs.available_space(Path::new("")).unwrap(), 0);
    fs.remove_file(Path::new("f")).unwrap();
    assert_eq!(fs.available_space(Path::new("")).unwrap(), 10);
}
