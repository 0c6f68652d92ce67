//! openraft's own storage test suite, run against the adapter on a real directory.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use lsm::Database;
use lsm_raft::openraft::testing::{StoreBuilder, Suite};
use lsm_raft::openraft::{StorageError, StorageIOError};
use lsm_raft::{LogStore, StateMachine, TypeConfig};
use tempfile::TempDir;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore<TypeConfig>, StateMachine<TypeConfig>, TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore<TypeConfig>, StateMachine<TypeConfig>), StorageError<u64>> {
        let io = |error: lsm::Error| StorageIOError::write(&error);
        let dir = tempfile::tempdir().unwrap();
        let db = Database::builder(dir.path()).open().map_err(io)?;
        let (log_store, state_machine) = lsm_raft::open(&db, "group").map_err(io)?;
        Ok((dir, log_store, state_machine))
    }
}

#[test]
fn openraft_storage_suite_passes() {
    Suite::test_all(Builder).unwrap();
}
