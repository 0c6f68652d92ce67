//! [`Wal`]: the log of one owner (a database of keyspaces), its group commit and its
//! recovery.
//!
//! **Writing.** [`Wal::append`] queues the batch's record and, as its [`Durability`]
//! asks, waits until the record is handed to the operating system or synced. Writers
//! that arrive while another writes wait for it; the next one to run takes every record
//! queued meanwhile, writes them in one append and syncs them in one sync when any of
//! them asked (group commit: one leader at a time, the others follow). A failed write
//! or sync poisons the log: the data since the last good sync is in an unknown state,
//! so that writer gets the I/O error and every later call [`Error::Poisoned`]; nothing
//! is retried and reported as durable. Reopening recovers what is on disk.
//!
//! **Segments.** Records go into the active segment until it reaches
//! [`WalOptions::segment_bytes`]; then it is synced and the next one started, so that a
//! sync of the active segment makes every earlier record durable. [`Wal::release`]
//! deletes the older segments whose records are all at or below a seqno the owner has
//! persisted elsewhere (flushed to tables).
//!
//! **Recovery.** [`Wal::open`] reads every segment, oldest first, and hands each batch
//! to the caller in order. Damage in the last segment is a torn tail (the process
//! stopped mid-append, or a power cut kept its unsynced writes in part or out of order)
//! unless a later readable record was written after a sync that covered it: the
//! segment is cut there, and the later unsynced records go with it. (Damage in the
//! last segment's synced bytes with no record written after that sync cannot be told
//! from a torn tail.) Any other damage is [`Error::Damaged`] under [`Recovery::Strict`], and
//! passed over to the next readable record under [`Recovery::SkipDamaged`] (the report
//! says how many bytes). Writing resumes in a new segment.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use lsm_codec::layout::GCM_TAG_LEN;
use lsm_codec::{EncryptionKey, FileCipher};
use lsm_core::{Fs, FsFile, OpenOptions, SeqNo};

use crate::batch::WalBatch;
use crate::error::{Error, Result};
use crate::key::{self, LogCipher};
use crate::layout::{FRAME_HEADER_LEN, HEADER_LEN, PAYLOAD_LEN_MAX, SEGMENT_TARGET_MAX};
use crate::segment;

/// How durable a write is when [`Wal::append`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Queued in the log's memory: written with the next write that is not buffered,
    /// by [`Wal::flush`] or [`Wal::sync`], once [`WalOptions::buffer_bytes`] wait, or
    /// when the log is dropped. Lost if the process dies first.
    Buffered,
    /// Handed to the operating system: survives the process dying, not a power cut.
    Flush,
    /// On disk (`fdatasync`): survives a power cut.
    Sync,
}

/// What recovery does with a damaged record that is not a torn tail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recovery {
    /// Stop with [`Error::Damaged`] (the default: a hole in the log is never silent).
    #[default]
    Strict,
    /// Pass over it to the next readable record, and count the bytes in the report.
    SkipDamaged,
}

/// How a log is written and recovered.
#[derive(Clone, Debug)]
pub struct WalOptions {
    /// A segment is closed and the next started once it holds this many bytes.
    pub segment_bytes: u64,
    /// [`Durability::Buffered`] records are written once this many bytes wait.
    pub buffer_bytes: usize,
    /// What recovery does with damage that is not a torn tail.
    pub recovery: Recovery,
    /// Seals every record with AES-256-GCM under a key derived from this master key
    /// (`None`, the default: records in plaintext). A log is encrypted or not from its
    /// creation on; opening it the other way, or with another key, is an error.
    pub encryption: Option<EncryptionKey>,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 64 << 20,
            buffer_bytes: 1 << 20,
            recovery: Recovery::Strict,
            encryption: None,
        }
    }
}

/// What [`Wal::open`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Batches handed to the caller.
    pub batches: u64,
    /// Segments read.
    pub segments: usize,
    /// Bytes cut from the last segment's torn tail.
    pub torn_tail_bytes: u64,
    /// Bytes of damaged records passed over ([`Recovery::SkipDamaged`]).
    pub skipped_bytes: u64,
    /// The highest seqno recovered.
    pub last_seqno: Option<SeqNo>,
}

