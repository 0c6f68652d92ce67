//! [`StateMachine`]: the replicated key-value map, and its snapshots.

use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use lsm::{Database, Durability, Guard, Keyspace, UserKey, UserValue};
use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, RaftTypeConfig,
    Snapshot, SnapshotMeta, StorageError, StorageIOError, StoredMembership,
};

use crate::codec::{self, SnapshotWriter};
use crate::request::{Request, Response};

/// What the state machine has applied: the last log id and the membership.
type Applied<C> = (
    Option<LogId<<C as RaftTypeConfig>::NodeId>>,
    StoredMembership<<C as RaftTypeConfig>::NodeId, <C as RaftTypeConfig>::Node>,
);

type Result<T, C> = std::result::Result<T, StorageError<<C as RaftTypeConfig>::NodeId>>;

/// The current snapshot: its metadata and the database snapshot it reads from, so that
/// holding it costs no copy of the data (only the versions it keeps from compaction).
struct Held<C: RaftTypeConfig> {
    meta: SnapshotMeta<C::NodeId, C::Node>,
    view: lsm::Snapshot,
}

/// The replicated key-value map of one group, in the keyspace `<group>.sm` of a
/// [`Database`]: each call to `apply` writes its entries' changes and the last applied
/// log id in one batch, so a crash never separates them and readers never see part of
/// an entry.
///
/// Clone it before handing it to `openraft::Raft::new` to keep a handle for reads
/// ([`Self::get`], [`Self::range`]); after `Raft::ensure_linearizable` returns, they
/// see every write committed before the read began.
pub struct StateMachine<C: RaftTypeConfig> {
    db: Database,
    sm: Keyspace,
    current: Arc<Mutex<Option<Held<C>>>>,
    built: Arc<AtomicU64>,
}

impl<C: RaftTypeConfig> Clone for StateMachine<C> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            sm: self.sm.clone(),
            current: Arc::clone(&self.current),
            built: Arc::clone(&self.built),
        }
    }
}

impl<C: RaftTypeConfig> Debug for StateMachine<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine")
            .field("keyspace", &self.sm.name())
            .finish_non_exhaustive()
    }
}

