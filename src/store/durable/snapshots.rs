//! Which snapshot readers get: never a commit that is not durable yet.
//!
//! A journaled commit is made visible in the database while its journal record is still
//! being synced, so that the database's commit overlaps the disk's write (see `committer.rs`).
//! Meanwhile readers are handed the snapshot from just before that commit, held here; once
//! the record is durable the hold is released and readers see the commit. A reader can
//! therefore never act on, or answer with, a change that a crash could still take back.

use crate::store::StoreError;
use redb::{Database, ReadTransaction, ReadableDatabase};
use std::sync::{Arc, PoisonError, RwLock};

/// Where readers' snapshots come from.
#[derive(Debug)]
pub(super) struct Snapshots {
    /// The database, and how many times it was opened anew after a storage failure.
    current: RwLock<(u64, Arc<Database>)>,
    /// The snapshot readers get instead of the newest, while a commit is not durable.
    held: RwLock<Option<Arc<ReadTransaction>>>,
}

impl Snapshots {
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            current: RwLock::new((0, db)),
            held: RwLock::new(None),
        }
    }

    /// The newest durable snapshot.
    pub fn read(&self) -> Result<Arc<ReadTransaction>, StoreError> {
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
    /// `generation`: readers get it from now on, and nothing is held. Called with the log
    /// locked.
    pub fn replace(&self, generation: u64, db: Arc<Database>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = (generation, db);
        self.release();
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
