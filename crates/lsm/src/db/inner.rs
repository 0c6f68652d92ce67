//! The shared state of a database: its keyspaces, its log, its seqno counters, and the
//! write path every keyspace write and batch takes.
//!
//! **Writes.** A commit checks and prepares its changes first (nothing is logged for a
//! change that would be refused), then, under the write lock, draws one seqno, queues
//! one log record and applies the changes to the keyspaces' memtables; outside the lock
//! it waits until the record is as durable as asked, and only then raises the visible
//! seqno past it. Seqnos are drawn and applied in log order, so when a commit's record
//! is durable, so is every earlier one, and every earlier change is applied: raising
//! the visible seqno never shows part of a batch or a change the log does not hold.
//! (A buffered write that follows a synced one may make it visible before its sync
//! returns.)
//!
//! **Lock order.** The registry lock, then the write lock, then the keyspace map; the
//! log's own locks and each tree's are taken inside, never the other way round.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, Weak};

use lsm_core::{
    Fs, FsLock, InternalEntry, RangeTombstone, SeqNo, SequenceNumberCounter, ValueType,
};
use lsm_wal::{Durability, Wal, WalBatch, WalEntry, WalOp};

use crate::background::MaintenanceOptions;
use crate::db::layout::{self, Registry};
use crate::db::options::{DatabaseBuilder, KeyspaceCreateOptions};
use crate::db::snapshots::SnapshotSet;
use crate::{AbstractTree, AnyTree, Cache, Config, Error, Result, UserKey, UserValue};

/// A directory and the file system it is on.
type DirOn = (PathBuf, Arc<dyn Fs>);

/// One keyspace: its tree and its place in the registry.
pub(crate) struct KeyspaceState {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) tree: AnyTree,
    pub(crate) deleted: AtomicBool,
}

impl KeyspaceState {
    fn check_live(&self) -> Result<()> {
        if self.deleted.load(Ordering::Acquire) {
            return Err(Error::KeyspaceDeleted(self.name.clone()));
        }
        Ok(())
    }

    fn inner_tree(&self) -> &crate::TreeInner {
        &self.tree.index_tree().0
    }
}

/// The changes of one commit to one keyspace, checked and ready to apply.
struct Prepared {
    keyspace: Arc<KeyspaceState>,
    /// Point changes, one per key (a batch's later change to a key replaces an earlier
    /// one; merge operands are combined).
    entries: Vec<InternalEntry>,
    /// Range deletes (start, end), each non-empty in the keyspace's order.
    ranges: Vec<(UserKey, UserKey)>,
}

/// Wakes the log's maintenance thread and tells it to stop.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    pub(crate) stop: Mutex<bool>,
    pub(crate) wake: Condvar,
}

/// The database's log, set once recovery has replayed it (the trees open, and may
/// flush what is replayed into them, before it is).
pub(crate) type LogSlot = Arc<OnceLock<Wal>>;

/// A keyspace's flush syncs the log first (no table holds a write the log could lose),
/// and wakes the log's thread after (its segments may go now). During recovery there
/// is no log yet, and nothing to sync: the log syncs what it replays first.
struct LogHooks {
    log: LogSlot,
    signal: Arc<Signal>,
}

impl crate::config::FlushHooks for LogHooks {
    fn before_flush(&self, _highest_seqno: SeqNo) -> Result<()> {
        match self.log.get() {
            Some(wal) => Ok(wal.sync()?),
            None => Ok(()),
        }
    }

    fn after_flush(&self) {
        self.signal.wake.notify_all();
    }
}

