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
use ring::hkdf::{HKDF_SHA256, KeyType, Salt};

use crate::layout::{AAD_LEN, GCM_NONCE_LEN, GCM_TAG_LEN};

/// Length of the per-file salt.
pub const FILE_SALT_LEN: usize = 16;

const BLOCK_KEY_INFO: &[u8] = b"lsm block key v1";
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
