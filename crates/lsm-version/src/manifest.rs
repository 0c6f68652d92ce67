//! [`Manifest`]: the durable log of versions.
//!
//! A manifest generation is one file, `manifest-{gen}`: a snapshot record of a whole
//! version, then one record per edit, each appended and synced before the edit counts.
//! The `current` file names the live generation; it is replaced by writing
//! `current.tmp`, syncing it, renaming it over `current` and syncing the directory, so a
//! crash leaves either the old pointer or the new one. When the log outgrows its
//! threshold, the manifest rolls: the new generation's snapshot is written and synced,
//! the pointer switched, and only then the old file deleted.
//!
//! Each edit is followed by a small commit record, appended and synced after it: a
//! commit at the file's end shows that the last append finished, so damage anywhere
//! before it is corruption rather than a torn tail.
//!
//! Recovery reads the pointer, the snapshot and the edits. A damaged record at the end
//! of the log (torn by a crash while it was being appended, so never acknowledged) is
//! dropped and cut off; a damaged record followed by valid data, or by a commit at the
//! file's end, is corruption.
//!
//! An encrypted manifest ([`ManifestEncryption`]) starts each file with a header (its
//! salt and key check value) and seals every record's payload with the file's key and
//! the nonce of the record's offset. Since appending again at the offset of a torn record
//! would reuse that nonce, an encrypted manifest found with a torn tail rolls to a new
//! generation (a new file, a new salt) instead of cutting the tail.
#![deny(clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm_codec::layout::GCM_TAG_LEN;
use lsm_codec::{AAD_LEN, EncryptionKey, FILE_SALT_LEN, FileCipher, SaltSource};
use lsm_core::coding::{Decoder, put_u32, put_u64, put_varint_u64};
use lsm_core::{DecodeError, Fs, FsFile, KeyOrder, OpenOptions};
use xxhash_rust::xxh3::xxh3_64;

use crate::edit::bounded_count;
use crate::layout::{
    COMMIT_PAYLOAD_LEN, CURRENT_FILE, CURRENT_LEN, CURRENT_MAGIC, CURRENT_TEMP_FILE,
    ENCRYPTED_HEADER_LEN, ENCRYPTED_MAGIC, FIRST_VERSION_WITH_COMMITS, FIRST_VERSION_WITH_ORDER,
    LEVEL_COUNT_MAX, MANIFEST_FORMAT_VERSION, MANIFEST_SALT_KIND, ORDER_NAME_LEN_MAX,
    RECORD_COMMIT, RECORD_EDIT, RECORD_HEADER_LEN, RECORD_LEN_MAX, RECORD_SNAPSHOT,
    manifest_file_name, parse_manifest_file_name,
};
use crate::{BlobFileInfo, Error, Result, Run, TableMeta, Version, VersionEdit};

/// The durable log of a tree's versions; see the module docs.
pub struct Manifest {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    generation: u64,
    file: Box<dyn FsFile>,
    len_bytes: u64,
    roll_threshold_bytes: u64,
    version: Version,
    /// Set after a failed write or sync: nothing is known about the file's tail.
    poisoned: bool,
    /// How new files are encrypted, and the live file's cipher.
    /// Boxed, as the cipher: most manifests have none.
    encryption: Option<Box<ManifestEncryption>>,
    /// Boxed: the key schedule is large, and most manifests have none.
    cipher: Option<Box<FileCipher>>,
    /// Offsets of the records the recovery mode dropped at open (none in a strict one).
    dropped_records: Vec<u64>,
}

/// How a manifest's files are encrypted: the master key, and the source of each new
/// file's salt.
#[derive(Clone)]
pub struct ManifestEncryption {
    /// The master key: new files are written under it.
    pub key: EncryptionKey,
    /// Keys of older epochs, newest first: a file written under one of them is read, and
    /// the manifest rolls to a file under the master key at once.
    pub older: Vec<EncryptionKey>,
    /// Salts of new files.
    pub salts: Arc<SaltSource>,
}

impl std::fmt::Debug for ManifestEncryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManifestEncryption(<key redacted>)")
    }
}

/// What [`Manifest::open`] found.
pub enum Recovered {
    /// The directory has no manifest: nothing was ever acknowledged.
    Fresh,
    /// The latest durable version, and the manifest to continue it (boxed: the other
    /// variant is empty).
    Manifest(Box<Manifest>),
}

/// How recovery treats a damaged manifest. Every mode drops the torn tail of an append
/// that never returned (no commit follows it: nothing acknowledged is lost); they differ
/// in what they do with other damage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Any other damage refuses the open ([`Error::Corruption`]).
    #[default]
    AbsoluteConsistency,
    /// Damage in the last edit (no whole edit after it) drops that edit, although its
    /// commit shows it was acknowledged; damage before that refuses the open.
    TolerateCorruptedTailRecords,
    /// The version as of the last whole record before the first damage: everything from
    /// the damage on is dropped.
    PointInTimeRecovery,
    /// Each damaged record, and each edit that no longer applies once one is skipped,
    /// is skipped; replay continues with the next whole record.
    SkipAnyCorruptedRecords,
}