/// What a [`crate::Database`] and its [`crate::Keyspace`] handles share.
pub(crate) struct DbInner {
    pub(crate) fs: Arc<dyn Fs>,
    pub(crate) settings: DatabaseBuilder,
    log: LogSlot,
    pub(crate) seqno: SequenceNumberCounter,
    pub(crate) visible: SequenceNumberCounter,
    pub(crate) snapshots: Arc<SnapshotSet>,
    pub(crate) cache: Arc<Cache>,
    write_lock: Mutex<()>,
    keyspaces: RwLock<BTreeMap<u32, Arc<KeyspaceState>>>,
    registry: Mutex<Registry>,
    /// Deleted keyspaces whose directories go once their last handle has.
    /// Deleted keyspaces still held, with their directories (a level route's on its
    /// own file system).
    deleted: Mutex<Vec<(Vec<DirOn>, Weak<KeyspaceState>)>>,
    /// Bytes written since the database opened (for the write-buffer budget's checks).
    written: AtomicU64,
    pub(crate) signal: Arc<Signal>,
    _lock: Box<dyn FsLock>,
}

impl std::fmt::Debug for DbInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.settings.path)
            .field("seqno", &self.seqno.get())
            .field("visible", &self.visible.get())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DbInner {
    /// The state of a database opening with `settings` (no keyspace open, no log yet;
    /// seqnos from 0, raised by recovery).
    pub(crate) fn new(
        settings: DatabaseBuilder,
        fs: Arc<dyn Fs>,
        registry: Registry,
        dir_lock: Box<dyn FsLock>,
    ) -> Self {
        let visible = SequenceNumberCounter::default();
        Self {
            fs,
            cache: Arc::new(Cache::with_capacity_bytes(settings.cache_size)),
            settings,
            log: Arc::new(OnceLock::new()),
            snapshots: Arc::new(SnapshotSet::new(visible.clone())),
            seqno: SequenceNumberCounter::default(),
            visible,
            write_lock: Mutex::new(()),
            keyspaces: RwLock::new(BTreeMap::new()),
            registry: Mutex::new(registry),
            deleted: Mutex::new(Vec::new()),
            written: AtomicU64::new(0),
            signal: Arc::new(Signal::default()),
            _lock: dir_lock,
        }
    }

    /// The log (there from the end of recovery on).
    ///
    /// # Errors
    /// [`Error::Closed`] while recovery has not set it.
    pub(crate) fn wal(&self) -> Result<&Wal> {
        self.log.get().ok_or(Error::Closed)
    }

    /// Sets the log recovery replayed.
    pub(crate) fn set_wal(&self, wal: Wal) {
        // Set once, by the open that made this state.
        let _ = self.log.set(wal);
    }

    /// The database's directory.
    pub(crate) fn path(&self) -> &Path {
        &self.settings.path
    }

    pub(crate) fn keyspace_map(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, BTreeMap<u32, Arc<KeyspaceState>>> {
        self.keyspaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn registry(&self) -> Registry {
        lock(&self.registry).clone()
    }

    /// The tree configuration of keyspace `id`: the caller's options, then what the
    /// database shares.
    fn tree_config(&self, id: u32, options: &KeyspaceCreateOptions) -> Config {
        let mut config = Config::new(
            layout::keyspace_dir(self.path(), id),
            self.seqno.clone(),
            self.visible.clone(),
        )
        .with_merge_operator(options.merge_operator.clone())
        .with_kv_separation(options.kv_separation.clone());
        if let Some(change) = &options.config {
            config = change(config);
        }
        let snapshots = Arc::clone(&self.snapshots);
        config.flush_hooks = Some(Arc::new(LogHooks {
            log: Arc::clone(&self.log),
            signal: Arc::clone(&self.signal),
        }));
        config
            .with_shared_fs(Arc::clone(&self.fs))
            .with_encryption(self.settings.encryption.clone())
            .use_cache(Arc::clone(&self.cache))
            .seqno_generator(self.seqno.clone().into())
            .visible_seqno_generator(self.visible.clone().into())
            .with_background_maintenance(Some(MaintenanceOptions {
                memtable_size_bytes: options.max_memtable_size,
                strategy: Arc::clone(&options.strategy),
                gc_watermark: Arc::new(move || snapshots.watermark()),
                compaction_jobs: self.settings.compaction_jobs,
                ..MaintenanceOptions::default()
            }))
    }

    /// Opens keyspace `id`'s tree and lists it (recovery, and creation).
    pub(crate) fn open_keyspace(
        &self,
        id: u32,
        name: &str,
        options: &KeyspaceCreateOptions,
    ) -> Result<Arc<KeyspaceState>> {
        // The keyspace's directory is made durable before its tree writes into it.
        let dir = layout::keyspace_dir(self.path(), id);
        let parent = self.path().join(layout::KEYSPACES_DIR);
        self.fs
            .create_dir_all(&dir)
            .and_then(|()| self.fs.sync_dir(&parent))
            .and_then(|()| self.fs.sync_dir(self.path()))
            .map_err(|error| Error::io("create keyspace directory", &dir, error))?;
        let tree = self.tree_config(id, options).open()?;
        let state = Arc::new(KeyspaceState {
            id,
            name: name.to_owned(),
            tree,
            deleted: AtomicBool::new(false),
        });
        self.keyspaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&state));
        Ok(state)
    }

    /// The keyspace called `name`, created with `options` when there is none.
    pub(crate) fn keyspace(
        &self,
        name: &str,
        options: impl FnOnce() -> KeyspaceCreateOptions,
    ) -> Result<Arc<KeyspaceState>> {
        check_name(name)?;
        let mut registry = lock(&self.registry);
        if let Some(id) = registry.id_of(name) {
            if let Some(state) = self.keyspace_map().get(&id) {
                return Ok(Arc::clone(state));
            }
            // Registered, but its tree failed to open before: try again.
            return self.open_keyspace(id, name, &options());
        }
        let id = registry.next_id;
        let mut next = registry.clone();
        next.next_id = id
            .checked_add(1)
            .ok_or(Error::InvalidConfig("no keyspace ids left"))?;
        next.entries.push((id, name.to_owned()));
        self.write_registry(&next)?;
        *registry = next;
        self.open_keyspace(id, name, &options())
    }

    /// Deletes a keyspace: it leaves the registry at once, its handles refuse writes,
    /// and its directory goes once the last handle has.
    pub(crate) fn delete_keyspace(&self, state: &Arc<KeyspaceState>) -> Result<()> {
        let mut registry = lock(&self.registry);
        if state.deleted.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut next = registry.clone();
        next.entries.retain(|(id, _)| *id != state.id);
        self.write_registry(&next)?;
        *registry = next;
        state.deleted.store(true, Ordering::Release);
        self.keyspaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&state.id);
        // Its level routes' directories go with it (routes are a keyspace's alone).
        let config = &state.tree.index_tree().0.config;
        let routes = config
            .level_routes()
            .iter()
            .map(|route| (route.dir.clone(), config.route_fs(route)));
        let dirs = std::iter::once((
            layout::keyspace_dir(self.path(), state.id),
            Arc::clone(&self.fs),
        ))
        .chain(routes)
        .collect();
        lock(&self.deleted).push((dirs, Arc::downgrade(state)));
        self.signal.wake.notify_all();
        Ok(())
    }

    fn write_registry(&self, registry: &Registry) -> Result<()> {
        lsm_core::fs::replace_durably(
            self.fs.as_ref(),
            self.path(),
            layout::REGISTRY_FILE,
            layout::REGISTRY_TEMP_FILE,
            &registry.encode(),
        )
        .map_err(|step| Error::io(step.op, &step.path, step.source))
    }

    /// Removes the directories of deleted keyspaces no handle holds any more.
    pub(crate) fn reap_deleted(&self) {
        let mut deleted = lock(&self.deleted);
        deleted.retain(|(dirs, state)| {
            if state.strong_count() > 0 {
                return true;
            }
            for (dir, fs) in dirs {
                if let Err(error) = lsm_core::fs::remove_dir_all(fs.as_ref(), dir) {
                    // Left for the next open, which removes keyspace directories the
                    // registry lacks (a route's directory stays, claimed by the deleted
                    // keyspace: no other tree can take its files for its own).
                    tracing::warn!(dir = %dir.display(), %error, "removing a deleted keyspace failed");
                }
            }
            false
        });
    }

    /// Writes `changes` as one batch at one seqno, durable as `durability` asks; returns
    /// the seqno (see the module docs). An empty batch writes nothing, and returns once
    /// every earlier write is as durable as asked.
    pub(crate) fn commit(
        &self,
        changes: Vec<(Arc<KeyspaceState>, WalOp)>,
        durability: Durability,
    ) -> Result<Option<SeqNo>> {
        self.write(prepare(changes)?, durability)
    }

    /// [`Self::commit`] of one change (a keyspace's own write: nothing to collapse).
    pub(crate) fn commit_one(
        &self,
        keyspace: &Arc<KeyspaceState>,
        op: WalOp,
        durability: Durability,
    ) -> Result<Option<SeqNo>> {
        keyspace.check_live()?;
        let mut part = Prepared {
            keyspace: Arc::clone(keyspace),
            entries: Vec::with_capacity(1),
            ranges: Vec::new(),
        };
        let (key, value, value_type) = match change_of(op) {
            Change::Point(key, value, value_type) => (key, value, value_type),
            Change::Range(start, end) => {
                crate::argument::check_range(&start, &end, 0)?;
                if keyspace.inner_tree().config.key_order().lt(&start, &end) {
                    part.ranges.push((start, end));
                }
                return self.write(vec![part], durability);
            }
        };
        crate::argument::check_write(&key, &value, 0)?;
        part.entries
            .push(InternalEntry::new(key, value, 0, value_type));
        self.write(vec![part], durability)
    }

    /// Logs and applies checked changes (see the module docs).
    fn write(&self, prepared: Vec<Prepared>, durability: Durability) -> Result<Option<SeqNo>> {
        let mut record = WalBatch {
            seqno: 0,
            entries: Vec::with_capacity(
                prepared
                    .iter()
                    .map(|part| part.entries.len() + part.ranges.len())
                    .sum(),
            ),
        };
        for part in &prepared {
            append_record(&mut record, part);
        }
        if record.entries.is_empty() {
            // Nothing to write, but what came before is made as durable as asked (an
            // empty synced batch is a barrier, as `persist` is).
            match durability {
                Durability::Buffered => {}
                Durability::Flush => self.wal()?.flush()?,
                Durability::Sync => self.wal()?.sync()?,
            }
            return Ok(None);
        }
        let wal = self.wal()?;
        let bytes: u64 = record.entries.iter().map(|entry| op_bytes(&entry.op)).sum();
        let (seqno, ticket) = {
            let _gate = lock(&self.write_lock);
            for part in &prepared {
                part.keyspace.check_live()?;
                part.keyspace.tree.write_admission()?;
            }
            let seqno = self.seqno.next();
            record.seqno = seqno;
            let ticket = wal.submit(&record)?;
            for part in prepared {
                apply(&part.keyspace, part.entries, part.ranges, seqno)?;
            }
            (seqno, ticket)
        };
        wal.wait_for(ticket, durability)?;
        self.visible.fetch_max(seqno + 1);
        self.note_written(bytes);
        Ok(Some(seqno))
    }

    /// Clears `keyspace` under the write lock: the clear takes a seqno of the database's
    /// counter, and the keyspace's manifest records that every write below it is
    /// accounted for, so a replay of the log after a crash skips what the clear removed
    /// and keeps what came after.
    pub(crate) fn clear_keyspace(&self, keyspace: &Arc<KeyspaceState>) -> Result<()> {
        let seqno = self.past_the_log(keyspace, || {
            let seqno = self.seqno.next();
            keyspace.inner_tree().clear_through(Some(seqno))?;
            Ok(seqno)
        })?;
        self.visible.fetch_max(seqno + 1);
        Ok(())
    }

    /// Runs `change`, a change of `keyspace` that bypasses the log (a clear, a load),
    /// under the write lock after syncing the log: every earlier write is durable
    /// first, so a crash leaves a state of the log's order, never the change without
    /// what came before it.
    fn past_the_log<T>(
        &self,
        keyspace: &KeyspaceState,
        change: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let _gate = lock(&self.write_lock);
        keyspace.check_live()?;
        self.wal()?.sync()?;
        change()
    }

    /// Registers `ingestion`'s tables in `keyspace` under the write lock: no commit
    /// may draw a seqno below the load's and land in the keyspace after the load's
    /// flush, where the manifest's seqno would hide it from a replay.
    pub(crate) fn finish_ingestion(
        &self,
        keyspace: &Arc<KeyspaceState>,
        ingestion: crate::AnyIngestion<'_>,
    ) -> Result<()> {
        self.past_the_log(keyspace, || ingestion.finish())
    }

    /// Applies a batch recovery read from the log to every keyspace that has not
    /// persisted it; `persisted` holds each keyspace's highest persisted seqno.
    pub(crate) fn replay(&self, batch: WalBatch, persisted: &BTreeMap<u32, SeqNo>) -> Result<()> {
        let next_id = lock(&self.registry).next_id;
        let map = self.keyspace_map();
        let mut parts: BTreeMap<u32, Prepared> = BTreeMap::new();
        for WalEntry { keyspace, op } in batch.entries {
            let Some(state) = map.get(&keyspace) else {
                if keyspace < next_id {
                    continue; // A deleted keyspace's change.
                }
                return Err(Error::UnknownKeyspace(keyspace));
            };
            if persisted
                .get(&keyspace)
                .is_some_and(|&persisted| batch.seqno <= persisted)
            {
                continue;
            }
            let part = parts.entry(keyspace).or_insert_with(|| Prepared {
                keyspace: Arc::clone(state),
                entries: Vec::new(),
                ranges: Vec::new(),
            });
            let (key, value, value_type) = match change_of(op) {
                Change::Point(key, value, value_type) => (key, value, value_type),
                Change::Range(start, end) => {
                    part.ranges.push((start, end));
                    continue;
                }
            };
            part.entries
                .push(InternalEntry::new(key, value, batch.seqno, value_type));
        }
        drop(map);
        for part in parts.into_values() {
            apply(&part.keyspace, part.entries, part.ranges, batch.seqno)?;
        }
        Ok(())
    }

    /// Seals and flushes (in the background) every keyspace holding replayed writes, so
    /// that the log they came from can go: repeated crashes never grow it.
    pub(crate) fn flush_replayed(&self) {
        for state in self.keyspace_map().values() {
            if state.inner_tree().lowest_memory_seqno().is_some() {
                state.inner_tree().request_flush();
            }
        }
    }

    /// Counts `bytes` written, and every eighth of the write-buffer budget checks it.
    fn note_written(&self, bytes: u64) {
        let step = (self.settings.max_write_buffer_size / 8).max(1);
        let before = self.written.fetch_add(bytes, Ordering::Relaxed);
        if before / step != (before + bytes) / step {
            self.enforce_write_buffer();
        }
    }

    /// Over the write-buffer budget, seals and flushes the largest active memtable.
    fn enforce_write_buffer(&self) {
        let map = self.keyspace_map();
        let mut total = 0;
        let mut largest: Option<(u64, &Arc<KeyspaceState>)> = None;
        for state in map.values() {
            let (active, all) = state.inner_tree().memory_bytes();
            total += all;
            if largest.is_none_or(|(bytes, _)| active > bytes) {
                largest = Some((active, state));
            }
        }
        if total > self.settings.max_write_buffer_size
            && let Some((active, state)) = largest
            && active > 0
        {
            tracing::debug!(keyspace = %state.name, total, "write buffer over budget; flushing");
            state.inner_tree().request_flush();
        }
    }

    /// The seqno below which every logged write is in some keyspace's tables.
    fn persisted_below(&self) -> SeqNo {
        let _gate = lock(&self.write_lock);
        self.keyspace_map()
            .values()
            .filter_map(|state| state.inner_tree().lowest_memory_seqno())
            .min()
            .unwrap_or_else(|| self.seqno.get())
    }

    /// Deletes the log segments every keyspace has flushed past, and over the log's
    /// byte cap flushes the keyspace whose writes in memory are the oldest.
    pub(crate) fn maintain_log(&self) -> Result<()> {
        if let Some(bound) = self.persisted_below().checked_sub(1) {
            self.wal()?.release(bound)?;
        }
        if self.wal()?.live_bytes() > self.settings.max_journal_size {
            let map = self.keyspace_map();
            let oldest = map
                .values()
                .filter_map(|state| Some((state.inner_tree().lowest_memory_seqno()?, state)))
                .min_by_key(|(seqno, _)| *seqno);
            if let Some((_, state)) = oldest {
                tracing::debug!(keyspace = %state.name, "log over its cap; flushing the keyspace pinning it");
                state.inner_tree().request_flush();
            }
        }
        Ok(())
    }
}

