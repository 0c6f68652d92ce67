//! The key of an encrypted log: a salt drawn when the log is created, stored with a key
//! check value in the log's `KEY` file, and from the master key and that salt one
//! AES-256-GCM key per segment (`docs/format/wal.md`, "Encryption").

use std::path::Path;

use lsm_codec::{EncryptionKey, FileCipher, SaltSource};
use lsm_core::Fs;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::layout::{KEY_FILE, KEY_FILE_LEN, KEY_MAGIC, SALT_KIND};

/// The temporary name a new key file is written under.
const KEY_TEMP_FILE: &str = "KEY.tmp";

/// The master key and the log's salt.
pub(crate) struct LogCipher {
    master: EncryptionKey,
    salt: [u8; 16],
}

impl LogCipher {
    /// The cipher of segment `id`: the log's salt with the id folded into its last
    /// eight bytes, so every segment has a key of its own and a frame's nonce (the salt's
    /// first four bytes and the frame's offset) never repeats under a key.
    pub(crate) fn segment(&self, id: u64) -> FileCipher {
        let mut salt = self.salt;
        for (byte, id_byte) in salt[8..].iter_mut().zip(id.to_le_bytes()) {
            *byte ^= id_byte;
        }
        FileCipher::new(&self.master, &salt)
    }

    fn key_check(&self) -> u32 {
        FileCipher::new(&self.master, &self.salt).key_check()
    }
}

/// The associated data of a sealed frame of segment `id`.
pub(crate) fn aad(id: u64) -> [u8; lsm_codec::layout::AAD_LEN] {
    let mut aad = [0; lsm_codec::layout::AAD_LEN];
    aad[..8].copy_from_slice(&id.to_le_bytes());
    aad[8] = SALT_KIND;
    aad
}

/// The log's cipher: read from its key file (checked against `master`), or, for a log
/// with no segment yet, drawn and written durably. `None` for a plaintext log.
///
/// # Errors
/// [`Error::EncryptionRequired`] for a key file and no key; [`Error::NotEncrypted`] for
/// a key and segments with no key file; [`Error::WrongKey`]; [`Error::BadKeyFile`];
/// I/O errors.
pub(crate) fn open(
    fs: &dyn Fs,
    dir: &Path,
    master: Option<&EncryptionKey>,
    has_segments: bool,
) -> Result<Option<LogCipher>> {
    let path = dir.join(KEY_FILE);
    let exists = fs.exists(&path)?;
    let Some(master) = master else {
        return if exists {
            Err(Error::EncryptionRequired)
        } else {
            Ok(None)
        };
    };
    if !exists {
        if has_segments {
            return Err(Error::NotEncrypted);
        }
        let salt = SaltSource::new()
            .map_err(|_| Error::Random)?
            .salt_for(SALT_KIND, 0);
        let cipher = LogCipher {
            master: master.clone(),
            salt,
        };
        let bytes = encode(&salt, cipher.key_check());
        lsm_core::fs::replace_durably(fs, dir, KEY_FILE, KEY_TEMP_FILE, &bytes)
            .map_err(|step| Error::Io(step.source))?;
        return Ok(Some(cipher));
    }
    let bytes = lsm_core::fs::read_all(fs, &path)?;
    let (salt, key_check) = decode(&bytes)?;
    let cipher = LogCipher {
        master: master.clone(),
        salt,
    };
    if cipher.key_check() != key_check {
        return Err(Error::WrongKey);
    }
    Ok(Some(cipher))
}

fn encode(salt: &[u8; 16], key_check: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(KEY_FILE_LEN);
    out.extend_from_slice(&KEY_MAGIC);
    out.extend_from_slice(salt);
    out.extend_from_slice(&key_check.to_le_bytes());
    let checksum = xxh3_64(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

fn decode(bytes: &[u8]) -> Result<([u8; 16], u32)> {
    if bytes.len() != KEY_FILE_LEN {
        return Err(Error::BadKeyFile("wrong length"));
    }
    let (body, checksum) = bytes.split_at(KEY_FILE_LEN - 8);
    if xxh3_64(body).to_le_bytes() != checksum {
        return Err(Error::BadKeyFile("checksum mismatch"));
    }
    if body[..8] != KEY_MAGIC {
        return Err(Error::BadKeyFile("bad magic"));
    }
    let mut salt = [0; 16];
    salt.copy_from_slice(&body[8..24]);
    let mut key_check = [0; 4];
    key_check.copy_from_slice(&body[24..28]);
    Ok((salt, u32::from_le_bytes(key_check)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn the_key_file_round_trips_and_rejects_every_flipped_byte() {
        let bytes = encode(&[7; 16], 0xdead_beef);
        assert_eq!(decode(&bytes).unwrap(), ([7; 16], 0xdead_beef));
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x04;
            assert!(decode(&flipped).is_err(), "byte {at}");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn segments_get_keys_of_their_own() {
        let cipher = LogCipher {
            master: EncryptionKey::new([3; 32]),
            salt: [9; 16],
        };
        let sealed = cipher.segment(1).seal_record(&aad(1), 48, b"payload");
        assert_eq!(
            cipher
                .segment(1)
                .open_record(&aad(1), 48, &sealed)
                .as_deref(),
            Some(&b"payload"[..])
        );
        assert!(
            cipher
                .segment(2)
                .open_record(&aad(1), 48, &sealed)
                .is_none()
        );
        assert!(
            cipher
                .segment(1)
                .open_record(&aad(1), 64, &sealed)
                .is_none()
        );
    }
}