/// What to do about a damaged record or one that cannot be applied.
enum OnDamage {
    /// Refuse the open.
    Fail,
    /// Drop it and everything after it.
    Stop,
    /// Drop it and continue at this offset.
    SkipTo(usize),
}

impl Manifest {
    /// Starts a manifest for `version` in `dir` (which must have none yet).
    ///
    /// # Errors
    /// [`Error::Io`] when a write, sync or rename fails.
    pub fn create(
        fs: Arc<dyn Fs>,
        dir: &Path,
        version: Version,
        roll_threshold_bytes: u64,
    ) -> Result<Self> {
        Self::create_with(fs, dir, version, roll_threshold_bytes, None)
    }

    /// [`Self::create`], encrypting every file with `encryption`.
    ///
    /// # Errors
    /// As [`Self::create`].
    pub fn create_with(
        fs: Arc<dyn Fs>,
        dir: &Path,
        version: Version,
        roll_threshold_bytes: u64,
        encryption: Option<ManifestEncryption>,
    ) -> Result<Self> {
        Self::create_generation(fs, dir, version, roll_threshold_bytes, encryption, 1)
    }

    /// [`Self::create_with`] as generation `generation`, which must be above every
    /// generation the directory ever held under the same key (a rebuilt manifest
    /// replacing a damaged one; an encrypted file's salt follows from its generation).
    /// `current` names it once it is durable.
    ///
    /// # Errors
    /// As [`Self::create`]; [`Error::Io`] when the generation's file exists.
    pub fn create_generation(
        fs: Arc<dyn Fs>,
        dir: &Path,
        version: Version,
        roll_threshold_bytes: u64,
        encryption: Option<ManifestEncryption>,
        generation: u64,
    ) -> Result<Self> {
        let (file, len_bytes, cipher) =
            write_generation(fs.as_ref(), dir, generation, &version, encryption.as_ref())?;
        let encryption = encryption.map(Box::new);
        switch_current(fs.as_ref(), dir, generation)?;
        Ok(Self {
            fs,
            dir: dir.to_path_buf(),
            generation,
            file,
            len_bytes,
            roll_threshold_bytes,
            version,
            poisoned: false,
            encryption,
            cipher,
            dropped_records: Vec::new(),
        })
    }

    /// Recovers the latest durable version from `dir`.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Corruption`] for a damaged pointer, snapshot or log;
    /// [`Error::UnsupportedFormatVersion`]; [`Error::KeyRequired`] for an encrypted
    /// manifest.
    pub fn open(fs: Arc<dyn Fs>, dir: &Path, roll_threshold_bytes: u64) -> Result<Recovered> {
        Self::open_with(fs, dir, roll_threshold_bytes, None)
    }

    /// [`Self::open_with`] of a tree whose keys are in the lexicographic order.
    ///
    /// # Errors
    /// As [`Self::open_in`].
    pub fn open_with(
        fs: Arc<dyn Fs>,
        dir: &Path,
        roll_threshold_bytes: u64,
        encryption: Option<ManifestEncryption>,
    ) -> Result<Recovered> {
        Self::open_in(
            fs,
            dir,
            roll_threshold_bytes,
            encryption,
            &KeyOrder::lexicographic(),
            RecoveryMode::default(),
        )
    }

