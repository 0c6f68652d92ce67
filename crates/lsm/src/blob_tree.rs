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
