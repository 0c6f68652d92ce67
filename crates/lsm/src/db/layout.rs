//! A database's directory and its keyspace registry (`docs/format/database.md`).
//!
//! ```text
//! <db>/lock                  the directory lock (exclusive while open)
//! <db>/keyspaces.reg         the keyspace registry (replaced durably, never edited)
//! <db>/keyspaces.reg.tmp     a registry being written (removed at open)
//! <db>/journal/              the write-ahead log's segments (lsm-wal)
//! <db>/keyspaces/<id>/       keyspace <id>'s tree (docs/format/file-naming.md)
//! ```
//!
//! ```text
//! registry: magic "lsmdbks1" | version u8 | next id u32 | count u32 | entry*
//!           | xxh3-64 of every byte before it
//! entry:    id u32 | name length u8 | name (UTF-8)
//! ```
//!
//! Integers are little-endian. Ids are never reused: `next id` only grows, so that a
//! log record of a deleted keyspace never lands in a later one.

use std::path::{Path, PathBuf};

use lsm_core::coding::{Decoder, put_u32};

/// The lock file.
pub const LOCK_FILE: &str = "lock";
/// The registry file.
pub const REGISTRY_FILE: &str = "keyspaces.reg";
/// The registry being written.
pub const REGISTRY_TEMP_FILE: &str = "keyspaces.reg.tmp";
/// The log's directory.
pub const JOURNAL_DIR: &str = "journal";
/// The directory of the keyspaces' trees.
pub const KEYSPACES_DIR: &str = "keyspaces";

/// The registry's first bytes.
pub const REGISTRY_MAGIC: [u8; 8] = *b"lsmdbks1";
/// The registry format this build writes and the newest it reads.
pub const REGISTRY_VERSION: u8 = 1;
/// Most bytes a keyspace name may have.
pub const NAME_LEN_MAX: usize = 255;

/// The directory of keyspace `id`'s tree.
#[must_use]
pub fn keyspace_dir(db_dir: &Path, id: u32) -> PathBuf {
    db_dir.join(KEYSPACES_DIR).join(id.to_string())
}

/// The keyspaces of a database: names by id, and the next id to give.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    /// The id the next keyspace gets.
    pub next_id: u32,
    /// The keyspaces, by ascending id.
    pub entries: Vec<(u32, String)>,
}

/// Why a registry does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// Not a registry, or damaged.
    Damaged(&'static str),
    /// Written by a newer build.
    UnsupportedVersion(u8),
}

impl Registry {
    /// The id of the keyspace called `name`.
    #[must_use]
    pub fn id_of(&self, name: &str) -> Option<u32> {
        self.entries
            .iter()
            .find(|(_, entry)| entry == name)
            .map(|(id, _)| *id)
    }

    /// The registry's bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&REGISTRY_MAGIC);
        out.push(REGISTRY_VERSION);
        put_u32(&mut out, self.next_id);
        put_u32(
            &mut out,
            u32::try_from(self.entries.len()).unwrap_or(u32::MAX),
        );
        for (id, name) in &self.entries {
            put_u32(&mut out, *id);
            // Names are checked to at most NAME_LEN_MAX bytes when a keyspace is made.
            out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(name.as_bytes());
        }
        let checksum = xxhash_rust::xxh3::xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads a registry back.
    ///
    /// # Errors
    /// [`RegistryError`] for damage or a newer version.
    pub fn decode(bytes: &[u8]) -> Result<Self, RegistryError> {
        let body_len = bytes
            .len()
            .checked_sub(8)
            .ok_or(RegistryError::Damaged("too short"))?;
        let (body, checksum) = bytes.split_at(body_len);
        if xxhash_rust::xxh3::xxh3_64(body).to_le_bytes() != checksum {
            return Err(RegistryError::Damaged("checksum mismatch"));
        }
        let damaged = |_| RegistryError::Damaged("truncated");
        let mut decoder = Decoder::new(body);
        if decoder.array::<8>().map_err(damaged)? != REGISTRY_MAGIC {
            return Err(RegistryError::Damaged("bad magic"));
        }
        let version = decoder.u8().map_err(damaged)?;
        if version != REGISTRY_VERSION {
            return Err(RegistryError::UnsupportedVersion(version));
        }
        let next_id = decoder.u32().map_err(damaged)?;
        let count = decoder.u32().map_err(damaged)?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let id = decoder.u32().map_err(damaged)?;
            let len = decoder.u8().map_err(damaged)?;
            let name = decoder.bytes(usize::from(len)).map_err(damaged)?;
            let name = std::str::from_utf8(name)
                .map_err(|_| RegistryError::Damaged("a name is not UTF-8"))?;
            if id >= next_id || entries.last().is_some_and(|(last, _)| *last >= id) {
                return Err(RegistryError::Damaged("ids out of order"));
            }
            entries.push((id, name.to_owned()));
        }
        if !decoder.is_empty() {
            return Err(RegistryError::Damaged("trailing bytes"));
        }
        Ok(Self { next_id, entries })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_registry_round_trips_and_rejects_every_flipped_byte() {
        let registry = Registry {
            next_id: 7,
            entries: vec![(0, "users".into()), (4, "orders".into())],
        };
        let bytes = registry.encode();
        assert_eq!(Registry::decode(&bytes).unwrap(), registry);
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert!(Registry::decode(&flipped).is_err(), "byte {at}");
        }
        for len in 0..bytes.len() {
            assert!(Registry::decode(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn a_newer_version_is_named() {
        let mut bytes = Registry::default().encode();
        bytes[8] = REGISTRY_VERSION + 1;
        let body = bytes.len() - 8;
        let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[..body]);
        bytes[body..].copy_from_slice(&checksum.to_le_bytes());
        assert_eq!(
            Registry::decode(&bytes),
            Err(RegistryError::UnsupportedVersion(REGISTRY_VERSION + 1))
        );
    }
}