/// A record's place in the log, from [`Wal::submit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Zeros reserved past a segment's end at a time (at most its target size): a sync
/// then finds the file's length unchanged and its blocks mostly in place, which makes
/// synced appends about a third faster on ext4. Recovery reads a zero tail past the
/// last record of the newest segment as room, not damage, and cuts it.
const PREALLOCATE_BYTES: u64 = 1 << 20;

/// A segment the log no longer writes to.
#[derive(Clone, Copy, Debug)]
struct Sealed {
    id: u64,
    /// Its highest seqno (`None`: no record).
    max_seqno: Option<SeqNo>,
    /// Its length in bytes.
    len: u64,
}

/// The segment being written, and the older ones. Only the writing leader and
/// [`Wal::release`] touch it.
struct Writer {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    segment_bytes: u64,
    id: u64,
    file: Box<dyn FsFile>,
    len: u64,
    /// The active segment's file length: `len` and the zeros reserved past it.
    allocated: u64,
    /// Bytes of the active segment a sync has made durable.
    synced_len: u64,
    max_seqno: Option<SeqNo>,
    sealed: Vec<Sealed>,
    /// The frames of one write, kept between writes (its capacity, that is).
    buf: Vec<u8>,
    /// The log's key, when it is encrypted, and the active segment's cipher.
    cipher: Option<(LogCipher, FileCipher)>,
}

impl Writer {
    /// Creates segment `id` with its header, durably.
    fn create(fs: &Arc<dyn Fs>, dir: &Path, id: u64) -> io::Result<Box<dyn FsFile>> {
        let file = fs.open(&segment::path(dir, id), OpenOptions::create_new())?;
        file.append(&segment::header(id))?;
        file.sync_data()?;
        fs.sync_dir(dir)?;
        Ok(file)
    }

    /// Writes the queued records (rolling to new segments as they fill), and syncs when
    /// `sync`.
    fn write(&mut self, queue: &mut Vec<(SeqNo, Vec<u8>)>, sync: bool) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.write_frames(queue, &mut buf, sync);
        buf.clear();
        self.buf = buf;
        result
    }

    fn write_frames(
        &mut self,
        queue: &mut Vec<(SeqNo, Vec<u8>)>,
        buf: &mut Vec<u8>,
        sync: bool,
    ) -> io::Result<()> {
        let overhead = if self.cipher.is_some() {
            GCM_TAG_LEN
        } else {
            0
        };
        for (seqno, payload) in queue.drain(..) {
            let frame_len = (FRAME_HEADER_LEN + payload.len() + overhead) as u64;
            let used = self.len + buf.len() as u64;
            if used > HEADER_LEN as u64 && used + frame_len > self.segment_bytes {
                self.append(buf)?;
                self.roll()?;
            }
            let synced = u32::try_from(self.synced_len).unwrap_or(u32::MAX);
            let payload = match &self.cipher {
                // Sealed where it will lie: its offset is its nonce.
                Some((_, cipher)) => {
                    let at = self.len + (buf.len() + FRAME_HEADER_LEN) as u64;
                    cipher.seal_record(&key::aad(self.id), at, &payload)
                }
                None => payload,
            };
            segment::put_frame(buf, self.id, synced, &payload);
            self.max_seqno = Some(seqno);
        }
        self.append(buf)?;
        if sync {
            self.file.sync_data()?;
            self.synced_len = self.len;
        }
        Ok(())
    }

    /// Writes `buf` at the segment's end, reserving room past it first when there is
    /// none (see [`PREALLOCATE_BYTES`]).
    fn append(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = self.len + buf.len() as u64;
        if end > self.allocated {
            let chunk = PREALLOCATE_BYTES.min(self.segment_bytes);
            self.file.set_len(end + chunk)?;
            self.allocated = end + chunk;
        }
        self.file.write_all_at(buf, self.len)?;
        self.len = end;
        buf.clear();
        Ok(())
    }

    /// Seals the active segment (cut to its records and synced, length and all: a sync
    /// of a later segment then covers every earlier record, and no sealed segment ends
    /// in reserved zeros) and starts the next.
    fn roll(&mut self) -> io::Result<()> {
        if self.allocated > self.len {
            self.file.set_len(self.len)?;
            self.allocated = self.len;
        }
        self.file.sync_all()?;
        let id = self.id + 1;
        let file = Self::create(&self.fs, &self.dir, id)?;
        if let Some((log, cipher)) = &mut self.cipher {
            *cipher = log.segment(id);
        }
        self.sealed.push(Sealed {
            id: self.id,
            max_seqno: self.max_seqno,
            len: self.len,
        });
        self.id = id;
        self.file = file;
        self.len = HEADER_LEN as u64;
        self.allocated = HEADER_LEN as u64;
        self.synced_len = HEADER_LEN as u64;
        self.max_seqno = None;
        Ok(())
    }
}

