//! Version changes that remove data: [`TreeInner::clear`] and
//! [`TreeInner::drop_range`].
//!
//! Both are version edits like any other (durable before they count, serialised with
//! flushes by the flush lock). Each takes one seqno `s` from the tree's counter: reads at
//! or below `s` see the state before the change, reads above it the state after. Both
//! record the super-version they replace in the version history under the mark `s + 1`,
//! so that reads below the mark keep their answers until a GC watermark passes it (see
//! `super_version`). Removed tables are marked obsolete and their files go once no
//! super-version holds them.

use std::collections::BTreeSet;
use std::sync::Arc;

use lsm_version::VersionEdit;

use crate::Result;
use crate::read::{OwnedBounds, contains};
use crate::tree::TreeInner;

impl TreeInner {
    /// Removes every memtable and table.
    ///
    /// # Errors
    /// [`crate::Error::Unrecoverable`] on a poisoned tree; manifest errors (which poison it).
    pub(crate) fn clear(&self) -> Result<()> {
        self.clear_through(None)
    }

    /// [`Self::clear`]; with `persisted`, the manifest also records that every write
    /// below that seqno is accounted for (an edit is written even with no table to
    /// remove), so that a log replayed after a crash skips what the clear removed.
    ///
    /// # Errors
    /// As [`Self::clear`].
    pub(crate) fn clear_through(&self, persisted: Option<lsm_core::SeqNo>) -> Result<()> {
        let lock = self.flush_lock();
        self.health.check()?;
        let current = self.super_version();
        let removed: Vec<_> = current.version.tables().map(|meta| meta.id).collect();
        let (version, marker) = if removed.is_empty() && persisted.is_none() {
            (Arc::clone(&current.version), None)
        } else {
            let marker = if removed.is_empty() {
                None
            } else {
                Some(self.write_drop_marker(&removed)?)
            };
            let mut edit = self.removal_edit(removed.clone(), &current.version);
            if let Some(seqno) = persisted {
                edit.last_seqno = edit.last_seqno.max(seqno);
            }
            (self.apply_edit(&edit)?, marker)
        };
        let mark = self.take_mark();
        let fresh = Arc::new(self.new_memtable(self.ids.memtable()));
        self.install_without_writes(|current| {
            let mut next = current.with_history_entry(mark);
            next.active = fresh;
            next.sealed = Vec::new();
            next.set_version(version, Vec::new());
            next.set_tables(std::collections::BTreeMap::new());
            next
        });
        if let Some(marker) = marker {
            self.mark_dropped(&current, &removed, &marker);
        }
        drop(lock);
        tracing::info!(tables = removed.len(), "tree cleared");
        Ok(())
    }

    /// Removes the tables whose keys all lie within `bounds` (memtables are untouched).
    ///
    /// # Errors
    /// As [`Self::clear`].
    pub(crate) fn drop_range(&self, bounds: &OwnedBounds) -> Result<()> {
        let lock = self.flush_lock();
        self.health.check()?;
        let current = self.super_version();
        let order = current.version.order();
        let removed: Vec<_> = current
            .version
            .tables()
            .filter(|meta| {
                contains(order, bounds, meta.key_range.min())
                    && contains(order, bounds, meta.key_range.max())
            })
            .map(|meta| meta.id)
            .collect();
        if removed.is_empty() {
            return Ok(());
        }
        let marker = self.write_drop_marker(&removed)?;
        let version = self.apply_edit(&self.removal_edit(removed.clone(), &current.version))?;
        let mark = self.take_mark();
        let removed_set: BTreeSet<_> = removed.iter().copied().collect();
        self.install(|current| {
            let mut next = current.with_history_entry(mark);
            next.set_version(version, Vec::new());
            next.swap_tables(&removed_set, []);
            next
        });
        self.mark_dropped(&current, &removed, &marker);
        drop(lock);
        tracing::info!(tables = removed.len(), "range dropped");
        Ok(())
    }

    /// Takes a seqno for a destructive change: reads at or below it see the state
    /// before the change, reads above it the state after. Published as visible, so that
    /// a read at the visible seqno sees the change.
    pub(crate) fn take_mark(&self) -> lsm_core::SeqNo {
        let mark = self.config.seqno.next() + 1;
        self.config.visible_seqno.fetch_max(mark);
        mark
    }

    fn removal_edit(
        &self,
        removed: Vec<lsm_core::TableId>,
        version: &lsm_version::Version,
    ) -> VersionEdit {
        VersionEdit {
            removed,
            next_table_id: self.ids.next_table(),
            last_seqno: version.last_seqno(),
            ..VersionEdit::default()
        }
    }

    /// Marks the dropped tables obsolete; each keeps `marker` until its file is gone.
    pub(crate) fn mark_dropped(
        &self,
        old: &crate::super_version::SuperVersion,
        removed: &[lsm_core::TableId],
        marker: &Arc<crate::live_table::DropMarker>,
    ) {
        for id in removed {
            let table = old.table(*id);
            table.set_drop_marker(marker);
            table.mark_obsolete(&self.pending_deletions);
        }
    }
}

impl TreeInner {
    /// Writes (whole, and durably) a drop marker naming `ids`, before the edit that
    /// drops them: a manifest rebuilt from the files on disk leaves the tables out even
    /// when their files outlive the edit (readers still hold them). The marker also
    /// names the tables removed earlier whose files are not deleted yet, and lasts
    /// until they are: the dropped tables may be the only ones that name them as
    /// obsolete, and once those are deleted, a rebuilt manifest would take them back.
    ///
    /// # Errors
    /// [`crate::Error::Io`] when the marker cannot be written.
    pub(crate) fn write_drop_marker(
        &self,
        ids: &[lsm_core::TableId],
    ) -> Result<Arc<crate::live_table::DropMarker>> {
        let dir = self.config.path.join(crate::layout::TABLES_DIR);
        let (name, temp) = crate::layout::drop_marker_names(self.ids.table());
        let pending = self.pending_deletions.ids();
        let mut named = ids.to_vec();
        named.extend_from_slice(&pending);
        named.sort_unstable();
        named.dedup();
        let bytes = crate::layout::encode_drop_marker(&named);
        lsm_core::fs::replace_durably(self.config.fs.as_ref(), &dir, &name, &temp, &bytes)
            .map_err(|step| crate::Error::io(step.op, &step.path, step.source))?;
        let marker = Arc::new(crate::live_table::DropMarker::new(
            dir.join(name),
            Arc::clone(&self.config.fs),
        ));
        self.pending_deletions.hold_marker(&pending, &marker);
        Ok(marker)
    }
}