/// A logged change as a tree takes it.
enum Change {
    /// A version of one key.
    Point(UserKey, UserValue, ValueType),
    /// A range delete (start, end).
    Range(UserKey, UserKey),
}

fn change_of(op: WalOp) -> Change {
    match op {
        WalOp::Insert { key, value } => Change::Point(key, value, ValueType::Value),
        WalOp::Remove { key } => Change::Point(key, UserValue::empty(), ValueType::Tombstone),
        WalOp::RemoveWeak { key } => {
            Change::Point(key, UserValue::empty(), ValueType::WeakTombstone)
        }
        WalOp::Merge { key, operand } => Change::Point(key, operand, ValueType::MergeOperand),
        WalOp::RemoveRange { start, end } => Change::Range(start, end),
    }
}

/// Checks every change and groups them by keyspace (see [`Prepared`]).
fn prepare(changes: Vec<(Arc<KeyspaceState>, WalOp)>) -> Result<Vec<Prepared>> {
    let mut parts: Vec<(Arc<KeyspaceState>, Collapsed)> = Vec::new();
    for (keyspace, op) in changes {
        keyspace.check_live()?;
        let slot = match parts.iter().position(|(known, _)| known.id == keyspace.id) {
            Some(slot) => slot,
            None => {
                parts.push((keyspace, Collapsed::default()));
                parts.len() - 1
            }
        };
        let (keyspace, collapsed) = &mut parts[slot];
        let order = keyspace.inner_tree().config.key_order();
        match change_of(op) {
            Change::Point(key, operand, ValueType::MergeOperand) => {
                collapsed.merge(key, operand)?;
            }
            Change::Point(key, value, value_type) => collapsed.set(key, value_type, value)?,
            Change::Range(start, end) => {
                crate::argument::check_range(&start, &end, 0)?;
                if order.lt(&start, &end) {
                    collapsed.ranges.push((start, end));
                }
            }
        }
    }
    parts
        .into_iter()
        .map(|(keyspace, collapsed)| {
            let operator = keyspace.inner_tree().config.merge_operator.clone();
            Ok(Prepared {
                entries: collapsed.entries(operator.as_deref())?,
                ranges: collapsed.ranges,
                keyspace,
            })
        })
        .collect()
}

