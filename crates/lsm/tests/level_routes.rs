//! Level routes through the facade: the tables of the deeper levels in another
//! directory or on another file system, followed by reads, compaction (a move across a
//! route is a rewrite), ingestion, checkpoints, recovery, repair, orphan removal, the
//! storage gate and a database's keyspaces; a route directory another tree holds is
//! refused.

#![allow(clippy::unwrap_used, reason = "tests")]

#[path = "support/common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm::compaction::{CompactionAction, Leveled};
use lsm::fs::{Fs, OpenOptions};
use lsm::{
    AbstractTree, AnyTree, Config, Database, Error, KeyspaceCreateOptions, MemFs, RuntimeConfig,
    SeqNo, SequenceNumberCounter,
};

const TREE: &str = "/db";
const COLD: &str = "/cold";

use common::config_on as config;

/// A tree on `fs` whose levels 1 and deeper are in `COLD` on `cold`.
fn open_routed(fs: &Arc<dyn Fs>, cold: &Arc<dyn Fs>) -> AnyTree {
    config(fs)
        .level_route_on(1, COLD, Arc::clone(cold))
        .open()
        .unwrap()
}

/// The table files (named by their ids) in `dir`.
fn tables_in(fs: &dyn Fs, dir: &str) -> Vec<u64> {
    common::file_ids(fs, dir)
}

fn key(i: u32) -> String {
    format!("key{i:05}")
}

/// Writes keys `from..to` (values naming `round`) and flushes them as one table.
fn fill(tree: &AnyTree, from: u32, to: u32, round: u32) {
    for i in from..to {
        tree.insert(
            key(i),
            format!("value{i}-{round}"),
            u64::from(round) * 100_000 + u64::from(i),
        );
    }
    tree.flush_active_memtable(0).unwrap();
}

/// `tree` holds key `i` with the value of `round`.
fn assert_holds(tree: &AnyTree, i: u32, round: u32) {
    assert_eq!(
        tree.get(key(i), SeqNo::MAX).unwrap().as_deref(),
        Some(format!("value{i}-{round}").as_bytes())
    );
}

fn check(tree: &AnyTree, count: u32, round: u32) {
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), count as usize);
    for i in (0..count).step_by(97) {
        assert_holds(tree, i, round);
    }
}

#[test]
fn the_deeper_levels_live_on_the_routes_file_system_and_reads_and_reopens_follow() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let cold: Arc<dyn Fs> = Arc::new(MemFs::new());
    let open = || open_routed(&fs, &cold);
    let tree = open();
    fill(&tree, 0, 2_000, 1);
    fill(&tree, 1_000, 3_000, 2);
    // Level 0 stays in the tree's directory.
    assert_eq!(tables_in(fs.as_ref(), "/db/tables").len(), 2);
    assert!(tables_in(cold.as_ref(), "/cold/tables").is_empty());
    let result = tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert_eq!(result.action, CompactionAction::Merged);
    // The last level is on the other file system, and nothing is left behind.
    assert!(tables_in(fs.as_ref(), "/db/tables").is_empty());
    assert_eq!(
        tables_in(cold.as_ref(), "/cold/tables").len(),
        tree.table_count()
    );
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 3_000);
    for i in (0..1_000).step_by(97) {
        assert_holds(&tree, i, 1);
    }
    for i in (1_000..3_000).step_by(97) {
        assert_holds(&tree, i, 2);
    }
    // Scans cross both directories.
    fill(&tree, 0, 10, 3);
    assert_eq!(tree.iter(SeqNo::MAX, None).count(), 3_000);
    drop(tree);
    let tree = open();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 3_000);
    assert_holds(&tree, 5, 3);
    // The route's directory is claimed and locked while the tree is open.
    assert!(cold.exists(Path::new("/cold/ROUTE")).unwrap());
    assert!(fs.exists(Path::new("/db/ROUTE")).unwrap());
}