    /// [`Self::open`] of a manifest encrypted with `encryption` (or in plaintext, with
    /// `None`), of a tree whose keys are in `order`.
    ///
    /// # Errors
    /// As [`Self::open`]; [`Error::WrongKey`]; [`Error::NotEncrypted`] when a key is given
    /// for a plaintext manifest; [`Error::Corruption`] for a record that fails
    /// authentication; [`Error::ComparatorMismatch`] when the manifest records another
    /// order's name (checked before any table is decoded). What other damage does
    /// depends on `mode`; records it drops are listed by [`Self::dropped_records`], and
    /// the manifest then continues in a new generation.
    pub fn open_in(
        fs: Arc<dyn Fs>,
        dir: &Path,
        roll_threshold_bytes: u64,
        encryption: Option<ManifestEncryption>,
        order: &KeyOrder,
        mode: RecoveryMode,
    ) -> Result<Recovered> {
        let Some(generation) = read_current(fs.as_ref(), dir)? else {
            // A crash inside `create` can leave a manifest file that no pointer names:
            // it was never acknowledged, so it goes (generations start at 1).
            let dir_exists = fs
                .exists(dir)
                .map_err(|source| Error::io("stat", dir, source))?;
            if dir_exists {
                remove_stale_files(fs.as_ref(), dir, 0)?;
            }
            return Ok(Recovered::Fresh);
        };
        let path = dir.join(manifest_file_name(generation));
        let bytes = lsm_core::fs::read_all(fs.as_ref(), &path)
            .map_err(|source| Error::io("read", &path, source))?;
        let Replayed {
            version,
            valid_len,
            cipher,
            under_older_key,
            format_version,
            dropped,
        } = replay(&bytes, &path, generation, encryption.as_ref(), order, mode)?;
        let encryption = encryption.map(Box::new);
        remove_stale_files(fs.as_ref(), dir, generation)?;
        let file = fs
            .open(&path, OpenOptions::write())
            .map_err(|source| Error::io("open", &path, source))?;
        let torn = valid_len < bytes.len() as u64;
        if torn && cipher.is_none() && dropped.is_empty() {
            // Cut the torn tail so that new records follow the last valid one.
            file.set_len(valid_len)
                .map_err(|source| Error::io("truncate", &path, source))?;
            file.sync_all()
                .map_err(|source| Error::io("sync", &path, source))?;
        }
        let mut manifest = Self {
            fs,
            dir: dir.to_path_buf(),
            generation,
            file,
            len_bytes: valid_len,
            roll_threshold_bytes,
            version,
            poisoned: false,
            encryption,
            cipher,
            dropped_records: dropped,
        };
        if (torn && manifest.cipher.is_some())
            || under_older_key
            || format_version < MANIFEST_FORMAT_VERSION
            || !manifest.dropped_records.is_empty()
        {
            // Appending at the torn record's offset would reuse its nonce, a file under
            // an older key must move to the current one, and records are appended only
            // in the format their file's snapshot names: continue in a new file.
            manifest.roll()?;
        }
        Ok(Recovered::Manifest(Box::new(manifest)))
    }

    /// Reads the live generation of the manifest in `dir` and replays it without
    /// changing anything on disk (no torn tail is cut, no file is rolled or removed):
    /// what a verification of a live tree does. Returns the version it describes; `None`
    /// for a directory without a manifest.
    ///
    /// # Errors
    /// As [`Self::open_in`].
    pub fn check(
        fs: &dyn Fs,
        dir: &Path,
        encryption: Option<&ManifestEncryption>,
        order: &KeyOrder,
    ) -> Result<Option<Version>> {
        // A roll may replace the generation between reading the pointer and the file:
        // read the pointer again when the file is gone.
        for _ in 0..3 {
            let Some(generation) = read_current(fs, dir)? else {
                return Ok(None);
            };
            let path = dir.join(manifest_file_name(generation));
            let bytes = match lsm_core::fs::read_all(fs, &path) {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(Error::io("read", &path, source)),
            };
            let replayed = replay(
                &bytes,
                &path,
                generation,
                encryption,
                order,
                RecoveryMode::AbsoluteConsistency,
            )?;
            return Ok(Some(replayed.version));
        }
        Err(Error::io(
            "read",
            dir,
            std::io::Error::other("the manifest kept rolling while it was read"),
        ))
    }

    /// Offsets (in the file read at open) of the records the recovery mode dropped.
    #[must_use]
    pub fn dropped_records(&self) -> &[u64] {
        &self.dropped_records
    }

    /// The latest version.
    #[must_use]
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The live generation.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Makes `edit` durable and applies it; returns the new version.
    ///
    /// # Errors
    /// [`Error::Io`] when appending, syncing or rolling fails; the manifest then refuses
    /// further edits (the tree must reopen).
    ///
    /// # Panics
    /// When the edit does not apply to the current version (see [`Version::apply`]).
    pub fn apply(&mut self, edit: &VersionEdit) -> Result<&Version> {
        if self.poisoned {
            return Err(Error::io(
                "append",
                &self.path(),
                std::io::Error::other("manifest poisoned by an earlier failure"),
            ));
        }
        let next = self.version.apply(edit);
        let mut payload = vec![RECORD_EDIT];
        edit.encode_into(&mut payload);
        let edit_offset = self.len_bytes;
        self.append_synced(&payload)?;
        // The commit: once it is durable at the file's end, damage to the edit cannot
        // pass for a torn append.
        let mut commit = vec![RECORD_COMMIT];
        put_u64(&mut commit, edit_offset);
        self.append_synced(&commit)?;
        self.version = next;
        if self.len_bytes > self.roll_threshold_bytes {
            self.roll().inspect_err(|_| self.poisoned = true)?;
        }
        Ok(&self.version)
    }