/// A key of [`Collapsed`]: its base change (`None` while only operands came) and its
/// operands.
type Slot = (UserKey, Option<(ValueType, UserValue)>, Vec<UserValue>);

/// One keyspace's changes in a batch, one per key: a later insert or delete replaces
/// what came before it; merge operands pile up on what came before them (a value, a
/// delete, or earlier operands) and are combined by the merge operator.
#[derive(Default)]
struct Collapsed {
    slot_of: HashMap<UserKey, usize>,
    slots: Vec<Slot>,
    ranges: Vec<(UserKey, UserKey)>,
}

impl Collapsed {
    fn slot(&mut self, key: UserKey) -> &mut Slot {
        let slot = *self.slot_of.entry(key.clone()).or_insert_with(|| {
            self.slots.push((key, None, Vec::new()));
            self.slots.len() - 1
        });
        &mut self.slots[slot]
    }

    fn set(&mut self, key: UserKey, value_type: ValueType, value: UserValue) -> Result<()> {
        crate::argument::check_write(&key, &value, 0)?;
        let (_, base, operands) = self.slot(key);
        *base = Some((value_type, value));
        operands.clear();
        Ok(())
    }

    fn merge(&mut self, key: UserKey, operand: UserValue) -> Result<()> {
        crate::argument::check_write(&key, &operand, 0)?;
        let (_, base, operands) = self.slot(key);
        if matches!(base, Some((ValueType::WeakTombstone, _))) {
            // A weak delete cancels one older version; operands above it cannot be
            // folded into one change.
            return Err(Error::MixedOperationBatch);
        }
        operands.push(operand);
        Ok(())
    }

