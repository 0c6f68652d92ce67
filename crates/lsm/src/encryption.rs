//! Encryption at rest: an [`EncryptionProvider`] set with
//! [`crate::Config::with_encryption`] encrypts every block of every table, every frame of
//! every blob file and every record of the manifest the tree writes.
//!
//! The provider hands the engine a master key ([`EncryptionProvider::master_key`]). The
//! tree scopes it with the salt of its marker (below), so that a file copied from another
//! tree under the same master key does not open; each file gets its own AES-256-GCM key,
//! derived from the tree's key and a salt the file stores; and each block is sealed with
//! its file id, offset, type and compression as associated data, so a block moved,
//! relabelled or transplanted from another file fails authentication
//! (`docs/format/block.md`). A provider without a master key can still encrypt standalone
//! messages ([`EncryptionProvider::encrypt`]) but cannot encrypt a tree:
//! [`crate::Config::open`] refuses it with [`Error::Encrypt`].
//!
//! A tree created with a provider records so in a small file beside the manifest
//! (`ENCRYPTION`: a salt and the key check value that salt and the master key derive).
//! Opening it checks the key before reading anything else, the manifest included: another
//! key is [`Error::WrongKey`], none is [`Error::EncryptionRequired`], and a provider given
//! for a tree created without one is [`Error::NotEncrypted`].
//!
//! The manifest is encrypted too (its records sealed under a key of its own per file;
//! after a torn tail it continues in a new file, so no nonce is used twice: see
//! `lsm_version::Manifest`).
//!
//! Key rotation: a provider may hold older keys ([`EncryptionProvider::previous_keys`],
//! [`Aes256GcmProvider::with_key_chain`]). Files written under them stay readable (each
//! file's key check tells which key it needs); the marker and the manifest move to the
//! current key at open, and compactions rewrite the remaining tables and blob files
//! under it when they have nothing else to do, until
//! [`crate::AbstractTree::rotation_debt`] is 0. Then the older keys can be dropped.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::path::Path;
use std::sync::Arc;

use lsm_codec::{EncryptionKey, FILE_SALT_LEN, FileCipher, SaltSource};
use lsm_core::Fs;
use lsm_core::checksum::Checksum;

use crate::error::{Error, Result};

/// Encrypts what a tree writes; see the module docs.
pub trait EncryptionProvider: Send + Sync + UnwindSafe + RefUnwindSafe {
    /// Encrypts a standalone message.
    ///
    /// # Errors
    /// [`Error::Encrypt`].
    fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>>;

    /// Decrypts what [`Self::encrypt`] made.
    ///
    /// # Errors
    /// [`Error::Decrypt`] when the message is damaged or was encrypted under another key.
    fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>>;

    /// Bytes [`Self::encrypt`] adds at most.
    fn max_overhead(&self) -> u32;

    /// The master key the tree derives each file's key from; `None` (the default) for a
    /// provider that only encrypts messages, which cannot encrypt a tree.
    fn master_key(&self) -> Option<&EncryptionKey> {
        None
    }

    /// Keys of older epochs, newest first: files written under them stay readable, and
    /// compactions rewrite them under the master key (key rotation). Default: none.
    fn previous_keys(&self) -> Vec<EncryptionKey> {
        Vec::new()
    }

    /// Whether the provider can seal the tree's blocks (bound to their file, offset and
    /// kind): it has a master key.
    fn supports_aad_block_path(&self) -> bool {
        self.master_key().is_some()
    }

    /// [`Self::encrypt`] of an owned buffer.
    ///
    /// # Errors
    /// As [`Self::encrypt`].
    fn encrypt_vec(&self, plaintext: Vec<u8>) -> Result<Vec<u8>> {
        self.encrypt(&plaintext)
    }

    /// [`Self::decrypt`] of an owned buffer.
    ///
    /// # Errors
    /// As [`Self::decrypt`].
    fn decrypt_vec(&self, ciphertext: Vec<u8>) -> Result<Vec<u8>> {
        self.decrypt(&ciphertext)
    }
}

/// Keys by epoch: the newest epoch's key encrypts what is written from now on, the
/// older ones still read what they wrote (key rotation).
pub trait KeyChain: Send + Sync + UnwindSafe + RefUnwindSafe {
    /// The newest epoch.
    fn current_epoch(&self) -> u32;

    /// The key of `epoch`, if the chain holds it.
    fn key(&self, epoch: u32) -> Option<&EncryptionKey>;

    /// Every epoch the chain holds, oldest first.
    fn epochs(&self) -> Vec<u32>;
}

/// A [`KeyChain`] held in memory.
#[derive(Clone)]
pub struct StaticKeyChain {
    keys: std::collections::BTreeMap<u32, EncryptionKey>,
}