    /// Frames `payload` (sealed, in an encrypted file) at the file's end, appends it and
    /// syncs; a failure poisons the manifest.
    fn append_synced(&mut self, payload: &[u8]) -> Result<()> {
        let record = match &self.cipher {
            Some(cipher) => {
                frame(&cipher.seal_record(&record_aad(self.generation), self.len_bytes, payload))
            }
            None => frame(payload),
        };
        let written = self
            .file
            .append(&record)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            self.poisoned = true;
            return Err(Error::io("append", &self.path(), source));
        }
        self.len_bytes += record.len() as u64;
        Ok(())
    }

    fn path(&self) -> PathBuf {
        self.dir.join(manifest_file_name(self.generation))
    }

    /// Starts the next generation from a snapshot of the current version.
    fn roll(&mut self) -> Result<()> {
        let generation = self.generation + 1;
        let (file, len_bytes, cipher) = write_generation(
            self.fs.as_ref(),
            &self.dir,
            generation,
            &self.version,
            self.encryption.as_deref(),
        )?;
        switch_current(self.fs.as_ref(), &self.dir, generation)?;
        let old = self.path();
        self.generation = generation;
        self.file = file;
        self.len_bytes = len_bytes;
        self.cipher = cipher;
        // The old file is garbage only now that the pointer names the new one durably.
        self.fs
            .remove_file(&old)
            .map_err(|source| Error::io("remove", &old, source))?;
        Ok(())
    }
}

/// Removes what a crash may have left beside the live generation: manifests of other
/// generations (a roll that never switched the pointer, or an old one not yet deleted)
/// and a pointer file being written. None of them is referenced by the durable pointer.
fn remove_stale_files(fs: &dyn Fs, dir: &Path, live_generation: u64) -> Result<()> {
    let entries = fs
        .read_dir(dir)
        .map_err(|source| Error::io("read_dir", dir, source))?;
    for entry in entries {
        let Some(name) = entry.file_name() else {
            continue;
        };
        let stale_manifest =
            parse_manifest_file_name(name).is_some_and(|generation| generation != live_generation);
        if stale_manifest || name == CURRENT_TEMP_FILE {
            fs.remove_file(&entry.path)
                .map_err(|source| Error::io("remove", &entry.path, source))?;
        }
    }
    Ok(())
}

/// A freshly written generation: its file, its length and its cipher.
type Generation = (Box<dyn FsFile>, u64, Option<Box<FileCipher>>);

/// Writes and syncs `manifest-{generation}` holding a snapshot of `version` (encrypted
/// with `encryption`: a header, then the sealed snapshot), and makes its directory entry
/// durable; returns the file, its length and its cipher.
fn write_generation(
    fs: &dyn Fs,
    dir: &Path,
    generation: u64,
    version: &Version,
    encryption: Option<&ManifestEncryption>,
) -> Result<Generation> {
    let path = dir.join(manifest_file_name(generation));
    let file = fs
        .open(&path, OpenOptions::create_new())
        .map_err(|source| Error::io("create", &path, source))?;
    let snapshot = encode_snapshot(version);
    let (bytes, cipher) = match encryption {
        None => (frame(&snapshot), None),
        Some(encryption) => {
            let salt = encryption.salts.salt_for(MANIFEST_SALT_KIND, generation);
            let cipher = FileCipher::new(&encryption.key, &salt);
            let mut bytes = encrypted_header(&salt, cipher.key_check());
            let sealed = cipher.seal_record(
                &record_aad(generation),
                ENCRYPTED_HEADER_LEN as u64,
                &snapshot,
            );
            bytes.extend_from_slice(&frame(&sealed));
            (bytes, Some(Box::new(cipher)))
        }
    };
    file.append(&bytes)
        .map_err(|source| Error::io("append", &path, source))?;
    file.sync_all()
        .map_err(|source| Error::io("sync", &path, source))?;
    fs.sync_dir(dir)
        .map_err(|source| Error::io("sync_dir", dir, source))?;
    Ok((file, bytes.len() as u64, cipher))
}

/// The header of an encrypted manifest file.
fn encrypted_header(salt: &[u8; FILE_SALT_LEN], key_check: u32) -> Vec<u8> {
    let mut header = ENCRYPTED_MAGIC.to_vec();
    header.extend_from_slice(salt);
    put_u32(&mut header, key_check);
    let checksum = xxh3_64(&header);
    put_u64(&mut header, checksum);
    header
}

/// The associated data of every record of generation `generation`.
fn record_aad(generation: u64) -> [u8; AAD_LEN] {
    let mut aad = [0; AAD_LEN];
    let (label, rest) = aad.split_at_mut(16);
    label.copy_from_slice(b"lsm manifest rec");
    if let Some(slot) = rest.get_mut(..8) {
        slot.copy_from_slice(&generation.to_le_bytes());
    }
    aad
}

