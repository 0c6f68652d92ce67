//! The `Database` layer through the facade: keyspaces, batches, snapshots, the log's
//! recovery and trimming, keyspace deletion, bad input, and crash points under every
//! crash model.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "support/common.rs"]
mod common;
#[path = "support/db_batches.rs"]
mod db_batches;

use std::sync::Arc;

use db_batches::{Batches, Run};
use lsm::{
    AbstractTree, Database, Durability, Error, Guard, KeyspaceCreateOptions, MemFs, PersistMode,
    UserValue,
};
use lsm_testkit::rng::Rng;
use lsm_testkit::sim_fs::{CrashModel, SimFs};

fn values(iter: lsm::IterBox) -> Vec<(String, String)> {
    iter.map(|item| {
        let (key, value) = item.into_inner().unwrap();
        (
            String::from_utf8(key.to_vec()).unwrap(),
            String::from_utf8(value.to_vec()).unwrap(),
        )
    })
    .collect()
}

/// A database on `fs` whose writes are synced by default.
fn open_synced(fs: &SimFs) -> Database {
    Database::builder("/db")
        .with_fs(Arc::new(fs.clone()))
        .durability(Durability::Sync)
        .open()
        .unwrap()
}

/// Keyspace `name` of `db`, with the default options.
fn keyspace(db: &Database, name: &str) -> lsm::Keyspace {
    db.keyspace(name, KeyspaceCreateOptions::default).unwrap()
}

fn text(value: Option<UserValue>) -> Option<String> {
    value.map(|value| String::from_utf8(value.to_vec()).unwrap())
}

#[test]
fn keyspaces_read_and_write_through_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder(dir.path()).open().unwrap();
    let users = keyspace(&db, "users");
    let counters = db
        .keyspace("counters", || {
            KeyspaceCreateOptions::default().with_merge_operator(Some(Arc::new(common::Concat)))
        })
        .unwrap();
    for (key, value) in [("ada", "1"), ("bob", "2"), ("cy", "3"), ("dee", "4")] {
        users.insert(key, value).unwrap();
    }
    users.remove("bob").unwrap();
    users.remove_range("cy", "d").unwrap();
    counters.merge("n", "a").unwrap();
    counters.merge("n", "b").unwrap();

    assert_eq!(text(users.get("ada").unwrap()).as_deref(), Some("1"));
    assert_eq!(users.get("bob").unwrap(), None);
    assert!(!users.contains_key("cy").unwrap());
    assert_eq!(
        values(users.iter()),
        [("ada".into(), "1".into()), ("dee".into(), "4".into())]
    );
    assert_eq!(values(users.range("b".."z")).len(), 1);
    assert_eq!(values(users.prefix("d")), [("dee".into(), "4".into())]);
    assert_eq!(values(Box::new(users.iter().rev()))[0].0, "dee");
    assert_eq!(users.first_key_value().unwrap().unwrap().0, "ada");
    assert_eq!(users.last_key_value().unwrap().unwrap().0, "dee");
    assert_eq!(users.len().unwrap(), 2);
    assert_eq!(users.size_of("dee").unwrap(), Some(1));
    assert_eq!(text(counters.get("n").unwrap()).as_deref(), Some("ab"));
    // In one batch, operands pile up on the change before them.
    let mut batch = db.batch();
    batch.insert(&counters, "n", "x");
    batch.merge(&counters, "n", "y");
    batch.merge(&counters, "n", "z");
    batch.remove(&counters, "m");
    batch.merge(&counters, "m", "q");
    batch.merge(&counters, "o", "1");
    batch.merge(&counters, "o", "2");
    batch.insert(&users, "ada", "first");
    batch.remove(&users, "ada");
    batch.commit().unwrap();
    assert_eq!(text(counters.get("n").unwrap()).as_deref(), Some("xyz"));
    assert_eq!(text(counters.get("m").unwrap()).as_deref(), Some("q"));
    assert_eq!(text(counters.get("o").unwrap()).as_deref(), Some("12"));
    assert_eq!(users.get("ada").unwrap(), None, "the later delete wins");
    users.insert("ada", "1").unwrap();

    assert_eq!(db.list_keyspace_names(), ["users", "counters"]);
    assert!(db.keyspace_exists("users") && !db.keyspace_exists("nobody"));
    assert_eq!(db.keyspace_count(), 2);
    let again = db.keyspace("users", || unreachable!("it exists")).unwrap();
    assert_eq!(text(again.get("dee").unwrap()).as_deref(), Some("4"));
    for bad in ["", "a/b", "sp ace", &"x".repeat(256)] {
        assert!(matches!(
            db.keyspace(bad, KeyspaceCreateOptions::default),
            Err(Error::InvalidKeyspaceName(_))
        ));
    }
}