impl StaticKeyChain {
    /// A chain of one key, epoch 0.
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            keys: std::collections::BTreeMap::from([(0, EncryptionKey::new(*key))]),
        }
    }

    /// Its keys by epoch, the current (highest) first.
    fn newest_first(&self) -> impl Iterator<Item = (u32, &EncryptionKey)> {
        self.keys.iter().rev().map(|(epoch, key)| (*epoch, key))
    }

    /// The chain with `key` as epoch `epoch` (replacing any key of that epoch); the
    /// highest epoch is the current one.
    #[must_use]
    pub fn with_key(mut self, epoch: u32, key: &[u8; 32]) -> Self {
        self.keys.insert(epoch, EncryptionKey::new(*key));
        self
    }
}

impl std::fmt::Debug for StaticKeyChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeyChain")
            .field("epochs", &self.epochs())
            .finish_non_exhaustive()
    }
}

impl KeyChain for StaticKeyChain {
    fn current_epoch(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    fn key(&self, epoch: u32) -> Option<&EncryptionKey> {
        self.keys.get(&epoch)
    }

    fn epochs(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }
}

/// AES-256-GCM under the keys of a [`StaticKeyChain`]: the current epoch's key encrypts,
/// every epoch's key decrypts.
pub struct Aes256GcmProvider {
    chain: StaticKeyChain,
}

impl Aes256GcmProvider {
    /// Bytes [`EncryptionProvider::encrypt`] adds: a 12-byte nonce and a 16-byte tag.
    pub const OVERHEAD: usize = lsm_codec::SEALED_OVERHEAD;

    /// A provider of `key` (key epoch 0).
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        Self::with_key_chain(StaticKeyChain::new(key))
    }

    /// A provider of `key` (key epoch 0), which must be 32 bytes long.
    ///
    /// # Errors
    /// [`Error::Encrypt`] for any other length.
    pub fn from_slice(key: &[u8]) -> Result<Self> {
        let key: &[u8; 32] = key
            .try_into()
            .map_err(|_| Error::Encrypt("an AES-256-GCM key is 32 bytes long"))?;
        Ok(Self::new(key))
    }

    /// A provider of a key chain: files are written under its current epoch's key, and
    /// files written under its older keys stay readable until compactions rewrite them
    /// (see [`crate::AbstractTree::rotation_debt`]).
    #[must_use]
    pub fn with_key_chain(chain: StaticKeyChain) -> Self {
        Self { chain }
    }

    fn current(&self) -> &EncryptionKey {
        self.chain
            .newest_first()
            .next()
            .map(|(_, key)| key)
            .expect("a static chain holds at least its first key")
    }
}

impl std::fmt::Debug for Aes256GcmProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aes256GcmProvider")
            .field("epochs", &self.chain.epochs())
            .finish_non_exhaustive()
    }
}

impl EncryptionProvider for Aes256GcmProvider {
    fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        lsm_codec::seal(self.current(), plaintext)
            .map_err(|_| Error::Encrypt("the system random generator failed"))
    }

    fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        self.chain
            .newest_first()
            .find_map(|(_, key)| lsm_codec::open_sealed(key, ciphertext))
            .ok_or(Error::Decrypt(
                "the message is damaged or was encrypted under another key",
            ))
    }

    fn max_overhead(&self) -> u32 {
        // 28: the constant fits.
        u32::try_from(Self::OVERHEAD).unwrap_or(u32::MAX)
    }

    fn master_key(&self) -> Option<&EncryptionKey> {
        Some(self.current())
    }

    fn previous_keys(&self) -> Vec<EncryptionKey> {
        // The newest is the current key.
        self.chain
            .newest_first()
            .skip(1)
            .map(|(_, key)| key.clone())
            .collect()
    }
}

pub(crate) use crate::layout::ENCRYPTION_MARKER as MARKER_FILE;
const MARKER_MAGIC: &[u8; 8] = b"LSMENC01";
const MARKER_LEN: usize = 8 + FILE_SALT_LEN + 4 + 8;

/// How a tree encrypts its files: its keys (the provider's, scoped to the tree by the
/// marker's salt) and the salts of new files.
pub(crate) struct TreeEncryption {
    /// The key new files are written under.
    pub(crate) key: EncryptionKey,
    /// Keys of older epochs, which still read the files written under them.
    pub(crate) older: Vec<EncryptionKey>,
    pub(crate) salts: Arc<SaltSource>,
}

impl TreeEncryption {
    /// The same, for the manifest.
    pub(crate) fn for_manifest(&self) -> lsm_version::ManifestEncryption {
        lsm_version::ManifestEncryption {
            key: self.key.clone(),
            older: self.older.clone(),
            salts: Arc::clone(&self.salts),
        }
    }
}