    /// The entries to write (seqno 0, set when applied).
    fn entries(&self, operator: Option<&dyn crate::MergeOperator>) -> Result<Vec<InternalEntry>> {
        let mut entries = Vec::with_capacity(self.slots.len());
        for (key, base, operands) in &self.slots {
            let (value_type, value) = match (base, operands.as_slice(), operator) {
                (Some((value_type, value)), [], _) => (*value_type, value.clone()),
                (None, [], _) => continue, // Never made: a slot starts with a change.
                (None, [single], _) => (ValueType::MergeOperand, single.clone()),
                // Without an operator the newest operand stands for the others, as in a
                // tree's own batch; over a value or a delete it has no meaning.
                (None, [.., last], None) => (ValueType::MergeOperand, last.clone()),
                (Some(_), _, None) => return Err(Error::MixedOperationBatch),
                (base, many, Some(operator)) => {
                    let operands: Vec<&[u8]> = many.iter().map(|o| o.as_bytes()).collect();
                    let value_type = match base {
                        Some(_) => ValueType::Value,
                        None => ValueType::MergeOperand,
                    };
                    let base = match base {
                        Some((ValueType::Value, value)) => Some(value.as_bytes()),
                        _ => None,
                    };
                    (value_type, operator.merge(key, base, &operands)?)
                }
            };
            entries.push(InternalEntry::new(key.clone(), value, 0, value_type));
        }
        Ok(entries)
    }
}

