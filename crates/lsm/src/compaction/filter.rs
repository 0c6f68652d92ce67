//! Compaction filters: user code that sees each key's newest value a compaction
//! rewrites and keeps, replaces, removes or destroys it.
//!
//! A [`Factory`] set with [`crate::Config::with_compaction_filter_factory`] makes one
//! [`CompactionFilter`] per merge. The filter sees values only (tombstones never reach
//! it), and only the newest version of a key below the merge's GC watermark: versions at
//! or above it may still be read by a snapshot and pass untouched. Returning an error
//! aborts the merge (its outputs are deleted and its inputs stay).

use lsm_core::{InternalEntry, SeqNo, UserKey, UserValue, ValueType};

use crate::blobs::BlobFiles;
use crate::error::Result;

/// What a filter decides about an item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Keep the item.
    #[default]
    Keep,
    /// Replace it with a tombstone (hides older versions below the merge).
    Remove,
    /// Replace it with a weak tombstone.
    RemoveWeak,
    /// Keep it with another value.
    ReplaceValue(UserValue),
    /// Drop it with the older versions in the merge and leave no tombstone (older
    /// versions in tables outside the merge become visible again).
    Destroy,
}

/// What a filter knows about the merge it runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Context {
    /// Whether no table below the merge's output can hold older versions of its keys.
    pub is_last_level: bool,
}

/// One item a filter decides about.
pub struct ItemAccessor<'a> {
    entry: &'a InternalEntry,
    blob_files: &'a BlobFiles,
}

impl<'a> ItemAccessor<'a> {
    /// The key.
    #[must_use]
    pub fn key(&self) -> &'a UserKey {
        &self.entry.key.user_key
    }

    /// The seqno.
    #[must_use]
    pub fn seqno(&self) -> SeqNo {
        self.entry.key.seqno
    }

    /// The value (read only when asked: a separated value is read from its blob file).
    ///
    /// # Errors
    /// Blob read errors for a separated value; none for values stored inline.
    pub fn value(&self) -> Result<UserValue> {
        if self.is_indirection() {
            crate::blobs::read_value(self.blob_files, self.entry)
        } else {
            Ok(self.entry.value.clone())
        }
    }

    /// Whether the value is held in a blob file.
    #[doc(hidden)]
    #[must_use]
    pub fn is_indirection(&self) -> bool {
        self.entry.key.value_type == ValueType::Indirection
    }
}

/// Decides about the items of one merge.
pub trait CompactionFilter: Send {
    /// The verdict for `item`.
    ///
    /// # Errors
    /// Any error aborts the merge.
    fn filter_item(&mut self, item: ItemAccessor<'_>, ctx: &Context) -> Result<Verdict>;

    /// Called once the merge has consumed every item.
    fn finish(self: Box<Self>) {}
}

/// Makes a filter for each merge.
pub trait Factory: Send + Sync + std::panic::RefUnwindSafe {
    /// A name for logs.
    fn name(&self) -> &str;

    /// A filter for a merge in `ctx`.
    fn make_filter(&self, ctx: &Context) -> Box<dyn CompactionFilter>;
}

/// Runs a user filter as the merge stream's item filter.
pub(crate) struct Adapter {
    pub(crate) filter: Box<dyn CompactionFilter>,
    pub(crate) ctx: Context,
    pub(crate) blob_files: BlobFiles,
}

impl lsm_compaction::SliceFilter<crate::error::Error> for Adapter {
    fn finish(self: Box<Self>) {
        self.filter.finish();
    }
}

impl lsm_compaction::ItemFilter<crate::error::Error> for Adapter {
    fn decide(&mut self, entry: &InternalEntry) -> Result<lsm_compaction::FilterDecision> {
        use lsm_compaction::FilterDecision;
        Ok(
            match self.filter.filter_item(
                ItemAccessor {
                    entry,
                    blob_files: &self.blob_files,
                },
                &self.ctx,
            )? {
                Verdict::Keep => FilterDecision::Keep,
                Verdict::Remove => FilterDecision::Remove,
                Verdict::RemoveWeak => FilterDecision::RemoveWeak,
                Verdict::ReplaceValue(value) => FilterDecision::Replace(value),
                Verdict::Destroy => FilterDecision::Destroy,
            },
        )
    }
}
