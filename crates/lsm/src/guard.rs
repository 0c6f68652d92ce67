//! Iterator items ([`Guard`], [`IterGuardImpl`]) and point-read results
//! ([`PinnableSlice`]).
//!
//! An iterator item carries either an entry or the error that struck while reading it;
//! the error surfaces when the item is consumed (`key()`, `into_inner()`, ...), so a scan
//! never yields a wrong or missing key silently.

use lsm_core::{InternalEntry, UserKey, UserValue, ValueType};

use crate::blobs::BlobFiles;
use crate::error::Result;

/// A key and its value.
pub type KvPair = (UserKey, UserValue);

/// How an iterator item is read; every method consumes the item.
pub trait Guard: Sized {
    /// The key.
    ///
    /// # Errors
    /// The error that struck while reading this item.
    fn key(self) -> Result<UserKey>;

    /// The key and the value.
    ///
    /// # Errors
    /// As [`Self::key`].
    fn into_inner(self) -> Result<KvPair>;

    /// The value.
    ///
    /// # Errors
    /// As [`Self::key`].
    fn value(self) -> Result<UserValue> {
        self.into_inner().map(|(_, value)| value)
    }

    /// The value's length in bytes.
    ///
    /// # Errors
    /// As [`Self::key`].
    fn size(self) -> Result<u32>;

    /// The key, and the value only when `predicate` accepts the key.
    ///
    /// # Errors
    /// As [`Self::key`].
    fn into_inner_if(
        self,
        predicate: impl Fn(&UserKey) -> bool,
    ) -> Result<(UserKey, Option<UserValue>)>;
}

/// An item of a tree iterator. A value held in a blob file is read only when the item
/// is asked for it (`size` and `key` never read it).
pub struct IterGuardImpl {
    item: Result<InternalEntry>,
    /// Where a separated value is read from (set for indirections only).
    blob_files: Option<BlobFiles>,
}

impl std::fmt::Debug for IterGuardImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IterGuardImpl")
            .field("item", &self.item)
            .field("separated", &self.blob_files.is_some())
            .finish()
    }
}

impl IterGuardImpl {
    pub(crate) fn new(item: Result<InternalEntry>) -> Self {
        Self {
            item,
            blob_files: None,
        }
    }

    /// An item whose entry is an indirection into `blob_files`.
    pub(crate) fn separated(item: Result<InternalEntry>, blob_files: BlobFiles) -> Self {
        Self {
            item,
            blob_files: Some(blob_files),
        }
    }

    /// The key, without consuming the item (`None` when it holds an error).
    pub(crate) fn peek_key(&self) -> Option<UserKey> {
        self.item
            .as_ref()
            .ok()
            .map(|entry| entry.key.user_key.clone())
    }

    /// The value of `entry`, read from its blob file if it is separated.
    fn load(entry: &InternalEntry, blob_files: Option<&BlobFiles>) -> Result<UserValue> {
        match blob_files {
            Some(files) if entry.key.value_type == ValueType::Indirection => {
                crate::blobs::read_value(files, entry)
            }
            _ => Ok(entry.value.clone()),
        }
    }
}

impl Guard for IterGuardImpl {
    fn key(self) -> Result<UserKey> {
        self.item.map(|entry| entry.key.user_key)
    }

    fn into_inner(self) -> Result<KvPair> {
        let entry = self.item?;
        if entry.key.value_type == ValueType::Indirection && self.blob_files.is_some() {
            let value = Self::load(&entry, self.blob_files.as_ref())?;
            return Ok((entry.key.user_key, value));
        }
        // An inline value moves out of the entry: no reference count touched.
        Ok((entry.key.user_key, entry.value))
    }

    fn size(self) -> Result<u32> {
        let entry = self.item?;
        if entry.key.value_type == ValueType::Indirection {
            crate::blobs::value_len(&entry)
        } else {
            Ok(value_len(&entry.value))
        }
    }

    fn into_inner_if(
        self,
        predicate: impl Fn(&UserKey) -> bool,
    ) -> Result<(UserKey, Option<UserValue>)> {
        let entry = self.item?;
        let value = if predicate(&entry.key.user_key) {
            Some(Self::load(&entry, self.blob_files.as_ref())?)
        } else {
            None
        };
        Ok((entry.key.user_key, value))
    }
}

/// The length of a value (values are at most `u32::MAX` bytes, checked on write).
pub(crate) fn value_len(value: &UserValue) -> u32 {
    u32::try_from(value.len()).expect("values are at most u32::MAX bytes")
}

/// A point-read result that may share the buffer of a cached block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinnableSlice {
    /// A view into a block read from a table (no copy was made).
    Pinned {
        /// The value.
        value: UserValue,
    },
    /// A value owned by the result (from a memtable).
    Owned(UserValue),
}

impl PinnableSlice {
    /// A value read from a table block.
    #[must_use]
    pub fn pinned(value: UserValue) -> Self {
        Self::Pinned { value }
    }

    /// A value owned by the result.
    #[must_use]
    pub fn owned(value: UserValue) -> Self {
        Self::Owned(value)
    }

    /// Whether the value came from a table block.
    #[must_use]
    pub fn is_pinned(&self) -> bool {
        matches!(self, Self::Pinned { .. })
    }

    /// The bytes.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        match self {
            Self::Pinned { value } | Self::Owned(value) => value,
        }
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.value().len()
    }

    /// Whether the value is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.value().is_empty()
    }

    /// The value.
    #[must_use]
    pub fn into_value(self) -> UserValue {
        match self {
            Self::Pinned { value } | Self::Owned(value) => value,
        }
    }
}

impl AsRef<[u8]> for PinnableSlice {
    fn as_ref(&self) -> &[u8] {
        self.value()
    }
}
