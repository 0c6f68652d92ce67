//! [`Published`]: a value readers load without waiting, replaced whole by installs that
//! take one lock, with a gate that writes hold shared and a few changes hold alone.
//!
//! The tree keeps its super-version here. Readers load the current one and keep it as
//! long as they read. A flush, a compaction or a rotation installs a new one made from
//! the current: installs take one lock, so none is lost to another made at the same
//! time. Writes land in the current active memtable while holding the write gate
//! shared; a rotation (and the few other changes that must see no write in flight)
//! holds it alone, so no write lands in a memtable after it was sealed. The loom models
//! below check both rules on this type (`docs/reliability.md`, goal G9).

use std::sync::{Arc, PoisonError};

use crate::sync::{ArcCell, Mutex, RwLock, RwLockWriteGuard};

/// See the module docs.
pub(crate) struct Published<T> {
    current: ArcCell<T>,
    install_lock: Mutex<()>,
    write_gate: RwLock<()>,
}

impl<T> Published<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            current: ArcCell::from_pointee(value),
            install_lock: Mutex::new(()),
            write_gate: RwLock::new(()),
        }
    }

    /// The current value.
    pub(crate) fn load(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// `look` applied to the current value, without taking a reference count.
    pub(crate) fn peek<R>(&self, look: impl FnOnce(&T) -> R) -> R {
        self.current.peek(look)
    }

    /// Replaces the current value with `change` applied to it; installs are serialised.
    pub(crate) fn install(&self, change: impl FnOnce(&T) -> T) {
        let _install = self
            .install_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load_full();
        self.current.store(Arc::new(change(&current)));
    }

    /// Runs `write` on the current value with the write gate held shared.
    pub(crate) fn write<R>(&self, write: impl FnOnce(&T) -> R) -> R {
        let _gate = self
            .write_gate
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        self.current.peek(write)
    }

    /// The write gate held alone: no write is in flight until the guard drops.
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.write_gate
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The loom models of the installs and the write gate (`--cfg loom`).
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::atomic::{AtomicU64, Ordering};
    use loom::thread;

    use super::*;

    /// Two installs made at once (a flush's and a merge's): both changes are in the
    /// value that results, and a reader sees one of the values in between.
    #[test]
    fn no_install_is_lost() {
        crate::sync::loom_model("loom: super-version installs", || {
            let published = Arc::new(Published::new(0_u64));
            let installers: Vec<_> = [1_u64, 10]
                .into_iter()
                .map(|step| {
                    let published = Arc::clone(&published);
                    thread::spawn(move || published.install(|value| value + step))
                })
                .collect();
            let seen = *published.load();
            assert!([0, 1, 10, 11].contains(&seen), "{seen}");
            for installer in installers {
                installer.join().unwrap();
            }
            assert_eq!(*published.load(), 11);
        });
    }

    /// A memtable stand-in: writes counted, and the count when it was sealed.
    struct Memtables {
        active: Arc<AtomicU64>,
        sealed: Option<(Arc<AtomicU64>, u64)>,
    }

    /// Two writes and a rotation at once: no write lands in the memtable after it was
    /// sealed, and none is lost.
    #[test]
    fn no_write_lands_in_a_sealed_memtable() {
        crate::sync::loom_model("loom: the write gate and a rotation", || {
            let published = Arc::new(Published::new(Memtables {
                active: Arc::new(AtomicU64::new(0)),
                sealed: None,
            }));
            let writer = {
                let published = Arc::clone(&published);
                thread::spawn(move || {
                    for _ in 0..2 {
                        published.write(|memtables| {
                            memtables.active.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                })
            };
            let rotator = {
                let published = Arc::clone(&published);
                thread::spawn(move || {
                    let _gate = published.exclusive();
                    published.install(|memtables| Memtables {
                        active: Arc::new(AtomicU64::new(0)),
                        sealed: Some((
                            Arc::clone(&memtables.active),
                            memtables.active.load(Ordering::SeqCst),
                        )),
                    });
                })
            };
            writer.join().unwrap();
            rotator.join().unwrap();
            let memtables = published.load();
            let (sealed, at_sealing) = memtables.sealed.as_ref().unwrap();
            let sealed = sealed.load(Ordering::SeqCst);
            assert_eq!(sealed, *at_sealing, "a write landed after the seal");
            assert_eq!(sealed + memtables.active.load(Ordering::SeqCst), 2);
        });
    }
}