/// Points `current` at `generation` atomically and durably.
fn switch_current(fs: &dyn Fs, dir: &Path, generation: u64) -> Result<()> {
    let mut bytes = CURRENT_MAGIC.to_vec();
    put_u64(&mut bytes, generation);
    let checksum = xxh3_64(&bytes);
    put_u64(&mut bytes, checksum);
    lsm_core::fs::replace_durably(fs, dir, CURRENT_FILE, CURRENT_TEMP_FILE, &bytes)
        .map_err(|step| Error::io(step.op, &step.path, step.source))
}

/// The generation `current` names, or `None` when there is no `current`.
fn read_current(fs: &dyn Fs, dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(CURRENT_FILE);
    let bytes = match lsm_core::fs::read_all(fs, &path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::io("read", &path, source)),
    };
    let corrupt = |what| Error::Corruption {
        path: path.clone(),
        offset: 0,
        what,
    };
    if bytes.len() != CURRENT_LEN {
        return Err(corrupt("pointer file of the wrong length"));
    }
    let mut decoder = Decoder::new(&bytes);
    let magic: [u8; 8] = decoder.array().map_err(|_| corrupt("pointer file"))?;
    let generation = decoder.u64().map_err(|_| corrupt("pointer file"))?;
    let checksum = decoder.u64().map_err(|_| corrupt("pointer file"))?;
    if magic != CURRENT_MAGIC || xxh3_64(bytes.get(..16).unwrap_or_default()) != checksum {
        return Err(corrupt("pointer file checksum mismatch"));
    }
    Ok(Some(generation))
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    put_u32(
        &mut record,
        u32::try_from(payload.len()).expect("records are far below 4 GiB"),
    );
    put_u64(&mut record, xxh3_64(payload));
    record.extend_from_slice(payload);
    record
}

fn encode_snapshot(version: &Version) -> Vec<u8> {
    let mut out = vec![RECORD_SNAPSHOT, MANIFEST_FORMAT_VERSION];
    let name = version.order().name().as_bytes();
    put_varint_u64(&mut out, name.len() as u64);
    out.extend_from_slice(name);
    for value in [
        version.id(),
        version.next_table_id(),
        version.last_seqno(),
        version.levels().len() as u64,
    ] {
        put_varint_u64(&mut out, value);
    }
    for level in version.levels() {
        put_varint_u64(&mut out, level.runs().len() as u64);
        for run in level.runs() {
            put_varint_u64(&mut out, run.tables().len() as u64);
            for table in run.tables() {
                table.encode_into(&mut out);
            }
        }
    }
    put_varint_u64(&mut out, version.next_blob_file_id());
    put_varint_u64(&mut out, version.blob_file_count() as u64);
    for info in version.blob_files().values() {
        info.encode_into(&mut out);
    }
    crate::edit::put_optional_seqno(&mut out, version.gc_watermark());
    out
}

/// The key order's name a snapshot records (its format version is checked), and where
/// the rest of it starts.
fn snapshot_order(payload: &[u8]) -> Result<(String, usize), DecodeError> {
    let mut decoder = Decoder::new(payload);
    let _tag = decoder.u8()?;
    let format_version = decoder.u8()?;
    if format_version < FIRST_VERSION_WITH_ORDER {
        return Ok((
            lsm_core::order::LEXICOGRAPHIC_NAME.to_owned(),
            decoder.offset(),
        ));
    }
    let offset = decoder.offset();
    let len = decoder.varint_len()?;
    if len > ORDER_NAME_LEN_MAX {
        return Err(DecodeError::InvalidField {
            field: "order name length",
            value: len as u64,
            offset,
        });
    }
    let name =
        String::from_utf8(decoder.bytes(len)?.to_vec()).map_err(|_| DecodeError::InvalidField {
            field: "order name",
            value: len as u64,
            offset,
        })?;
    Ok((name, decoder.offset()))
}

