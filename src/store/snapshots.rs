//! Which snapshot readers get: never a commit that is not durable yet.
//!
//! A journaled commit is made visible in the database while its journal record is still
//! being synced, so that the database's commit overlaps the disk's write (see `log.rs`).
//! Meanwhile readers are handed the snapshot from just before that commit, held here; once
//! the record is durable the hold is released and readers see the commit. A reader can
//! therefore never act on, or answer with, a change that a crash could still take back.
//!
//! A change answered from its journal record before the database applies it (see
//! `deferred.rs`) is the other way round: readers wait until the changes answered before
//! they began are applied, so that nobody is answered without one.

use super::StoreError;
use redb::{Database, ReadTransaction, ReadableDatabase};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};

/// Where readers' snapshots come from.
#[derive(Debug)]
pub(super) struct Snapshots {
    /// The database, and how many times it was opened anew after a storage failure.
    current: RwLock<(u64, Arc<Database>)>,
    /// The snapshot readers get instead of the newest, while a commit is not durable.
    held: RwLock<Option<Arc<ReadTransaction>>>,
    /// Changes answered from the journal that the database has not applied yet.
    unapplied: Mutex<Unapplied>,
    /// Signalled when one is applied, or fails to be.
    applied: Condvar,
}

/// Changes are applied in the order they are answered (each holds the database's write lock
/// until applied), so two counts say which have been.
#[derive(Debug, Default)]
struct Unapplied {
    answered: u64,
    applied: u64,
    /// One could not be applied: reads fail until the store is opened anew.
    failed: bool,
}

impl Snapshots {
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            current: RwLock::new((0, db)),
            held: RwLock::new(None),
            unapplied: Mutex::default(),
            applied: Condvar::new(),
        }
    }

    /// The newest durable snapshot, once it holds every change answered so far.
    pub fn read(&self) -> Result<Arc<ReadTransaction>, StoreError> {
        self.wait_applied()?;
        // The lock is held while a fresh snapshot begins, so that a commit cannot become
        // visible between finding nothing held and beginning it: `hold` waits for it. Only an
        // `Arc` is ever written under the lock, so a poisoned one holds nothing half-made.
        let held = self.held.read().unwrap_or_else(PoisonError::into_inner);
        match held.as_ref() {
            Some(snapshot) => Ok(Arc::clone(snapshot)),
            None => Ok(Arc::new(self.database().1.begin_read()?)),
        }
    }

    /// The database now, and its generation (see [`Snapshots::replace`]).
    pub fn database(&self) -> (u64, Arc<Database>) {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        (current.0, Arc::clone(&current.1))
    }

    /// Puts `db`, opened anew after a storage failure, in place of the database, as
    /// `generation`: readers get it from now on, and nothing is held or waited for. Called
    /// with the log locked, when no change is being applied (a failed store takes none).
    pub fn replace(&self, generation: u64, db: Arc<Database>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = (generation, db);
        self.release();
        *self.unapplied() = Unapplied::default();
        self.applied.notify_all();
    }

    /// Waits until the database has applied every change answered so far (not those
    /// answered while it waits, so that a reader never waits for ever).
    fn wait_applied(&self) -> Result<(), StoreError> {
        let mut unapplied = self.unapplied();
        let answered = unapplied.answered;
        while unapplied.applied < answered && !unapplied.failed {
            unapplied = self
                .applied
                .wait(unapplied)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if unapplied.failed {
            return Err(StoreError::Unapplied);
        }
        Ok(())
    }

    /// A change is about to be answered before the database applies it: readers wait for
    /// [`Snapshots::applied`].
    pub fn applying(&self) {
        self.unapplied().answered += 1;
    }

    /// The database applied a change answered before; `ok` false if it could not, after
    /// which every read fails.
    pub fn applied(&self, ok: bool) {
        let mut unapplied = self.unapplied();
        unapplied.applied += 1;
        unapplied.failed |= !ok;
        self.applied.notify_all();
    }

    /// How many changes answered are not applied yet.
    #[cfg(test)]
    pub fn unapplied_count(&self) -> u64 {
        let unapplied = self.unapplied();
        unapplied.answered.saturating_sub(unapplied.applied)
    }

    // Only counts are written under the lock: a poisoned one holds nothing half-made.
    fn unapplied(&self) -> std::sync::MutexGuard<'_, Unapplied> {
        self.unapplied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands readers the database as it is now until [`Snapshots::release`]: called before a
    /// commit that is not durable yet becomes visible.
    pub fn hold(&self) -> Result<(), StoreError> {
        let snapshot = Arc::new(self.database().1.begin_read()?);
        *self.held.write().unwrap_or_else(PoisonError::into_inner) = Some(snapshot);
        Ok(())
    }

    /// Readers see the newest commit again: it is durable, or it never became visible.
    pub fn release(&self) {
        *self.held.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
#[path = "snapshots_tests.rs"]
mod tests;