/// Who writes next, and how far writes have gone.
#[derive(Default)]
struct State {
    /// Records not yet handed to the writer: their seqnos and payloads.
    queue: Vec<(SeqNo, Vec<u8>)>,
    /// An empty queue the last leader handed back (its capacity, for the next one).
    spare: Vec<(SeqNo, Vec<u8>)>,
    queue_bytes: usize,
    /// The ticket the next record gets (tickets start at 1; 0 is "nothing").
    next_ticket: u64,
    /// Every record up to this ticket is written to the operating system.
    written: u64,
    /// Every record up to this ticket is synced.
    synced: u64,
    /// The highest ticket whose writer asked for a sync.
    sync_wanted: u64,
    /// Whether a writer is writing now.
    leading: bool,
    /// Writers waiting for the one writing.
    waiting: usize,
    poisoned: Option<io::ErrorKind>,
    last_seqno: Option<SeqNo>,
}

impl State {
    fn check(&self) -> Result<()> {
        match self.poisoned {
            Some(kind) => Err(Error::Poisoned(kind)),
            None => Ok(()),
        }
    }
}

/// A write-ahead log; see the module docs.
pub struct Wal {
    options: WalOptions,
    state: Mutex<State>,
    done: Condvar,
    writer: Mutex<Writer>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock_state();
        f.debug_struct("Wal")
            .field("written", &state.written)
            .field("synced", &state.synced)
            .field("poisoned", &state.poisoned)
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens the log in `dir` (created if missing), hands every recovered batch to
    /// `replay` in log order, one segment at a time (each synced before its batches are
    /// handed over, so that what the owner replays is durable), and starts a new
    /// segment to write to.
    ///
    /// # Errors
    /// I/O errors; [`Error::BadHeader`], [`Error::Damaged`] (under
    /// [`Recovery::Strict`]) and [`Error::OutOfOrder`] for a log that is not what this
    /// build wrote; the first error `replay` returns.
    pub fn open(
        fs: Arc<dyn Fs>,
        dir: &Path,
        options: WalOptions,
        mut replay: impl FnMut(WalBatch) -> Result<()>,
    ) -> Result<(Self, RecoveryReport)> {
        fs.create_dir_all(dir)?;
        // The directory itself must survive a power cut, or every segment goes with it.
        if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            fs.sync_dir(parent)?;
        }
        let mut ids: Vec<u64> = fs
            .read_dir(dir)?
            .iter()
            .filter(|entry| !entry.is_dir)
            .filter_map(|entry| entry.file_name().and_then(segment::parse_name))
            .collect();
        ids.sort_unstable();
        let log_cipher = key::open(
            fs.as_ref(),
            dir,
            options.encryption.as_ref(),
            !ids.is_empty(),
        )?;
        let mut report = RecoveryReport::default();
        let mut sealed = Vec::with_capacity(ids.len());
        for (idx, &id) in ids.iter().enumerate() {
            let last = idx + 1 == ids.len();
            let path = segment::path(dir, id);
            let file = fs.open(&path, OpenOptions::write())?;
            let len = usize::try_from(file.len()?).map_err(|_| Error::Damaged {
                segment: id,
                offset: 0,
                reason: "segment larger than memory",
            })?;
            let mut bytes = vec![0; len];
            file.read_exact_at(&mut bytes, 0)?;
            let skip = options.recovery == Recovery::SkipDamaged;
            let cipher = log_cipher.as_ref().map(|log| log.segment(id));
            let scanned = match segment::scan(id, &bytes, last, skip, cipher.as_ref()) {
                // The segment being created when the process stopped: its header never
                // became durable, so no record was written after it.
                Err(Error::BadHeader { .. })
                    if last
                        && !segment::any_frame_from(id, &bytes, HEADER_LEN, cipher.as_ref()) =>
                {
                    drop(file);
                    fs.remove_file(&path)?;
                    fs.sync_dir(dir)?;
                    report.torn_tail_bytes += len as u64;
                    continue;
                }
                scanned => scanned?,
            };
            // What is replayed is made durable first: the owner may persist it
            // elsewhere (flush it to tables) before this log is written again.
            file.sync_data()?;
            let mut max_seqno = None;
            for batch in scanned.batches {
                if let Some(previous) = report.last_seqno
                    && batch.seqno < previous
                {
                    return Err(Error::OutOfOrder {
                        segment: id,
                        previous,
                        seqno: batch.seqno,
                    });
                }
                report.last_seqno = Some(batch.seqno);
                max_seqno = Some(batch.seqno);
                report.batches += 1;
                replay(batch)?;
            }
            report.skipped_bytes += scanned.skipped_bytes;
            if scanned.torn_tail {
                // Reserved zeros past the last record are room, not a torn write.
                report.torn_tail_bytes +=
                    scanned.written_len.saturating_sub(scanned.valid_len) as u64;
                // The new length must be durable before a later segment exists: once
                // this one is no longer the newest, its old tail would read as damage.
                file.set_len(scanned.valid_len as u64)?;
                file.sync_all()?;
            }
            report.segments += 1;
            let len = if scanned.torn_tail {
                scanned.valid_len
            } else {
                len
            };
            sealed.push(Sealed {
                id,
                max_seqno,
                len: len as u64,
            });
        }
        let id = ids.last().map_or(1, |last| last + 1);
        let file = Writer::create(&fs, dir, id)?;
        let writer = Writer {
            fs,
            dir: dir.to_path_buf(),
            segment_bytes: options
                .segment_bytes
                .clamp(HEADER_LEN as u64 + 1, SEGMENT_TARGET_MAX),
            id,
            file,
            len: HEADER_LEN as u64,
            allocated: HEADER_LEN as u64,
            synced_len: HEADER_LEN as u64,
            max_seqno: None,
            sealed,
            buf: Vec::new(),
            cipher: log_cipher.map(|log| {
                let cipher = log.segment(id);
                (log, cipher)
            }),
        };
        let state = State {
            next_ticket: 1,
            last_seqno: report.last_seqno,
            ..State::default()
        };
        Ok((
            Self {
                options,
                state: Mutex::new(state),
                done: Condvar::new(),
                writer: Mutex::new(writer),
            },
            report,
        ))
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `batch` and returns once it is as durable as `durability` asks:
    /// [`Self::submit`] then [`Self::wait_for`].
    ///
    /// # Errors
    /// As those two.
    pub fn append(&self, batch: &WalBatch, durability: Durability) -> Result<()> {
        let ticket = self.submit(batch)?;
        self.wait_for(ticket, durability)
    }