/// Checks the tree's encryption marker against `provider` (creating it for a new tree,
/// `fresh`); returns how new files are encrypted. See the module docs.
///
/// # Errors
/// [`Error::WrongKey`], [`Error::EncryptionRequired`], [`Error::NotEncrypted`],
/// [`Error::Encrypt`] (a provider without a master key, or no randomness), [`Error::Decrypt`]
/// (a damaged marker), [`Error::Io`].
pub(crate) fn open_marker(
    fs: &dyn Fs,
    dir: &Path,
    provider: Option<&dyn EncryptionProvider>,
    fresh: bool,
) -> Result<Option<TreeEncryption>> {
    let path = dir.join(MARKER_FILE);
    let exists = fs
        .exists(&path)
        .map_err(|source| Error::io("stat", &path, source))?;
    let key = match provider {
        None if exists => return Err(Error::EncryptionRequired),
        None => return Ok(None),
        Some(provider) => provider.master_key().cloned().ok_or(Error::Encrypt(
            "the provider has no master key to encrypt the tree's files with",
        ))?,
    };
    let older = provider
        .map(|provider| provider.previous_keys())
        .unwrap_or_default();
    let salts =
        SaltSource::new().map_err(|_| Error::Encrypt("the system random generator failed"))?;
    // The marker's salt scopes the tree: its files' keys derive from the master key
    // through it, so a file of another tree under the same master key does not open here.
    let scope = if exists {
        let (salt, key_check) = read_marker(fs, &path)?;
        let matches = |key: &EncryptionKey| FileCipher::new(key, &salt).key_check() == key_check;
        if !matches(&key) {
            if !older.iter().any(matches) {
                return Err(Error::WrongKey);
            }
            // Written under an older epoch: from now on the current key opens the tree.
            write_marker(fs, dir, &key, &salt)?;
        }
        salt
    } else if fresh {
        let salt = salts.salt_for(u8::MAX, 0);
        write_marker(fs, dir, &key, &salt)?;
        salt
    } else {
        return Err(Error::NotEncrypted);
    };
    Ok(Some(TreeEncryption {
        key: key.scoped(&scope),
        older: older.iter().map(|key| key.scoped(&scope)).collect(),
        salts: Arc::new(salts),
    }))
}

fn read_marker(fs: &dyn Fs, path: &Path) -> Result<([u8; FILE_SALT_LEN], u32)> {
    let bytes =
        lsm_core::fs::read_all(fs, path).map_err(|source| Error::io("read", path, source))?;
    let damaged = || Error::Decrypt("the tree's encryption marker is damaged");
    if bytes.len() != MARKER_LEN || !bytes.starts_with(MARKER_MAGIC) {
        return Err(damaged());
    }
    let (body, checksum) = bytes.split_at(MARKER_LEN - 8);
    if Checksum::of(body).into_raw().to_le_bytes() != checksum {
        return Err(damaged());
    }
    let mut salt = [0; FILE_SALT_LEN];
    salt.copy_from_slice(&body[8..8 + FILE_SALT_LEN]);
    let mut check = [0; 4];
    check.copy_from_slice(&body[8 + FILE_SALT_LEN..]);
    Ok((salt, u32::from_le_bytes(check)))
}

/// Writes the marker durably (a temporary file, synced, renamed, the directory synced).
fn write_marker(
    fs: &dyn Fs,
    dir: &Path,
    key: &EncryptionKey,
    salt: &[u8; FILE_SALT_LEN],
) -> Result<()> {
    let mut bytes = Vec::with_capacity(MARKER_LEN);
    bytes.extend_from_slice(MARKER_MAGIC);
    bytes.extend_from_slice(salt);
    bytes.extend_from_slice(&FileCipher::new(key, salt).key_check().to_le_bytes());
    let checksum = Checksum::of(&bytes).into_raw();
    bytes.extend_from_slice(&checksum.to_le_bytes());
    let temporary = format!("{MARKER_FILE}.tmp");
    lsm_core::fs::replace_durably(fs, dir, MARKER_FILE, &temporary, &bytes)
        .map_err(|step| Error::io(step.op, &step.path, step.source))
}

/// Opens a file with the current key (`current`), or, when it was written under an
/// older epoch's key, with that key; returns it and whether an older key opened it.
///
/// # Errors
/// The error of the current key when no key opens the file; any other error at once.
pub(crate) fn open_under_any_key<T>(
    current: Option<&EncryptionKey>,
    older: &[EncryptionKey],
    open: impl Fn(Option<EncryptionKey>) -> Result<T>,
) -> Result<(T, bool)> {
    let first = match open(current.cloned()) {
        Ok(file) => return Ok((file, false)),
        Err(error) if is_wrong_key(&error) => error,
        Err(error) => return Err(error),
    };
    for key in older {
        match open(Some(key.clone())) {
            Ok(file) => return Ok((file, true)),
            Err(error) if is_wrong_key(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Err(first)
}

fn is_wrong_key(error: &Error) -> bool {
    matches!(
        error,
        Error::Table(lsm_table::Error::WrongKey { .. })
            | Error::Blob(lsm_vlog::Error::WrongKey { .. })
    )
}