#[test]
fn a_batch_is_one_seqno_across_keyspaces_and_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder(dir.path()).open().unwrap();
    let a = keyspace(&db, "a");
    let b = keyspace(&db, "b");
    let before = db.visible_seqno();

    let mut batch = db.batch().durability(Durability::Sync);
    batch.insert(&a, "k", "1");
    batch.insert(&b, "k", "1");
    batch.insert(&a, "k", "2"); // replaces the first change to a/k
    assert_eq!(batch.len(), 3);
    let seqno = batch.commit().unwrap().unwrap();
    assert_eq!(seqno, before);
    assert_eq!(db.visible_seqno(), seqno + 1);
    assert_eq!(text(a.get("k").unwrap()).as_deref(), Some("2"));
    assert_eq!(text(b.get("k").unwrap()).as_deref(), Some("1"));

    // A change out of the limits refuses the whole batch: nothing is logged or written.
    let mut batch = db.batch();
    batch.insert(&a, "fine", "x");
    batch.insert(&b, vec![b'k'; 70_000], "too long a key");
    assert!(matches!(batch.commit(), Err(Error::InvalidArgument { .. })));
    let mut batch = db.batch();
    batch.insert(&a, "fine", "x");
    batch.merge(&a, "fine", "y");
    assert!(matches!(batch.commit(), Err(Error::MixedOperationBatch)));
    assert_eq!(a.get("fine").unwrap(), None);
    assert_eq!(db.visible_seqno(), seqno + 1, "no seqno was published");
    assert_eq!(
        db.batch().commit().unwrap(),
        None,
        "an empty batch writes nothing"
    );
    assert!(matches!(
        a.insert("", "v"),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn a_snapshot_reads_one_point_and_holds_old_versions_until_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder(dir.path()).open().unwrap();
    let items = keyspace(&db, "items");
    items.insert("a", "old").unwrap();
    let snapshot = db.snapshot();
    assert_eq!(db.snapshot_count(), 1);
    items.insert("a", "new").unwrap();
    items.insert("b", "new").unwrap();
    // A flush with the snapshot open keeps the version it reads.
    items.rotate_memtable_and_wait().unwrap();
    assert_eq!(
        text(snapshot.get(&items, "a").unwrap()).as_deref(),
        Some("old")
    );
    assert!(!snapshot.contains_key(&items, "b").unwrap());
    assert_eq!(snapshot.len(&items).unwrap(), 1);
    assert_eq!(values(snapshot.iter(&items)), [("a".into(), "old".into())]);
    assert_eq!(text(items.get("a").unwrap()).as_deref(), Some("new"));
    drop(snapshot);
    assert_eq!(db.snapshot_count(), 0);
}

#[test]
fn reopening_replays_the_log_into_memtables_nothing_flushed() {
    let fs = SimFs::new();
    let open = |fs: &SimFs| {
        Database::builder("/db")
            .with_fs(Arc::new(fs.clone()))
            .open()
            .unwrap()
    };
    let db = open(&fs);
    let a = keyspace(&db, "a");
    let b = keyspace(&db, "b");
    for i in 0..100_u32 {
        let mut batch = db.batch();
        batch.insert(&a, format!("k{i:03}"), format!("{i}"));
        batch.insert(&b, format!("k{i:03}"), format!("{i}"));
        batch.remove(&a, format!("k{:03}", i / 2));
        batch.commit().unwrap();
    }
    db.persist(PersistMode::SyncAll).unwrap();
    assert_eq!(a.tree().table_count(), 0, "nothing was flushed");
    let expected_a = values(a.iter());
    let expected_b = values(b.iter());
    let visible = db.visible_seqno();
    // The power goes: only what was synced survives.
    let image = fs.crash(CrashModel::DropUnsynced, &mut Rng::new(1));
    drop((a, b, db));

    let db = open(&image);
    assert_eq!(db.visible_seqno(), visible);
    let a = keyspace(&db, "a");
    let b = keyspace(&db, "b");
    assert_eq!(values(a.iter()), expected_a);
    assert_eq!(values(b.iter()), expected_b);
    // New writes continue above the recovered seqnos.
    a.insert("after", "x").unwrap();
    assert!(db.visible_seqno() > visible);
}

#[test]
fn flushed_segments_are_deleted_and_the_cap_flushes_the_oldest_keyspace() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder(dir.path())
        .journal_segment_size(4 << 10)
        .max_journal_size(64 << 10)
        .open()
        .unwrap();
    let busy = keyspace(&db, "busy");
    let quiet = keyspace(&db, "quiet");
    quiet.insert("once", "pins the log").unwrap();
    for i in 0..2_000_u32 {
        busy.insert(format!("key{i:05}"), vec![b'v'; 100]).unwrap();
    }
    // The quiet keyspace's one write is the oldest in memory: over the cap it is
    // flushed, and the busy one too, so the log shrinks below its cap.
    common::eventually("the log shrinking below its cap", || {
        db.trim_journal().unwrap();
        db.journal_disk_space() <= 64 << 10
    });
    assert!(
        quiet.tree().table_count() > 0,
        "the quiet keyspace was flushed"
    );
    busy.rotate_memtable_and_wait().unwrap();
    quiet.rotate_memtable_and_wait().unwrap();
    db.trim_journal().unwrap();
    assert_eq!(
        db.journal_count(),
        1,
        "only the segment being written stays"
    );
    drop((busy, quiet, db));

    let db = Database::builder(dir.path()).open().unwrap();
    let busy = keyspace(&db, "busy");
    assert_eq!(busy.len().unwrap(), 2_000);
}