    /// Queues `batch` and returns its place in the log. A caller that draws seqnos from
    /// a counter draws and submits under one lock (the log refuses seqnos that go
    /// backwards), then waits with [`Self::wait_for`] outside it, so that concurrent
    /// writers share a sync.
    ///
    /// # Errors
    /// [`Error::RecordTooLarge`]; [`Error::OutOfOrder`] for a seqno below the last one
    /// submitted (nothing is queued); [`Error::Poisoned`].
    pub fn submit(&self, batch: &WalBatch) -> Result<Ticket> {
        let mut payload = Vec::with_capacity(batch.encoded_len_bound());
        batch.encode(&mut payload);
        let sealed_overhead = if self.options.encryption.is_some() {
            GCM_TAG_LEN
        } else {
            0
        };
        if payload.len() + sealed_overhead > PAYLOAD_LEN_MAX {
            return Err(Error::RecordTooLarge(payload.len()));
        }
        let mut state = self.lock_state();
        state.check()?;
        if let Some(previous) = state.last_seqno
            && batch.seqno < previous
        {
            return Err(Error::OutOfOrder {
                segment: 0,
                previous,
                seqno: batch.seqno,
            });
        }
        state.last_seqno = Some(batch.seqno);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue_bytes += payload.len();
        state.queue.push((batch.seqno, payload));
        Ok(Ticket(ticket))
    }