/// Decodes the rest of a snapshot from `start` on (after [`snapshot_order`]).
fn decode_snapshot(
    payload: &[u8],
    start: usize,
    order: &KeyOrder,
    version: u8,
) -> Result<Version, DecodeError> {
    let mut decoder = Decoder::at(payload, start)?;
    let id = decoder.varint_u64()?;
    let next_table_id = decoder.varint_u64()?;
    let last_seqno = decoder.varint_u64()?;
    let level_count = decoder.varint_u64()?;
    if level_count == 0 || level_count > LEVEL_COUNT_MAX as u64 {
        return Err(DecodeError::InvalidField {
            field: "level count",
            value: level_count,
            offset: decoder.offset(),
        });
    }
    let mut levels = Vec::new();
    for _ in 0..level_count {
        let run_count = bounded_count(&mut decoder)?;
        let mut runs = Vec::with_capacity(run_count);
        for _ in 0..run_count {
            let table_count = bounded_count(&mut decoder)?;
            let mut tables = Vec::with_capacity(table_count);
            for _ in 0..table_count {
                tables.push(Arc::new(TableMeta::decode_versioned(
                    &mut decoder,
                    order,
                    version,
                )?));
            }
            let offset = decoder.offset();
            if tables.is_empty() || !crate::version::is_disjoint(order, &tables) {
                return Err(DecodeError::InvalidField {
                    field: "run",
                    value: 0,
                    offset,
                });
            }
            runs.push(Run::new(order, tables));
        }
        levels.push(Version::level_from_runs(runs));
    }
    let next_blob_file_id = decoder.varint_u64()?;
    let blob_file_count = bounded_count(&mut decoder)?;
    let mut blob_files = std::collections::BTreeMap::new();
    for _ in 0..blob_file_count {
        let offset = decoder.offset();
        let info = BlobFileInfo::decode_versioned(&mut decoder, version)?;
        if blob_files.insert(info.id, info).is_some() {
            return Err(DecodeError::InvalidField {
                field: "blob file id repeats",
                value: info.id,
                offset,
            });
        }
    }
    let gc_watermark = if version >= crate::layout::FIRST_VERSION_WITH_GC_WATERMARK {
        crate::edit::decode_optional_seqno(&mut decoder)?
    } else {
        None
    };
    Ok(Version::from_parts(
        id,
        levels,
        next_table_id,
        last_seqno,
        blob_files,
        next_blob_file_id,
        order.clone(),
    )
    .with_gc_watermark(gc_watermark))
}

/// What a manifest file describes.
struct Replayed {
    version: Version,
    /// The length of the file's valid prefix.
    valid_len: u64,
    /// The file's cipher, for an encrypted file.
    cipher: Option<Box<FileCipher>>,
    /// Whether the file is under an older key than the current one.
    under_older_key: bool,
    /// The snapshot's format version.
    format_version: u8,
    /// Offsets of the records the recovery mode dropped.
    dropped: Vec<u64>,
}

/// The cipher of the manifest file `bytes` (`None` for a plaintext one), where its
/// records start, and whether it is under an older key than the current one.
fn open_header(
    bytes: &[u8],
    path: &Path,
    encryption: Option<&ManifestEncryption>,
) -> Result<(Option<Box<FileCipher>>, usize, bool)> {
    let corrupt = |what| Error::Corruption {
        path: path.to_path_buf(),
        offset: 0,
        what,
    };
    let encrypted = bytes.starts_with(&ENCRYPTED_MAGIC);
    Ok(match (encrypted, encryption) {
        (false, None) => (None, 0, false),
        (false, Some(_)) => {
            return Err(Error::NotEncrypted {
                path: path.to_path_buf(),
            });
        }
        (true, None) => {
            return Err(Error::KeyRequired {
                path: path.to_path_buf(),
            });
        }
        (true, Some(encryption)) => {
            let header = bytes
                .get(..ENCRYPTED_HEADER_LEN)
                .ok_or_else(|| corrupt("truncated encryption header"))?;
            let (body, checksum) = header.split_at(ENCRYPTED_HEADER_LEN - 8);
            let mut decoder = Decoder::new(checksum);
            if decoder.u64().ok() != Some(xxh3_64(body)) {
                return Err(corrupt("damaged encryption header"));
            }
            let mut salt = [0; FILE_SALT_LEN];
            salt.copy_from_slice(body.get(8..8 + FILE_SALT_LEN).unwrap_or_default());
            let mut decoder = Decoder::new(body.get(8 + FILE_SALT_LEN..).unwrap_or_default());
            let key_check = decoder
                .u32()
                .map_err(|_| corrupt("damaged encryption header"))?;
            let (position, cipher) = std::iter::once(&encryption.key)
                .chain(&encryption.older)
                .map(|key| FileCipher::new(key, &salt))
                .enumerate()
                .find(|(_, cipher)| cipher.key_check() == key_check)
                .ok_or_else(|| Error::WrongKey {
                    path: path.to_path_buf(),
                })?;
            (Some(Box::new(cipher)), ENCRYPTED_HEADER_LEN, position > 0)
        }
    })
}

