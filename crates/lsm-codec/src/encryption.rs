//! AES-256-GCM block encryption with a key per file.
//!
//! Each file draws a random 16-byte salt when it is created and stores it in plaintext
//! (the caller does both; this layer reads no randomness). From the master key and that
//! salt, HKDF-SHA256 derives two things: the file's AES-256-GCM key and a 32-bit key
//! check value. A block's nonce is the first four salt bytes followed by the block's
//! offset. Why a nonce never repeats under a key: within one file each offset holds at
//! most one block (files are written once, front to back); a new file, including one
//! that reuses an id after a crash, has a fresh salt and so a fresh key, and two files
//! share a key only if their 128-bit salts collide.
//!
//! The key check value is stored in every encrypted block's header. A reader whose key
//! derives another value reports a wrong key before trying to decrypt; with the right
//! key, a failed authentication means the bytes were tampered with or moved.

use std::fmt;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use ring::digest::{SHA256, digest};
use ring::hkdf::{HKDF_SHA256, KeyType, Salt};
use ring::rand::{SecureRandom, SystemRandom};

use crate::layout::{AAD_LEN, GCM_NONCE_LEN, GCM_TAG_LEN};

/// Length of the per-file salt.
pub const FILE_SALT_LEN: usize = 16;

const BLOCK_KEY_INFO: &[u8] = b"lsm block key v1";
const SCOPED_KEY_INFO: &[u8] = b"lsm scoped key v1";
const KEY_CHECK_INFO: &[u8] = b"lsm key check v1";

/// A 256-bit master key. Its `Debug` output never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; 32]);

impl EncryptionKey {
    /// A key from its bytes.
    #[must_use]
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key of one scope under this master key (HKDF-SHA256 with `scope_salt`): a tree
    /// derives its files' keys from the key of its own scope, so that a file of another
    /// tree under the same master key does not open in it.
    #[must_use]
    pub fn scoped(&self, scope_salt: &[u8; FILE_SALT_LEN]) -> Self {
        let mut bytes = [0; 32];
        Salt::new(HKDF_SHA256, scope_salt)
            .extract(&self.0)
            .expand(&[SCOPED_KEY_INFO], OutputLen(bytes.len()))
            .and_then(|okm| okm.fill(&mut bytes))
            .expect("HKDF-SHA256 can expand 32 bytes");
        Self(bytes)
    }

    /// A key from a slice, if it is exactly 32 bytes long.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

/// The cipher of one file: its derived key and key check value.
pub struct FileCipher {
    key: LessSafeKey,
    key_check: u32,
    nonce_prefix: [u8; 4],
}

struct OutputLen(usize);

impl KeyType for OutputLen {
    fn len(&self) -> usize {
        self.0
    }
}

impl FileCipher {
    /// The cipher of the file with `file_salt`, under `master`.
    #[must_use]
    pub fn new(master: &EncryptionKey, file_salt: &[u8; FILE_SALT_LEN]) -> Self {
        let prk = Salt::new(HKDF_SHA256, file_salt).extract(&master.0);
        let key = prk
            .expand(&[BLOCK_KEY_INFO], &AES_256_GCM)
            .map(UnboundKey::from)
            .expect("HKDF-SHA256 can expand 32 bytes");
        let mut key_check = [0; 4];
        prk.expand(&[KEY_CHECK_INFO], OutputLen(key_check.len()))
            .and_then(|okm| okm.fill(&mut key_check))
            .expect("HKDF-SHA256 can expand 4 bytes");
        let mut nonce_prefix = [0; 4];
        nonce_prefix.copy_from_slice(&file_salt[..4]);
        Self {
            key: LessSafeKey::new(key),
            key_check: u32::from_le_bytes(key_check),
            nonce_prefix,
        }
    }

    /// The key check value stored in this file's encrypted block headers.
    #[must_use]
    pub fn key_check(&self) -> u32 {
        self.key_check
    }

    fn nonce(&self, block_offset: u64) -> Nonce {
        let mut nonce = [0; GCM_NONCE_LEN];
        nonce[..4].copy_from_slice(&self.nonce_prefix);
        nonce[4..].copy_from_slice(&block_offset.to_le_bytes());
        Nonce::assume_unique_for_key(nonce)
    }