    /// Returns once the record of `ticket` is as durable as `durability` asks (at once
    /// for [`Durability::Buffered`] while fewer than [`WalOptions::buffer_bytes`] wait).
    ///
    /// # Errors
    /// The I/O error that struck this record's group (the log is poisoned from then
    /// on); [`Error::Poisoned`].
    pub fn wait_for(&self, ticket: Ticket, durability: Durability) -> Result<()> {
        let mut state = self.lock_state();
        match durability {
            Durability::Buffered if state.queue_bytes < self.options.buffer_bytes => state.check(),
            Durability::Buffered | Durability::Flush => self.wait(state, ticket.0, false),
            Durability::Sync => {
                state.sync_wanted = state.sync_wanted.max(ticket.0);
                self.wait(state, ticket.0, true)
            }
        }
    }

    /// Hands every record appended so far to the operating system.
    ///
    /// # Errors
    /// As [`Self::append`].
    pub fn flush(&self) -> Result<()> {
        let state = self.lock_state();
        let ticket = state.next_ticket - 1;
        self.wait(state, ticket, false)
    }

    /// Makes every record appended so far durable.
    ///
    /// # Errors
    /// As [`Self::append`].
    pub fn sync(&self) -> Result<()> {
        let mut state = self.lock_state();
        let ticket = state.next_ticket - 1;
        state.sync_wanted = state.sync_wanted.max(ticket);
        self.wait(state, ticket, true)
    }

    /// Waits until record `ticket` is written (or synced, with `sync`), leading the
    /// writes when no one else does.
    fn wait<'a>(&'a self, mut state: MutexGuard<'a, State>, ticket: u64, sync: bool) -> Result<()> {
        loop {
            state.check()?;
            let reached = if sync { state.synced } else { state.written };
            if reached >= ticket {
                return Ok(());
            }
            if state.leading {
                state.waiting += 1;
                state = self
                    .done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.waiting -= 1;
                continue;
            }
            state.leading = true;
            let spare = std::mem::take(&mut state.spare);
            let mut queue = std::mem::replace(&mut state.queue, spare);
            state.queue_bytes = 0;
            let upto = state.next_ticket - 1;
            let sync_now = state.sync_wanted > state.synced;
            drop(state);
            let result = self
                .writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .write(&mut queue, sync_now);
            state = self.lock_state();
            queue.clear();
            state.spare = queue;
            state.leading = false;
            // Waking costs a system call even with no one to wake.
            if state.waiting > 0 {
                self.done.notify_all();
            }
            match result {
                Ok(()) => {
                    state.written = upto;
                    if sync_now {
                        state.synced = upto;
                    }
                }
                Err(error) => {
                    state.poisoned = Some(error.kind());
                    return Err(error.into());
                }
            }
        }
    }

    /// Deletes the older segments whose every record has a seqno at or below `seqno`
    /// (the owner has persisted them elsewhere); returns how many went. The segment
    /// being written stays.
    ///
    /// # Errors
    /// I/O errors (the segments not yet deleted stay listed).
    pub fn release(&self, seqno: SeqNo) -> Result<usize> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut released = 0;
        while let Some(oldest) = writer.sealed.first().copied() {
            if oldest.max_seqno.is_some_and(|max| max > seqno) {
                break;
            }
            writer
                .fs
                .remove_file(&segment::path(&writer.dir, oldest.id))?;
            writer.sealed.remove(0);
            released += 1;
        }
        if released > 0 {
            writer.fs.sync_dir(&writer.dir)?;
        }
        Ok(released)
    }

    /// Bytes of the segments on disk (the older ones and the one being written).
    #[must_use]
    pub fn live_bytes(&self) -> u64 {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.sealed.iter().map(|sealed| sealed.len).sum::<u64>() + writer.len
    }

    /// Segments on disk (the older ones and the one being written).
    #[must_use]
    pub fn segment_count(&self) -> usize {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.sealed.len() + 1
    }
}

impl Drop for Wal {
    /// Hands buffered records to the operating system (a closed log keeps what was
    /// appended, short of a power cut) and gives back the room reserved past the last
    /// one; a poisoned log writes nothing more.
    fn drop(&mut self) {
        // An error here was reported to the writer that met it, or leaves the records
        // as buffered ones are documented to be: lost.
        if self.flush().is_ok() {
            let writer = self
                .writer
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner);
            if writer.allocated > writer.len && writer.file.set_len(writer.len).is_ok() {
                writer.allocated = writer.len;
            }
        }
    }
}