#[test]
fn the_write_buffer_budget_flushes_the_largest_memtable() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder(dir.path())
        .max_write_buffer_size(256 << 10)
        .open()
        .unwrap();
    let keyspaces: Vec<_> = (0..4)
        .map(|i| {
            db.keyspace(&format!("ks{i}"), KeyspaceCreateOptions::default)
                .unwrap()
        })
        .collect();
    for i in 0..4_000_u32 {
        let keyspace = &keyspaces[(i % 4) as usize];
        keyspace.insert(format!("{i:06}"), vec![b'v'; 200]).unwrap();
    }
    // 1 MiB written against a 256 KiB budget, with 16 MiB per-keyspace memtables:
    // only the budget can have sealed them.
    common::eventually("a flush for the budget", || {
        keyspaces
            .iter()
            .any(|keyspace| keyspace.tree().table_count() > 0)
    });
    for keyspace in &keyspaces {
        assert_eq!(keyspace.len().unwrap(), 1_000);
    }
}

#[test]
fn a_deleted_keyspace_refuses_writes_and_its_logged_writes_stay_gone() {
    let fs = SimFs::new();
    let db = open_synced(&fs);
    let doomed = keyspace(&db, "doomed");
    let kept = keyspace(&db, "kept");
    doomed.insert("k", "v").unwrap();
    kept.insert("k", "v").unwrap();
    db.delete_keyspace(doomed.clone()).unwrap();
    assert!(doomed.is_deleted());
    assert!(matches!(
        doomed.insert("k", "w"),
        Err(Error::KeyspaceDeleted(_))
    ));
    assert_eq!(db.list_keyspace_names(), ["kept"]);
    let image = fs.crash(CrashModel::DropUnsynced, &mut Rng::new(2));
    drop((doomed, kept, db));

    // Its logged write is skipped at replay, and the name starts afresh.
    let db = open_synced(&image);
    assert_eq!(db.list_keyspace_names(), ["kept"]);
    let reborn = keyspace(&db, "doomed");
    assert_eq!(reborn.get("k").unwrap(), None);
    let kept = keyspace(&db, "kept");
    assert_eq!(text(kept.get("k").unwrap()).as_deref(), Some("v"));
}