    /// Encrypts `out[from..]` in place and appends the tag.
    pub(crate) fn seal_from(
        &self,
        aad: &[u8; AAD_LEN],
        block_offset: u64,
        out: &mut Vec<u8>,
        from: usize,
    ) {
        let plaintext = out.get_mut(from..).unwrap_or_default();
        let tag: Tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(block_offset), Aad::from(aad), plaintext)
            .expect("AES-GCM seals any block below 4 GiB");
        out.extend_from_slice(tag.as_ref());
    }

    /// Seals a record of a file that is not made of blocks (the manifest): `plaintext`
    /// encrypted under this file's key with the nonce of `offset` (where the record
    /// starts, so that no two records of the file share one), then the tag.
    #[must_use]
    pub fn seal_record(&self, aad: &[u8; AAD_LEN], offset: u64, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + GCM_TAG_LEN);
        out.extend_from_slice(plaintext);
        self.seal_from(aad, offset, &mut out, 0);
        out
    }

    /// Opens what [`Self::seal_record`] sealed; `None` when it fails authentication.
    #[must_use]
    pub fn open_record(&self, aad: &[u8; AAD_LEN], offset: u64, sealed: &[u8]) -> Option<Vec<u8>> {
        let mut buffer = sealed.to_vec();
        let plain_len = self.open(aad, offset, &mut buffer)?;
        buffer.truncate(plain_len);
        Some(buffer)
    }

    /// Authenticates and decrypts `in_out` (ciphertext then tag); returns the plaintext length.
    pub(crate) fn open(
        &self,
        aad: &[u8; AAD_LEN],
        block_offset: u64,
        in_out: &mut [u8],
    ) -> Option<usize> {
        if in_out.len() < GCM_TAG_LEN {
            return None;
        }
        self.key
            .open_in_place(self.nonce(block_offset), Aad::from(aad), in_out)
            .ok()
            .map(|plaintext| plaintext.len())
    }
}

/// Hands out file salts: one random seed drawn when it is made (the only randomness the
/// engine needs), and per file the first 16 bytes of SHA-256(seed, kind, file id), where
/// the kind keeps apart files whose ids come from different counters (tables and blob
/// files). Salts are distinct for distinct (kind, id) pairs of one source, and, with a
/// fresh seed per source (per open of a tree), for a file id reused after a crash.
pub struct SaltSource {
    seed: [u8; 32],
}

impl SaltSource {
    /// A source with a fresh seed from the operating system's random generator.
    ///
    /// # Errors
    /// [`crate::Error::Random`] when the generator fails.
    pub fn new() -> crate::Result<Self> {
        let mut seed = [0; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| crate::Error::Random)?;
        Ok(Self { seed })
    }

    /// The salt of file `file_id` of kind `kind`.
    #[must_use]
    pub fn salt_for(&self, kind: u8, file_id: u64) -> [u8; FILE_SALT_LEN] {
        let mut input = [0; 41];
        input[..32].copy_from_slice(&self.seed);
        input[32] = kind;
        input[33..].copy_from_slice(&file_id.to_le_bytes());
        let hash = digest(&SHA256, &input);
        let mut salt = [0; FILE_SALT_LEN];
        salt.copy_from_slice(&hash.as_ref()[..FILE_SALT_LEN]);
        salt
    }
}

impl fmt::Debug for SaltSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SaltSource(<seed redacted>)")
    }
}

/// Length of the nonce [`seal`] puts in front of its ciphertext.
pub const SEALED_NONCE_LEN: usize = GCM_NONCE_LEN;
/// Bytes [`seal`] adds: the nonce and the tag.
pub const SEALED_OVERHEAD: usize = GCM_NONCE_LEN + GCM_TAG_LEN;