fn read_error<NID: openraft::NodeId>(
    error: &(impl std::error::Error + 'static),
) -> StorageIOError<NID> {
    StorageIOError::read_state_machine(AnyError::new(error))
}

fn write_error<NID: openraft::NodeId>(
    error: &(impl std::error::Error + 'static),
) -> StorageIOError<NID> {
    StorageIOError::write_state_machine(AnyError::new(error))
}

impl<C: RaftTypeConfig> StateMachine<C> {
    pub(crate) fn new(db: Database, sm: Keyspace) -> Self {
        Self {
            db,
            sm,
            current: Arc::default(),
            built: Arc::default(),
        }
    }

    /// The value of `key`, as of the last entry applied here.
    ///
    /// # Errors
    /// I/O and corruption errors of the engine.
    pub fn get(&self, key: &[u8]) -> lsm::Result<Option<UserValue>> {
        self.sm.get(codec::data_key(key))
    }

    /// The pairs whose keys are in `range`, in key order, as of one moment.
    ///
    /// # Errors
    /// I/O and corruption errors of the engine.
    pub fn range<R: RangeBounds<Vec<u8>>>(
        &self,
        range: R,
    ) -> lsm::Result<Vec<(Vec<u8>, UserValue)>> {
        use std::ops::Bound;
        let bound = |bound: Bound<&Vec<u8>>, unbounded: Vec<u8>, end: bool| match bound {
            Bound::Included(key) => Bound::Included(codec::data_key(key)),
            Bound::Excluded(key) => Bound::Excluded(codec::data_key(key)),
            Bound::Unbounded if end => Bound::Excluded(unbounded),
            Bound::Unbounded => Bound::Included(unbounded),
        };
        let start = bound(range.start_bound(), codec::data_start(), false);
        let end = bound(range.end_bound(), codec::data_end(), true);
        let mut pairs = Vec::new();
        for item in self.sm.range::<Vec<u8>, _>((start, end)) {
            let (key, value) = item.into_inner()?;
            if let Some(user_key) = codec::user_key(&key) {
                pairs.push((user_key.to_vec(), value));
            }
        }
        Ok(pairs)
    }

    /// The keyspace holding the map.
    #[must_use]
    pub fn keyspace(&self) -> &Keyspace {
        &self.sm
    }

    fn applied(&self, view: Option<&lsm::Snapshot>) -> Result<Applied<C>, C> {
        let bytes = match view {
            Some(view) => view.get(&self.sm, codec::APPLIED),
            None => self.sm.get(codec::APPLIED),
        }
        .map_err(|error| read_error(&error))?;
        match bytes {
            Some(bytes) => Ok(codec::decode(bytes.as_ref()).map_err(|error| read_error(&error))?),
            None => Ok((None, StoredMembership::default())),
        }
    }

    /// The user's pairs as of `view`, as a snapshot stream.
    fn serialize(&self, view: &lsm::Snapshot) -> Result<Vec<u8>, C> {
        let mut writer = SnapshotWriter::new();
        for item in view.range(&self.sm, codec::data_start()..codec::data_end()) {
            let (key, value) = item.into_inner().map_err(|error| read_error(&error))?;
            if let Some(user_key) = codec::user_key(&key) {
                writer.push(user_key, &value);
            }
        }
        Ok(writer.finish())
    }

    /// Makes `held` the current snapshot unless a newer one already is (a build that
    /// ran beside an installation must not replace what was installed).
    fn hold(&self, held: Held<C>) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let newer = current
            .as_ref()
            .is_none_or(|now| now.meta.last_log_id <= held.meta.last_log_id);
        if newer {
            *current = Some(held);
        }
    }

    /// Adds `request`'s changes to `batch`. `staged` holds the keys the batch sets (as
    /// shared buffers: a clone is a count): a range delete covers only what came before
    /// its batch, so it also removes those of them in its range, and every entry stays
    /// whole in one batch.
    fn stage(&self, batch: &mut lsm::Batch, staged: &mut Vec<UserKey>, request: Request) {
        match request {
            Request::Set { key, value } => {
                let key = UserKey::from(codec::data_key(&key));
                batch.insert(&self.sm, key.clone(), value);
                staged.push(key);
            }
            Request::Delete { key } => batch.remove(&self.sm, codec::data_key(&key)),
            Request::DeleteRange { start, end } if start < end => {
                let (start, end) = (codec::data_key(&start), codec::data_key(&end));
                let covered =
                    |key: &&UserKey| (start.as_slice()..end.as_slice()).contains(&&key[..]);
                for key in staged.iter().filter(covered) {
                    batch.remove(&self.sm, key.clone());
                }
                batch.remove_range(&self.sm, start, end);
            }
            Request::DeleteRange { .. } => {}
            Request::Batch(requests) => {
                for request in requests {
                    self.stage(batch, staged, request);
                }
            }
        }
    }

    fn commit_applied(&self, mut batch: lsm::Batch, applied: &Applied<C>) -> Result<(), C> {
        let bytes = codec::encode(applied).map_err(|error| write_error(&error))?;
        batch.insert(&self.sm, codec::APPLIED, bytes);
        batch.commit().map_err(|error| write_error(&error))?;
        Ok(())
    }
}

impl<C> RaftStateMachine<C> for StateMachine<C>
where
    C: RaftTypeConfig<D = Request, R = Response, Entry = Entry<C>, SnapshotData = Cursor<Vec<u8>>>,
{
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<Applied<C>, C> {
        self.applied(None)
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, C>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // Applied writes need not be synced: the log holds them until a purge, which
        // syncs the database's log and with it every write before.
        let mut applied = self.applied(None)?;
        let mut batch = self.db.batch().durability(Durability::Buffered);
        let mut staged = Vec::new();
        let mut responses = Vec::new();
        for entry in entries {
            let mut refused = None;
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Membership(membership) => {
                    applied.1 = StoredMembership::new(Some(entry.log_id.clone()), membership);
                }
                EntryPayload::Normal(request) => {
                    refused = request.check().err();
                    if refused.is_none() {
                        self.stage(&mut batch, &mut staged, request);
                    }
                }
            }
            responses.push(Response {
                log_index: entry.log_id.index,
                refused,
            });
            applied.0 = Some(entry.log_id);
        }
        self.commit_applied(batch, &applied)?;
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, C> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<C::NodeId, C::Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), C> {
        let bytes = snapshot.into_inner();
        let signature = Some(meta.signature());
        let pairs = codec::read_snapshot(&bytes)
            .map_err(|error| StorageIOError::read_snapshot(signature, AnyError::new(&error)))?;
        // One batch: the old map goes (the range delete covers only what came before the
        // batch), the snapshot's pairs and its applied id come in, all or nothing.
        let mut batch = self.db.batch().durability(Durability::Buffered);
        batch.remove_range(&self.sm, codec::data_start(), codec::data_end());
        for (key, value) in pairs {
            batch.insert(&self.sm, codec::data_key(key), value.to_vec());
        }
        self.commit_applied(
            batch,
            &(meta.last_log_id.clone(), meta.last_membership.clone()),
        )?;
        self.hold(Held {
            meta: meta.clone(),
            view: self.db.snapshot(),
        });
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<C>>, C> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(held) = current.as_ref() else {
            return Ok(None);
        };
        let data = self.serialize(&held.view)?;
        Ok(Some(Snapshot {
            meta: held.meta.clone(),
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

impl<C> RaftSnapshotBuilder<C> for StateMachine<C>
where
    C: RaftTypeConfig<D = Request, R = Response, Entry = Entry<C>, SnapshotData = Cursor<Vec<u8>>>,
{
    async fn build_snapshot(&mut self) -> Result<Snapshot<C>, C> {
        // One database snapshot fixes both the pairs and the applied id they match,
        // while `apply` goes on beside it.
        let view = self.db.snapshot();
        let (last_log_id, last_membership) = self.applied(Some(&view))?;
        let data = self.serialize(&view)?;
        let number = self.built.fetch_add(1, Ordering::Relaxed);
        let snapshot_id = match &last_log_id {
            Some(log_id) => format!("{}-{}-{number}", log_id.leader_id, log_id.index),
            None => format!("none-{number}"),
        };
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id,
        };
        self.hold(Held {
            meta: meta.clone(),
            view,
        });
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
