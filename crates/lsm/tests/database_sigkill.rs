//! A real process killed with SIGKILL in the middle of synced writes: every write
//! whose commit returned is there after reopening.
//!
//! The test re-runs its own binary as the writer (the ignored test below, selected by
//! name), reads the writer's acknowledgements from its standard output, kills it after
//! a varying number of them, and reopens the database.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use lsm::{Database, Durability, KeyspaceCreateOptions};
use lsm_testkit::rng::Rng;

/// Where the writer writes; set only for the child.
const DIR_VAR: &str = "LSM_SIGKILL_WRITER_DIR";

const KILLS: u64 = 20;

/// The two keyspaces every batch writes to.
fn keyspaces(db: &Database) -> (lsm::Keyspace, lsm::Keyspace) {
    let open = |name| db.keyspace(name, KeyspaceCreateOptions::default).unwrap();
    (open("items"), open("mirror"))
}

#[test]
#[ignore = "issue 24: the writer process of the SIGKILL test, which runs it"]
fn sigkill_writer() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let db = Database::builder(&dir)
        .durability(Durability::Sync)
        .journal_segment_size(64 << 10)
        .max_write_buffer_size(256 << 10)
        .open()
        .unwrap();
    let (items, mirror) = keyspaces(&db);
    let start = items.len().unwrap() as u64;
    let mut out = std::io::stdout().lock();
    for i in start.. {
        let mut batch = db.batch();
        let value = format!("{i}").repeat(20);
        batch.insert(&items, format!("{i:08}"), value.clone());
        batch.insert(&mirror, format!("{i:08}"), value);
        batch.commit().unwrap();
        // Acknowledged: printed only after the synced commit returned.
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(9);
    let mut acknowledged: Option<u64> = None;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "sigkill_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let kill_after = 1 + rng.below(300);
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let Some(number) = line.strip_prefix("ack ") else {
                continue;
            };
            acknowledged = Some(number.parse().unwrap());
            seen += 1;
            if seen == kill_after {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let last = acknowledged.expect("the writer acknowledged a write");

        let db = Database::builder(dir.path()).open().unwrap();
        let (items, mirror) = keyspaces(&db);
        let count = items.len().unwrap() as u64;
        assert!(
            count > last,
            "round {round}: write {last} was acknowledged, {count} came back"
        );
        assert_eq!(
            mirror.len().unwrap() as u64,
            count,
            "round {round}: a batch in part"
        );
        for i in 0..count {
            let key = format!("{i:08}");
            assert_eq!(
                items.get(&key).unwrap().as_deref(),
                Some(format!("{i}").repeat(20).as_bytes()),
                "round {round}: a hole at {i}"
            );
        }
    }
}