/// Adds `part`'s changes to the log record.
fn append_record(record: &mut WalBatch, part: &Prepared) {
    let keyspace = part.keyspace.id;
    for entry in &part.entries {
        let key = entry.key.user_key.clone();
        let op = match entry.key.value_type {
            ValueType::Tombstone => WalOp::Remove { key },
            ValueType::WeakTombstone => WalOp::RemoveWeak { key },
            ValueType::MergeOperand => WalOp::Merge {
                key,
                operand: entry.value.clone(),
            },
            _ => WalOp::Insert {
                key,
                value: entry.value.clone(),
            },
        };
        record.entries.push(WalEntry { keyspace, op });
    }
    for (start, end) in &part.ranges {
        record.entries.push(WalEntry {
            keyspace,
            op: WalOp::RemoveRange {
                start: start.clone(),
                end: end.clone(),
            },
        });
    }
}

/// Writes checked changes into a keyspace's memtable at `seqno`, all into one memtable:
/// recovery takes a keyspace's tables to hold every change at or below their highest
/// seqno, so a flush must never take part of one seqno's changes.
fn apply(
    keyspace: &KeyspaceState,
    mut entries: Vec<InternalEntry>,
    ranges: Vec<(UserKey, UserKey)>,
    seqno: SeqNo,
) -> Result<()> {
    let tree = keyspace.inner_tree();
    for entry in &mut entries {
        entry.key.seqno = seqno;
    }
    let order = tree.config.key_order();
    let tombstones = ranges
        .into_iter()
        .filter_map(|(start, end)| RangeTombstone::new(order, start, end, seqno))
        .collect();
    tree.append_changes(entries, tombstones)?;
    Ok(())
}

fn op_bytes(op: &WalOp) -> u64 {
    let (a, b) = match op {
        WalOp::Insert { key, value } => (key.len(), value.len()),
        WalOp::Remove { key } | WalOp::RemoveWeak { key } => (key.len(), 0),
        WalOp::Merge { key, operand } => (key.len(), operand.len()),
        WalOp::RemoveRange { start, end } => (start.len(), end.len()),
    };
    (a + b) as u64
}

/// Checks a keyspace name: 1 to 255 bytes of ASCII letters, digits and `_-.#$`.
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= layout::NAME_LEN_MAX
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_-.#$".contains(&byte));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidKeyspaceName(name.to_owned()))
    }
}