#[test]
fn a_second_opener_is_refused_and_a_damaged_registry_is_named() {
    let fs = MemFs::new();
    let builder = || Database::builder("/db").with_fs(Arc::new(fs.clone()));
    let db = builder().open().unwrap();
    keyspace(&db, "a");
    assert!(matches!(builder().open(), Err(Error::Locked(_))));
    drop(db);

    let path = std::path::Path::new("/db/keyspaces.reg");
    let mut bytes = lsm_core::fs::read_all(&fs, path).unwrap();
    bytes[10] ^= 1;
    let file = lsm::fs::Fs::open(&fs, path, lsm::fs::OpenOptions::write()).unwrap();
    file.write_at(&bytes, 0).unwrap();
    drop(file);
    assert!(matches!(builder().open(), Err(Error::BadRegistry { .. })));

    // A lost registry is refused too, and nothing is deleted: the keyspace's directory
    // stays for whoever repairs it.
    lsm::fs::Fs::remove_file(&fs, path).unwrap();
    assert!(matches!(builder().open(), Err(Error::BadRegistry { .. })));
    assert!(lsm::fs::Fs::exists(&fs, std::path::Path::new("/db/keyspaces/0")).unwrap());
}

/// The crash workload: 60 batches, every third synced and every third handed to the
/// OS, keyspace `a` flushed after every 20th.
const CRASH: Batches = Batches {
    batches: 60,
    keys: 5,
    width: 200,
};

/// Runs [`CRASH`] until the file system powers off.
fn crash_workload(fs: &SimFs) -> Run {
    let durability = |i: usize| match i % 3 {
        0 => Durability::Sync,
        1 => Durability::Flush,
        _ => Durability::Buffered,
    };
    CRASH.run(fs, durability, |i, a| {
        if i % 20 == 19 {
            a.rotate_memtable_and_wait()
        } else {
            Ok(())
        }
    })
}

#[test]
fn every_crash_point_keeps_acknowledged_batches_whole_under_every_model() {
    let total_ops = {
        let fs = SimFs::new();
        crash_workload(&fs);
        fs.op_count()
    };
    assert!(total_ops > 60, "{total_ops} mutating operations");
    let mut rng = Rng::new(24);
    let mut cycles = 0;
    for crash_at in (0..total_ops).step_by(3) {
        let fs = SimFs::new();
        fs.crash_at(crash_at);
        let run = crash_workload(&fs);
        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut rng);
            let context = format!("crash at {crash_at}, {model:?}");
            let db = CRASH
                .open(&image)
                .unwrap_or_else(|error| panic!("{context}: {error}"));
            let acknowledged = if model == CrashModel::KeepAll {
                run.acknowledged(|durability| durability != Durability::Buffered)
            } else {
                run.acknowledged(|durability| durability == Durability::Sync)
            };
            CRASH.check(&db, acknowledged, &context);
            cycles += 1;
        }
    }
    assert!(cycles > 100, "{cycles} crash/recover cycles");
}

#[test]
fn an_encrypted_database_keeps_its_log_and_tables_sealed_and_refuses_other_keys() {
    let fs = MemFs::new();
    let provider = |byte: u8| -> Arc<dyn lsm::EncryptionProvider> {
        Arc::new(lsm::Aes256GcmProvider::new(&[byte; 32]))
    };
    let open = |encryption: Option<Arc<dyn lsm::EncryptionProvider>>| {
        Database::builder("/db")
            .with_fs(Arc::new(fs.clone()))
            .with_encryption(encryption)
            .open()
    };
    let db = open(Some(provider(1))).unwrap();
    let items = keyspace(&db, "items");
    items.insert("plain key one", "plain value one").unwrap();
    items.insert("plain key two", "plain value two").unwrap();
    items.rotate_memtable_and_wait().unwrap(); // one write in a table
    items
        .insert("plain key three", "plain value three")
        .unwrap(); // one only in the log
    db.persist(PersistMode::SyncAll).unwrap();
    // No file of the database holds a key or value in the clear.
    let mut stack = vec![std::path::PathBuf::from("/db")];
    while let Some(dir) = stack.pop() {
        for entry in lsm::fs::Fs::read_dir(&fs, &dir).unwrap() {
            if entry.is_dir {
                stack.push(entry.path);
                continue;
            }
            let bytes = lsm_core::fs::read_all(&fs, &entry.path).unwrap();
            assert!(
                !bytes.windows(5).any(|window| window == b"plain"),
                "{} holds plaintext",
                entry.path.display()
            );
        }
    }
    drop((items, db));
    // The keyspaces' trees check their key first; a database with none, its log.
    assert!(matches!(
        open(Some(provider(2))),
        Err(Error::WrongKey | Error::Wal(lsm_wal::Error::WrongKey))
    ));
    assert!(matches!(
        open(None),
        Err(Error::EncryptionRequired | Error::Wal(lsm_wal::Error::EncryptionRequired))
    ));
    let db = open(Some(provider(1))).unwrap();
    let items = keyspace(&db, "items");
    assert_eq!(items.len().unwrap(), 3);
    assert_eq!(
        text(items.get("plain key three").unwrap()).as_deref(),
        Some("plain value three")
    );
    drop((items, db));

    // The log alone refuses another key and a missing one.
    let bare = MemFs::new();
    let open_bare = |encryption| {
        Database::builder("/bare")
            .with_fs(Arc::new(bare.clone()))
            .with_encryption(encryption)
            .open()
    };
    drop(open_bare(Some(provider(1))).unwrap());
    assert!(matches!(
        open_bare(Some(provider(2))),
        Err(Error::Wal(lsm_wal::Error::WrongKey))
    ));
    assert!(matches!(
        open_bare(None),
        Err(Error::Wal(lsm_wal::Error::EncryptionRequired))
    ));
}

