//! [`LogStore`]: the Raft log, its vote and its committed id, in one keyspace.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use lsm::{Database, Durability, Guard, Keyspace};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{
    AnyError, LogId, OptionalSend, RaftLogReader, RaftTypeConfig, StorageError, StorageIOError,
    Vote,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::flusher::Flusher;

/// The Raft log of one group: entries keyed by index, the vote, the committed log id and
/// the last purged log id, in the keyspace `<group>.log` of a [`Database`].
///
/// The vote is synced before `save_vote` returns; appended entries are written at once
/// and reported flushed (openraft's `LogFlushed` callback) once a thread of the store
/// has synced the database's log past them, so Raft pipelines while a sync runs and
/// appends that arrive meanwhile share the next sync. A truncation and a purge are
/// synced before they return, so that a purge never outlives the state machine writes
/// that made it safe (they share the database's log, so one sync covers both).
pub struct LogStore<C: RaftTypeConfig> {
    db: Database,
    log: Keyspace,
    flusher: Arc<Flusher<C>>,
}

impl<C: RaftTypeConfig> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            log: self.log.clone(),
            flusher: Arc::clone(&self.flusher),
        }
    }
}

impl<C: RaftTypeConfig> Debug for LogStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("keyspace", &self.log.name())
            .finish_non_exhaustive()
    }
}

type Result<T, C> = std::result::Result<T, StorageError<<C as RaftTypeConfig>::NodeId>>;

impl<C: RaftTypeConfig> LogStore<C> {
    pub(crate) fn new(db: Database, log: Keyspace) -> std::io::Result<Self> {
        let flusher = Arc::new(Flusher::start(db.clone())?);
        Ok(Self { db, log, flusher })
    }

    /// The keyspace holding the log.
    #[must_use]
    pub fn keyspace(&self) -> &Keyspace {
        &self.log
    }

    fn read<T: DeserializeOwned>(
        &self,
        key: &[u8],
        fail: fn(AnyError) -> StorageIOError<C::NodeId>,
    ) -> Result<Option<T>, C> {
        let Some(bytes) = self
            .log
            .get(key)
            .map_err(|error| fail(AnyError::new(&error)))?
        else {
            return Ok(None);
        };
        let value = codec::decode(&bytes).map_err(|error| fail(AnyError::new(&error)))?;
        Ok(Some(value))
    }

    fn write<T: Serialize>(
        &self,
        key: &[u8],
        value: &T,
        durability: Durability,
        fail: fn(AnyError) -> StorageIOError<C::NodeId>,
    ) -> Result<(), C> {
        let bytes = codec::encode(value).map_err(|error| fail(AnyError::new(&error)))?;
        let mut batch = self.db.batch().durability(durability);
        batch.insert(&self.log, key, bytes);
        batch
            .commit()
            .map_err(|error| fail(AnyError::new(&error)))?;
        Ok(())
    }
}

fn entry_bound(bound: Bound<&u64>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(&index) => Bound::Included(codec::entry_key(index)),
        Bound::Excluded(&index) => Bound::Excluded(codec::entry_key(index)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl<C> RaftLogReader<C> for LogStore<C>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, C> {
        let start = match range.start_bound() {
            Bound::Unbounded => Bound::Included(codec::entry_key(0)),
            bound => entry_bound(bound),
        };
        let end = match range.end_bound() {
            Bound::Unbounded => Bound::Excluded(codec::entries_end()),
            bound => entry_bound(bound),
        };
        let mut entries = Vec::new();
        for item in self.log.range::<Vec<u8>, _>((start, end)) {
            let (_, value) = item
                .into_inner()
                .map_err(|error| StorageIOError::read_logs(&error))?;
            let entry = codec::decode(&value).map_err(|error| StorageIOError::read_logs(&error))?;
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl<C> RaftLogStorage<C> for LogStore<C>
where
    C: RaftTypeConfig,
    C::Entry: Serialize + DeserializeOwned,
{
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<C>, C> {
        let last_purged_log_id: Option<LogId<C::NodeId>> =
            self.read(codec::PURGED, StorageIOError::read_logs)?;
        let last = self
            .log
            .range(codec::entry_key(0)..codec::entries_end())
            .next_back();
        let last_log_id = match last {
            Some(item) => {
                let (_, value) = item
                    .into_inner()
                    .map_err(|error| StorageIOError::read_logs(&error))?;
                let entry: C::Entry =
                    codec::decode(&value).map_err(|error| StorageIOError::read_logs(&error))?;
                Some(openraft::RaftLogId::get_log_id(&entry).clone())
            }
            None => last_purged_log_id.clone(),
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<C::NodeId>) -> Result<(), C> {
        self.write(codec::VOTE, vote, Durability::Sync, |error| {
            StorageIOError::write_vote(error)
        })
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<C::NodeId>>, C> {
        self.read(codec::VOTE, StorageIOError::read_vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<C::NodeId>>) -> Result<(), C> {
        // A lost committed id is recomputed by the leader; it need not be synced.
        self.write(
            codec::COMMITTED,
            &committed,
            Durability::Buffered,
            StorageIOError::write,
        )
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<C::NodeId>>, C> {
        Ok(self
            .read::<Option<LogId<C::NodeId>>>(codec::COMMITTED, |error| {
                StorageIOError::read(error)
            })?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<C>) -> Result<(), C>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // Written (and readable) now, completed once synced: Raft replicates and takes
        // the next append meanwhile, and appends during a sync share the next one.
        let mut batch = self.db.batch().durability(Durability::Buffered);
        for entry in entries {
            let index = openraft::RaftLogId::get_log_id(&entry).index;
            let bytes =
                codec::encode(&entry).map_err(|error| StorageIOError::write_logs(&error))?;
            batch.insert(&self.log, codec::entry_key(index), bytes);
        }
        batch
            .commit()
            .map_err(|error| StorageIOError::write_logs(&error))?;
        self.flusher.complete_when_synced(callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<C::NodeId>) -> Result<(), C> {
        let mut batch = self.db.batch().durability(Durability::Sync);
        batch.remove_range(
            &self.log,
            codec::entry_key(log_id.index),
            codec::entries_end(),
        );
        batch
            .commit()
            .map_err(|error| StorageIOError::write_logs(&error))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<C::NodeId>) -> Result<(), C> {
        let bytes = codec::encode(&log_id).map_err(|error| StorageIOError::write_logs(&error))?;
        let mut batch = self.db.batch().durability(Durability::Sync);
        batch.insert(&self.log, codec::PURGED, bytes);
        batch.remove_range(
            &self.log,
            codec::entry_key(0),
            codec::entry_key_after(log_id.index),
        );
        batch
            .commit()
            .map_err(|error| StorageIOError::write_logs(&error))?;
        Ok(())
    }
}