/// Encrypts a standalone message under `key` with AES-256-GCM and a random nonce:
/// `nonce (12) | ciphertext | tag (16)`. For small messages outside the block format
/// (the nonce's 96 random bits make a repeat negligible below billions of messages per
/// key).
///
/// # Errors
/// [`crate::Error::Random`] when the random generator fails.
pub fn seal(key: &EncryptionKey, plaintext: &[u8]) -> crate::Result<Vec<u8>> {
    let mut nonce = [0; GCM_NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| crate::Error::Random)?;
    let sealing = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &key.0).expect("a 32-byte key fits AES-256-GCM"),
    );
    let mut out = Vec::with_capacity(SEALED_OVERHEAD + plaintext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = sealing
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            out.get_mut(GCM_NONCE_LEN..).unwrap_or_default(),
        )
        .expect("AES-GCM seals any message below 64 GiB");
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens what [`seal`] made; `None` when it is too short or fails authentication.
#[must_use]
pub fn open_sealed(key: &EncryptionKey, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SEALED_OVERHEAD {
        return None;
    }
    let (nonce, rest) = sealed.split_at(GCM_NONCE_LEN);
    let nonce: [u8; GCM_NONCE_LEN] = nonce.try_into().ok()?;
    let opening = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &key.0).expect("a 32-byte key fits AES-256-GCM"),
    );
    let mut buffer = rest.to_vec();
    let plain_len = opening
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut buffer,
        )
        .ok()?
        .len();
    buffer.truncate(plain_len);
    Some(buffer)
}

impl fmt::Debug for FileCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCipher")
            .field("key_check", &format_args!("{:#010x}", self.key_check))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_show_in_debug_output() {
        let key = EncryptionKey::new([0xAB; 32]);
        let cipher = FileCipher::new(&key, &[1; FILE_SALT_LEN]);
        assert!(!format!("{key:?}{cipher:?}").contains("171"));
        assert!(!format!("{key:?}").to_lowercase().contains("ab"));
        assert!(EncryptionKey::from_slice(&[0; 31]).is_none());
    }

    #[test]
    fn scoped_keys_differ_per_scope_and_master() {
        let master = EncryptionKey::new([1; 32]);
        let scoped = master.scoped(&[2; FILE_SALT_LEN]);
        assert_eq!(scoped, master.scoped(&[2; FILE_SALT_LEN]));
        assert_ne!(scoped, master.scoped(&[3; FILE_SALT_LEN]));
        assert_ne!(
            scoped,
            EncryptionKey::new([4; 32]).scoped(&[2; FILE_SALT_LEN])
        );
        assert_ne!(scoped, master);
    }

    #[test]
    fn salts_differ_per_file_and_per_source() {
        let source = SaltSource::new().unwrap();
        assert_eq!(source.salt_for(0, 7), source.salt_for(0, 7));
        assert_ne!(source.salt_for(0, 7), source.salt_for(0, 8));
        assert_ne!(source.salt_for(0, 7), source.salt_for(1, 7));
        assert_ne!(
            source.salt_for(0, 7),
            SaltSource::new().unwrap().salt_for(0, 7)
        );
    }

    #[test]
    fn sealed_messages_open_only_under_their_key_and_untouched() {
        let key = EncryptionKey::new([3; 32]);
        let sealed = seal(&key, b"a message").unwrap();
        assert_eq!(sealed.len(), b"a message".len() + SEALED_OVERHEAD);
        assert_eq!(open_sealed(&key, &sealed).unwrap(), b"a message");
        assert_ne!(seal(&key, b"a message").unwrap(), sealed, "fresh nonce");
        assert!(open_sealed(&EncryptionKey::new([4; 32]), &sealed).is_none());
        for at in 0..sealed.len() {
            let mut damaged = sealed.clone();
            damaged[at] ^= 1;
            assert!(open_sealed(&key, &damaged).is_none());
        }
        assert!(open_sealed(&key, &sealed[..SEALED_OVERHEAD - 1]).is_none());
    }

    #[test]
    fn salt_and_key_both_change_the_key_check() {
        let key = EncryptionKey::new([7; 32]);
        let base = FileCipher::new(&key, &[1; FILE_SALT_LEN]).key_check();
        assert_eq!(base, FileCipher::new(&key, &[1; FILE_SALT_LEN]).key_check());
        assert_ne!(base, FileCipher::new(&key, &[2; FILE_SALT_LEN]).key_check());
        assert_ne!(
            base,
            FileCipher::new(&EncryptionKey::new([8; 32]), &[1; FILE_SALT_LEN]).key_check()
        );
    }
}