#[test]
fn a_cleared_keyspace_stays_cleared_after_a_crash_and_keeps_what_came_after() {
    for flushed_before in [false, true] {
        let fs = SimFs::new();
        let db = open_synced(&fs);
        let a = keyspace(&db, "a");
        let b = keyspace(&db, "b");
        for i in 0..100 {
            a.insert(format!("k{i:03}"), "old").unwrap();
            b.insert(format!("k{i:03}"), "kept").unwrap();
        }
        if flushed_before {
            a.rotate_memtable_and_wait().unwrap();
        }
        let snapshot = db.snapshot();
        a.clear().unwrap();
        assert_eq!(a.len().unwrap(), 0);
        assert_eq!(
            snapshot.len(&a).unwrap(),
            100,
            "a snapshot keeps its answers"
        );
        assert_eq!(b.len().unwrap(), 100);
        a.insert("new", "after").unwrap();
        drop(snapshot);

        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut Rng::new(9));
            let db = open_synced(&image);
            let a = keyspace(&db, "a");
            let b = keyspace(&db, "b");
            let context = format!("flushed before {flushed_before}, {model:?}");
            assert_eq!(
                values(a.iter()),
                [("new".to_owned(), "after".to_owned())],
                "{context}"
            );
            assert_eq!(b.len().unwrap(), 100, "{context}");
        }
        // A deleted keyspace cannot be cleared.
        db.delete_keyspace(a.clone()).unwrap();
        assert!(matches!(a.clear(), Err(Error::KeyspaceDeleted(_))));
    }
}

#[test]
fn an_ingestion_lands_above_earlier_writes_below_later_ones_and_survives_a_crash() {
    let fs = SimFs::new();
    let db = open_synced(&fs);
    let items = keyspace(&db, "items");
    let other = keyspace(&db, "other");
    for i in 0..50 {
        items.insert(format!("k{i:03}"), "written").unwrap();
    }
    other.insert("x", "1").unwrap();
    let before = db.snapshot();
    items
        .ingest((25..100).map(|i| (format!("k{i:03}"), "loaded")))
        .unwrap();
    items.insert("k030", "after").unwrap();
    other.insert("y", "2").unwrap();

    // Out of order: refused, nothing loaded.
    let unsorted = items.ingest([("z2", "a"), ("z1", "b")]);
    assert!(
        matches!(unsorted, Err(Error::UnsortedIngestion { .. })),
        "{unsorted:?}"
    );
    assert_eq!(items.get("z2").unwrap(), None);

    let check = |items: &lsm::Keyspace, other: &lsm::Keyspace, context: &str| {
        assert_eq!(items.len().unwrap(), 100, "{context}");
        assert_eq!(
            text(items.get("k010").unwrap()).as_deref(),
            Some("written"),
            "{context}"
        );
        assert_eq!(
            text(items.get("k040").unwrap()).as_deref(),
            Some("loaded"),
            "{context}"
        );
        assert_eq!(
            text(items.get("k030").unwrap()).as_deref(),
            Some("after"),
            "{context}"
        );
        assert_eq!(other.len().unwrap(), 2, "{context}");
    };
    check(&items, &other, "live");
    // A snapshot from before the load does not see it.
    assert_eq!(
        text(before.get(&items, "k040").unwrap()).as_deref(),
        Some("written")
    );
    assert_eq!(before.get(&items, "k060").unwrap(), None);
    drop(before);

    for model in CrashModel::ALL {
        let image = fs.crash(model, &mut Rng::new(11));
        let db = open_synced(&image);
        let items = keyspace(&db, "items");
        let other = keyspace(&db, "other");
        check(&items, &other, &format!("{model:?}"));
    }
}

