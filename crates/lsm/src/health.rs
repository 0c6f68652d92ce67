//! [`Health`]: whether a tree can still change its files, and whether it is closing.
//!
//! After a failed manifest write or sync nothing is known about the durable state, so
//! the tree is poisoned: every version change and `try_*` write returns
//! [`Error::Unrecoverable`] until it is reopened. Closing (the last handle dropped) stops
//! running merges with [`Error::Closed`].

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// See the module docs.
#[derive(Default)]
pub(crate) struct Health {
    poisoned: AtomicBool,
    closing: AtomicBool,
}

impl Health {
    /// Whether the tree is poisoned.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// [`Error::Unrecoverable`] when the tree is poisoned.
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_poisoned() {
            Err(Error::Unrecoverable)
        } else {
            Ok(())
        }
    }

    /// Poisons the tree (a manifest write failed).
    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }

    /// Whether the tree is closing.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Marks the tree as closing.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::Release);
    }
}
