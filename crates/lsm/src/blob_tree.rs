//! [`BlobTree`]: a tree that stores large values in blob files (key-value separation).
//!
//! The index tree holds every key, small values inline and a pointer (an indirection)
//! for each value at or above the separation threshold; the values themselves are
//! written once, at flush, into append-only blob files (`lsm-vlog`). Reads follow the
//! pointer; iterators read a separated value only when the item is asked for it.
//! Compactions move pointers, not values, and collect blob garbage on the way (see
//! [`crate::KvSeparationOptions`] and `docs/format/blob-file.md`).

use crate::Tree;
use crate::abstract_tree::sealed::Sealed;

/// A key-value separated tree; cheap to clone (clones share the tree).
#[derive(Clone, Debug)]
pub struct BlobTree {
    /// The index tree (keys, small values and pointers to the blob files).
    #[doc(hidden)]
    pub index: Tree,
}

impl Sealed for BlobTree {}

impl BlobTree {
    /// [`Tree::scan_since_seqno`]: separated values are read from their blob files.
    ///
    /// # Errors
    /// As [`Tree::scan_since_seqno`].
    pub fn scan_since_seqno(
        &self,
        target_seqno: crate::SeqNo,
    ) -> crate::Result<impl Iterator<Item = crate::ScanSinceEvent> + use<>> {
        self.index.scan_since_seqno(target_seqno)
    }

    /// [`Tree::scan_since_seqno_full_scan`].
    ///
    /// # Errors
    /// As [`Tree::scan_since_seqno`].
    pub fn scan_since_seqno_full_scan(
        &self,
        target_seqno: crate::SeqNo,
    ) -> crate::Result<impl Iterator<Item = crate::ScanSinceEvent> + use<>> {
        self.index.scan_since_seqno_full_scan(target_seqno)
    }

    /// [`Tree::oldest_exact_seqno`].
    #[must_use]
    pub fn oldest_exact_seqno(&self) -> crate::SeqNo {
        self.index.oldest_exact_seqno()
    }
}