#[test]
fn a_move_across_a_route_is_a_rewrite_into_the_destination() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs).level_route(2, COLD).open().unwrap();
    // Small levels, so that tables go down to level 2 and beyond within a few flushes.
    let leveled: Arc<dyn lsm::compaction::CompactionStrategy> = Arc::new(
        Leveled::default()
            .with_l0_threshold(1)
            .with_table_target_size(1 << 10),
    );
    // Disjoint tables: each step of leveled compaction can move instead of merge.
    let mut steps = Vec::new();
    for round in 0..6 {
        fill(&tree, round * 500, round * 500 + 500, 1);
        loop {
            let result = tree.compact(Arc::clone(&leveled), SeqNo::MAX).unwrap();
            if result.action == CompactionAction::Nothing {
                break;
            }
            steps.push((result.action, result.dest_level));
        }
    }
    // Moves happened, and some crossed into the route.
    assert!(
        steps
            .iter()
            .any(|(action, _)| *action == CompactionAction::Moved)
    );
    assert!(
        steps
            .iter()
            .any(|(_, dest)| dest.is_some_and(|level| level >= 2))
    );
    check(&tree, 3_000, 1);
    // Every table is in its level's directory.
    let deep: usize = (2..7)
        .map(|level| tree.level_table_count(level).unwrap_or(0))
        .sum();
    assert!(deep > 0);
    assert_eq!(tables_in(fs.as_ref(), "/cold/tables").len(), deep);
    assert_eq!(
        tables_in(fs.as_ref(), "/db/tables").len(),
        tree.table_count() - deep
    );
}

#[test]
fn ingested_tables_go_to_the_directory_of_the_level_they_land_in() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let cold: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = open_routed(&fs, &cold);
    let mut ingestion = tree.ingestion().unwrap();
    for i in 0..2_000 {
        ingestion.write(key(i), format!("value{i}-1")).unwrap();
    }
    ingestion.finish().unwrap();
    // Nothing overlaps: the tables land in the last level, on the other file system.
    assert_eq!(tree.level_table_count(6), Some(tree.table_count()));
    assert!(tables_in(fs.as_ref(), "/db/tables").is_empty());
    assert_eq!(
        tables_in(cold.as_ref(), "/cold/tables").len(),
        tree.table_count()
    );
    check(&tree, 2_000, 1);
    drop(tree);
    let tree = open_routed(&fs, &cold);
    check(&tree, 2_000, 1);
}

#[test]
fn a_checkpoint_holds_every_table_and_opens_without_the_routes() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let cold: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = open_routed(&fs, &cold);
    fill(&tree, 0, 2_000, 1);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    fill(&tree, 0, 1_000, 2);
    let info = tree.create_checkpoint(Path::new("/copy")).unwrap();
    assert_eq!(info.sst_files, tree.table_count());
    assert_eq!(
        tables_in(fs.as_ref(), "/copy/tables").len(),
        tree.table_count()
    );
    let copy = Config::new(
        "/copy",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(&fs))
    .open()
    .unwrap();
    assert_eq!(copy.len(SeqNo::MAX, None).unwrap(), 2_000);
    assert_holds(&copy, 1_500, 1);
    assert_holds(&copy, 500, 2);
}

#[test]
fn orphans_in_a_route_directory_are_removed_at_open() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let open = || config(&fs).level_route(1, COLD).open().unwrap();
    let tree = open();
    fill(&tree, 0, 1_000, 1);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    let live = tables_in(fs.as_ref(), "/cold/tables");
    drop(tree);
    // A table a crashed merge left, and a copy of a live table in the other directory.
    let orphan = fs
        .open(Path::new("/cold/tables/999"), OpenOptions::create_new())
        .unwrap();
    orphan.write_all_at(b"left by a crash", 0).unwrap();
    let original = fs
        .open(
            &PathBuf::from(format!("/cold/tables/{}", live[0])),
            OpenOptions::read(),
        )
        .unwrap();
    let mut bytes = vec![0; usize::try_from(original.len().unwrap()).unwrap()];
    original.read_exact_at(&mut bytes, 0).unwrap();
    let copy = fs
        .open(
            &PathBuf::from(format!("/db/tables/{}", live[0])),
            OpenOptions::create_new(),
        )
        .unwrap();
    copy.write_all_at(&bytes, 0).unwrap();
    let tree = open();
    assert_eq!(tables_in(fs.as_ref(), "/cold/tables"), live);
    assert!(tables_in(fs.as_ref(), "/db/tables").is_empty());
    check(&tree, 1_000, 1);
}