/// Reads a manifest file; see [`Replayed`].
fn replay(
    bytes: &[u8],
    path: &Path,
    generation: u64,
    encryption: Option<&ManifestEncryption>,
    order: &KeyOrder,
    mode: RecoveryMode,
) -> Result<Replayed> {
    let corrupt = |offset: usize, what| Error::Corruption {
        path: path.to_path_buf(),
        offset: offset as u64,
        what,
    };
    let (cipher, start, under_older_key) = open_header(bytes, path, encryption)?;
    let aad = record_aad(generation);
    // A record's payload: as stored, or opened with the file's key at its offset.
    let payload_of = |stored: &[u8], offset: usize| -> Result<Vec<u8>> {
        match &cipher {
            None => Ok(stored.to_vec()),
            Some(cipher) => cipher
                .open_record(&aad, offset as u64, stored)
                .ok_or_else(|| corrupt(offset, "a record fails authentication")),
        }
    };
    let (snapshot, mut offset) = match next_record(bytes, start) {
        Record::Valid(stored, end) => (payload_of(stored, start)?, end),
        Record::End | Record::Damaged => {
            return Err(corrupt(start, "missing or damaged snapshot"));
        }
    };
    let format_version = match (snapshot.first(), snapshot.get(1)) {
        (Some(&RECORD_SNAPSHOT), Some(&version)) if version > MANIFEST_FORMAT_VERSION => {
            return Err(Error::UnsupportedFormatVersion {
                found: version,
                max: MANIFEST_FORMAT_VERSION,
            });
        }
        (Some(&RECORD_SNAPSHOT), Some(&version)) => version,
        _ => return Err(corrupt(start, "the first record is not a snapshot")),
    };
    let (stored_order, rest) =
        snapshot_order(&snapshot).map_err(|_| corrupt(start, "malformed snapshot"))?;
    if stored_order != order.name() {
        return Err(Error::ComparatorMismatch {
            stored: stored_order,
            supplied: order.name(),
        });
    }
    let mut version = decode_snapshot(&snapshot, rest, order, format_version)
        .map_err(|_| corrupt(start, "malformed snapshot"))?;
    if !version.ids_are_consistent() {
        return Err(corrupt(
            start,
            "snapshot table ids repeat or reach the next id",
        ));
    }
    let commits = format_version >= FIRST_VERSION_WITH_COMMITS;
    // A commit's stored payload: sealed (with the seal's tag) in an encrypted file.
    let commit_stored_len = COMMIT_PAYLOAD_LEN + if cipher.is_some() { GCM_TAG_LEN } else { 0 };
    // The offset of the record before, when it is an edit: a commit follows its edit
    // directly (an edit whose commit a crash cut off may be followed by the next edit).
    let mut edit_before = None;
    let mut dropped = Vec::new();
    // What the mode does about the record at `at` that cannot be used.
    let on_damage = |at: usize, next: Option<usize>| match mode {
        RecoveryMode::AbsoluteConsistency => OnDamage::Fail,
        RecoveryMode::TolerateCorruptedTailRecords => {
            if next_whole_edit(bytes, at + 1, &payload_of).is_none() {
                OnDamage::Stop
            } else {
                OnDamage::Fail
            }
        }
        RecoveryMode::PointInTimeRecovery => OnDamage::Stop,
        RecoveryMode::SkipAnyCorruptedRecords => {
            match next.or_else(|| next_whole_edit(bytes, at + 1, &payload_of)) {
                Some(next) => OnDamage::SkipTo(next),
                None => OnDamage::Stop,
            }
        }
    };
    loop {
        let problem = match next_record(bytes, offset) {
            Record::End => break,
            Record::Valid(stored, end) => match payload_of(stored, offset) {
                Err(_) => Some(("a record fails authentication", Some(end))),
                Ok(payload) => {
                    let mut decoder = Decoder::new(&payload);
                    match decoder.u8().ok() {
                        Some(RECORD_EDIT) => {
                            match VersionEdit::decode_versioned(&mut decoder, order, format_version)
                            {
                                Err(_) => Some(("malformed edit", Some(end))),
                                Ok(edit) if !edit_applies(&version, &edit) => {
                                    Some(("edit does not apply to the version", Some(end)))
                                }
                                Ok(edit) => {
                                    version = version.apply(&edit);
                                    edit_before = commits.then_some(offset as u64);
                                    offset = end;
                                    None
                                }
                            }
                        }
                        Some(RECORD_COMMIT) if commits => {
                            let names_edit_before = payload.len() == COMMIT_PAYLOAD_LEN
                                && edit_before == decoder.u64().ok();
                            // After a skipped record a commit may name what was skipped.
                            if names_edit_before || !dropped.is_empty() {
                                edit_before = None;
                                offset = end;
                                None
                            } else {
                                Some(("a commit of no edit before it", Some(end)))
                            }
                        }
                        _ => Some(("unexpected record type", Some(end))),
                    }
                }
            },
            Record::Damaged => {
                // A torn append leaves damage only at the end (or zeros after it), and
                // never before a commit: the commit is written after its edit is synced.
                let rest = bytes.get(offset..).unwrap_or_default();
                let before_commit =
                    commits && ends_with_commit(bytes, offset, commit_stored_len, &payload_of);
                if !before_commit && is_torn_tail(rest) {
                    break;
                }
                Some((
                    if before_commit {
                        "damaged record before a commit"
                    } else {
                        "damaged record before the end of the log"
                    },
                    None,
                ))
            }
        };
        let Some((what, next)) = problem else {
            continue;
        };
        match on_damage(offset, next) {
            OnDamage::Fail => return Err(corrupt(offset, what)),
            OnDamage::Stop => {
                dropped.push(offset as u64);
                break;
            }
            OnDamage::SkipTo(next) => {
                dropped.push(offset as u64);
                edit_before = None;
                offset = next;
            }
        }
    }
    Ok(Replayed {
        version,
        valid_len: offset as u64,
        cipher,
        under_older_key,
        format_version,
        dropped,
    })
}