/// The items batches `from..to` of [`CLEARED`] leave in a keyspace.
fn state_between(from: usize, to: usize) -> Vec<(String, String)> {
    let mut state: Vec<(String, String)> = (0..CLEARED.keys)
        .filter_map(|key| {
            let last = (from..to).rev().find(|i| i % CLEARED.keys == key)?;
            Some((CLEARED.key(last), CLEARED.value(last)))
        })
        .collect();
    state.sort();
    state
}

/// The clear workload: 40 batches over `a` and `b`, every third synced, the rest
/// buffered, and `a` cleared after batches [`CLEARS`] (buffered ones: the clear's own
/// sync is what makes them durable).
const CLEARED: Batches = Batches {
    batches: 40,
    keys: 5,
    width: 50,
};
const CLEARS: [usize; 2] = [13, 28];

#[test]
fn every_crash_point_around_clears_keeps_the_log_order() {
    let run = |fs: &SimFs, cleared: &mut Vec<usize>| {
        let durability = |i: usize| {
            if i.is_multiple_of(3) {
                Durability::Sync
            } else {
                Durability::Buffered
            }
        };
        CLEARED.run(fs, durability, |i, a| {
            if CLEARS.contains(&i) {
                a.clear()?;
                cleared.push(i);
            }
            Ok(())
        })
    };
    let total_ops = {
        let fs = SimFs::new();
        run(&fs, &mut Vec::new());
        fs.op_count()
    };
    let mut rng = Rng::new(25);
    let mut cycles = 0;
    for crash_at in (0..total_ops).step_by(2) {
        let fs = SimFs::new();
        fs.crash_at(crash_at);
        let mut cleared = Vec::new();
        let outcome = run(&fs, &mut cleared);
        // A clear whose call did not return may or may not have happened.
        let in_flight = outcome
            .committed
            .len()
            .checked_sub(1)
            .filter(|last| CLEARS.contains(last) && !cleared.contains(last));
        for model in CrashModel::ALL {
            let image = fs.crash(model, &mut rng);
            let context = format!("crash at {crash_at}, {model:?}");
            let db = CLEARED
                .open(&image)
                .unwrap_or_else(|error| panic!("{context}: {error}"));
            let (a, b) = (db_batches::read(&db, "a"), db_batches::read(&db, "b"));
            // A returned clear made every batch up to it durable (it syncs the log).
            let synced = outcome.acknowledged(|durability| {
                durability == Durability::Sync
                    || (model == CrashModel::KeepAll && durability != Durability::Buffered)
            });
            let acknowledged = synced.max(cleared.last().map_or(0, |last| last + 1));
            let counts: Vec<usize> = (acknowledged..=CLEARED.batches)
                .filter(|&count| CLEARED.state_after(count) == b)
                .collect();
            assert!(
                !counts.is_empty(),
                "{context}: b is no prefix from {acknowledged}"
            );
            let a_matches = counts.iter().any(|&count| {
                let last_clear = cleared
                    .iter()
                    .filter(|&&clear| clear < count)
                    .max()
                    .map_or(0, |clear| clear + 1);
                let mut froms = vec![last_clear];
                if let Some(clear) = in_flight.filter(|&clear| clear < count) {
                    froms.push(clear + 1);
                }
                froms
                    .into_iter()
                    .any(|from| state_between(from, count) == a)
            });
            assert!(
                a_matches,
                "{context}: a is {a:?}, b at {counts:?}, cleared {cleared:?}"
            );
            cycles += 1;
        }
    }
    assert!(cycles > 100, "{cycles} crash/recover cycles");
}