#[test]
fn a_table_left_in_another_configured_directory_is_read_there_and_moved_by_compaction() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    // First without a route: the last level is in the tree's directory.
    let tree = config(&fs).open().unwrap();
    fill(&tree, 0, 1_000, 1);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    drop(tree);
    // A route added later: the table is found where it is.
    let tree = config(&fs).level_route(1, COLD).open().unwrap();
    check(&tree, 1_000, 1);
    assert_eq!(tables_in(fs.as_ref(), "/db/tables").len(), 1);
    fill(&tree, 1_000, 1_500, 1);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert!(tables_in(fs.as_ref(), "/db/tables").is_empty());
    assert_eq!(
        tables_in(fs.as_ref(), "/cold/tables").len(),
        tree.table_count()
    );
    check(&tree, 1_500, 1);
    drop(tree);
    // Retiring the route: its tables moved back by hand, and opened without it.
    for id in tables_in(fs.as_ref(), "/cold/tables") {
        fs.rename(
            &PathBuf::from(format!("/cold/tables/{id}")),
            &PathBuf::from(format!("/db/tables/{id}")),
        )
        .unwrap();
    }
    let tree = config(&fs).open().unwrap();
    check(&tree, 1_500, 1);
}

#[test]
fn a_table_in_no_configured_directory_is_a_typed_error_not_an_empty_tree() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs).level_route(1, COLD).open().unwrap();
    fill(&tree, 0, 1_000, 1);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    drop(tree);
    // The route dropped from the configuration while its tables are still there.
    let error = config(&fs).open().unwrap_err();
    assert!(matches!(error, Error::Table(_)), "{error:?}");
}

#[test]
fn a_route_directory_of_another_tree_is_refused() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let tree = config(&fs).level_route(1, COLD).open().unwrap();
    fill(&tree, 0, 1_000, 1);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    // Held by an open tree: locked.
    let other = Config::new(
        "/other",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(&fs))
    .level_route(1, COLD);
    assert!(matches!(other.clone().open(), Err(Error::Locked(_))));
    drop(tree);
    // Claimed by the first tree: refused, and nothing of it removed.
    assert!(matches!(other.open(), Err(Error::RouteClaimed(_))));
    let tables = tables_in(fs.as_ref(), "/cold/tables");
    assert_eq!(tables.len(), 1);
    // Tables without a claim (the identity file lost) are refused alike.
    fs.remove_file(Path::new("/cold/ROUTE")).unwrap();
    let third = Config::new(
        "/third",
        SequenceNumberCounter::default(),
        SequenceNumberCounter::default(),
    )
    .with_shared_fs(Arc::clone(&fs))
    .level_route(1, COLD);
    assert!(matches!(third.open(), Err(Error::RouteClaimed(_))));
    assert_eq!(tables_in(fs.as_ref(), "/cold/tables"), tables);
    // A repair of the owner adopts the directory again.
    config(&fs).level_route(1, COLD).repair().unwrap();
    let tree = config(&fs).level_route(1, COLD).open().unwrap();
    check(&tree, 1_000, 1);
}

#[test]
fn routes_are_validated() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    for bad in [
        config(&fs).level_route(7, COLD),
        config(&fs).level_route(1, TREE),
        config(&fs).level_route(1, COLD).level_route(2, COLD),
    ] {
        assert!(matches!(bad.open(), Err(Error::InvalidConfig(_))));
    }
    // A second route of the same first level replaces the first.
    let config = config(&fs).level_route(1, "/a").level_route(1, COLD);
    assert_eq!(config.level_routes().len(), 1);
    assert_eq!(config.level_routes()[0].dir, Path::new(COLD));
}