/// The offset of the first whole edit record starting at or after `from` (tried at every
/// byte: damage may have broken the length that would lead there).
fn next_whole_edit<F>(bytes: &[u8], from: usize, payload_of: &F) -> Option<usize>
where
    F: Fn(&[u8], usize) -> Result<Vec<u8>>,
{
    (from..bytes.len()).find(|&at| match next_record(bytes, at) {
        Record::Valid(stored, _) => {
            payload_of(stored, at).is_ok_and(|payload| payload.first() == Some(&RECORD_EDIT))
        }
        _ => false,
    })
}

/// Whether the file ends, after `damaged`, in a whole commit record whose stored payload
/// is `stored_len` bytes (`payload_of` opens a stored payload at its offset).
fn ends_with_commit<F>(bytes: &[u8], damaged: usize, stored_len: usize, payload_of: &F) -> bool
where
    F: Fn(&[u8], usize) -> Result<Vec<u8>>,
{
    let Some(at) = bytes.len().checked_sub(RECORD_HEADER_LEN + stored_len) else {
        return false;
    };
    let Record::Valid(stored, _) = next_record(bytes, at) else {
        return false;
    };
    at > damaged
        && stored.len() == stored_len
        && payload_of(stored, at).is_ok_and(|payload| payload.first() == Some(&RECORD_COMMIT))
}

/// Whether the damage starting `rest` is a torn last record: a record whose declared
/// end is the file's end or beyond it, or nothing but zeros after a bad header.
fn is_torn_tail(rest: &[u8]) -> bool {
    let mut decoder = Decoder::new(rest);
    let Ok(len) = decoder.u32() else { return true };
    let record_end = RECORD_HEADER_LEN as u64 + u64::from(len);
    record_end >= rest.len() as u64 || rest.iter().all(|&byte| byte == 0)
}

/// Whether an edit read from disk can apply (so that a crafted edit cannot reach the
/// asserts of [`Version::apply`]).
fn edit_applies(version: &Version, edit: &VersionEdit) -> bool {
    let present: std::collections::BTreeSet<_> = version.tables().map(|table| table.id).collect();
    let removed: std::collections::BTreeSet<_> = edit.removed.iter().copied().collect();
    let levels_ok = edit
        .added
        .iter()
        .all(|(level, _)| usize::from(*level) < version.levels().len());
    let mut added = std::collections::BTreeSet::new();
    let adds_ok = edit
        .added
        .iter()
        .flat_map(|(_, tables)| tables)
        .all(|table| {
            added.insert(table.id) && (!present.contains(&table.id) || removed.contains(&table.id))
        });
    let runs_ok = edit.added.iter().all(|(_, tables)| {
        let mut ranges: Vec<_> = tables.iter().map(|table| &table.key_range).collect();
        let order = version.order();
        ranges.sort_by(|a, b| order.cmp(a.min(), b.min()));
        ranges.windows(2).all(|pair| match pair {
            [left, right] => order.lt(left.max(), right.min()),
            _ => true,
        })
    });
    removed.is_subset(&present)
        && levels_ok
        && adds_ok
        && runs_ok
        && version.blob_files_after(edit).is_some()
}

enum Record<'a> {
    Valid(&'a [u8], usize),
    Damaged,
    End,
}

fn next_record(bytes: &[u8], offset: usize) -> Record<'_> {
    let rest = bytes.get(offset..).unwrap_or_default();
    if rest.is_empty() {
        return Record::End;
    }
    let mut decoder = Decoder::new(rest);
    let (Ok(len), Ok(checksum)) = (decoder.u32(), decoder.u64()) else {
        return Record::Damaged;
    };
    if len > RECORD_LEN_MAX {
        return Record::Damaged;
    }
    let Ok(payload) = decoder.bytes(len as usize) else {
        return Record::Damaged;
    };
    if xxh3_64(payload) != checksum {
        return Record::Damaged;
    }
    Record::Valid(payload, offset + RECORD_HEADER_LEN + len as usize)
}