#[test]
fn repair_finds_the_tables_in_every_route() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let cold: Arc<dyn Fs> = Arc::new(MemFs::new());
    let routed = || config(&fs).level_route_on(1, COLD, Arc::clone(&cold));
    let tree = routed().open().unwrap();
    fill(&tree, 0, 2_000, 1);
    tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    fill(&tree, 0, 500, 2);
    drop(tree);
    fs.remove_file(Path::new("/db/current")).unwrap();
    // A damaged table in the route is quarantined on the route's file system.
    let bad = cold
        .open(Path::new("/cold/tables/777"), OpenOptions::create_new())
        .unwrap();
    bad.write_all_at(b"not a table", 0).unwrap();
    let report = routed().repair().unwrap();
    assert_eq!(report.recovered, 2);
    assert_eq!(report.unreadable, 1);
    assert!(
        cold.exists(Path::new("/cold/repair-quarantine/table-777"))
            .unwrap()
    );
    let tree = routed().open().unwrap();
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 2_000);
    assert_holds(&tree, 100, 2);
    assert_holds(&tree, 1_900, 1);
}

#[test]
fn the_storage_gate_watches_the_fullest_of_the_routes() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let cold = Arc::new(MemFs::new());
    let mut runtime = RuntimeConfig::default();
    runtime.storage_admission_check = true;
    let tree = config(&fs)
        .level_route_on(1, COLD, Arc::clone(&cold) as Arc<dyn Fs>)
        .with_runtime_config(runtime)
        .open()
        .unwrap();
    for round in 0..4 {
        fill(&tree, round * 500, round * 500 + 1_000, round);
    }
    // The tree's own disk has room; the route's, where the merge writes, has not.
    cold.set_capacity(Some(tree.disk_space() / 2));
    let result = tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert_eq!(result.action, CompactionAction::Nothing);
    assert_eq!(tree.metrics().compactions_deferred_for_space(), 1);
    cold.set_capacity(None);
    let result = tree.major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert_eq!(result.action, CompactionAction::Merged);
    assert!(tables_in(fs.as_ref(), "/db/tables").is_empty());
    assert_eq!(tree.len(SeqNo::MAX, None).unwrap(), 2_500);
    assert_holds(&tree, 0, 0);
    // A full route refuses writes too (the gate measures when the version changes),
    // and room coming back admits them.
    cold.set_capacity(Some(0));
    fill(&tree, 0, 10, 4);
    let mut seqno = 1_000_000;
    common::eventually("a full route refuses writes", || {
        seqno += 1;
        matches!(
            tree.try_insert("w", "v", seqno),
            Err(Error::StorageFull { .. })
        )
    });
    assert_holds(&tree, 2_499, 3);
    assert!(tree.is_read_only());
    cold.set_capacity(None);
    common::eventually("room coming back admits writes", || {
        seqno += 1;
        tree.try_insert("w", "v", seqno).is_ok()
    });
}

#[test]
fn a_keyspace_of_a_database_keeps_its_deeper_levels_on_its_route_and_loses_them_on_delete() {
    let fs: Arc<dyn Fs> = Arc::new(MemFs::new());
    let db = Database::builder("/database")
        .with_fs(Arc::clone(&fs))
        .open()
        .unwrap();
    let options = || {
        KeyspaceCreateOptions::default().with_config(|config| config.level_route(1, "/cold/events"))
    };
    let events = db.keyspace("events", options).unwrap();
    for i in 0..2_000 {
        events.insert(key(i), format!("value{i}-1")).unwrap();
    }
    events.rotate_memtable_and_wait().unwrap();
    events.tree().major_compact(64 << 20, SeqNo::MAX).unwrap();
    assert!(!tables_in(fs.as_ref(), "/cold/events/tables").is_empty());
    assert_eq!(
        events.get(key(7)).unwrap().as_deref(),
        Some(&b"value7-1"[..])
    );
    db.delete_keyspace(events).unwrap();
    // Removed with the keyspace's own directory once no handle holds it.
    common::eventually("the deleted keyspace's route is removed", || {
        !fs.exists(Path::new("/cold/events")).unwrap()
    });
}
