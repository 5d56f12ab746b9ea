//! Answering a change once its journal record is durable, and applying it to the database
//! after the answer.
//!
//! [`Store::write_deferred`] runs a change in a write transaction whose writes are only
//! recorded (a table's are made when the change reads that table again), journals the
//! record and syncs it, and returns an [`Applying`] that holds the transaction: the change
//! is durable and can be answered. [`Applying::finish`] then makes the writes and commits,
//! off the answer's path. Until it has, the transaction holds redb's write lock, so every
//! later change begins after it; and readers wait for it (`snapshots.rs`), so nobody is
//! answered without a change answered before. A crash in between loses nothing: opening the
//! folder applies the journal's records the database lacks.

use super::handle::Deferred;
use super::redo::Redo;
use super::{Store, StoreError, WriteView};
use std::sync::Arc;

/// A change answered from the journal, not yet applied to the database: apply it with
/// [`Applying::finish`] (dropping it applies it too).
pub struct Applying {
    /// The transaction, until it is committed.
    txn: Option<redb::WriteTransaction>,
    redo: Redo,
    deferred: Deferred,
    touched_directory: bool,
    store: Store,
}

impl std::fmt::Debug for Applying {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applying")
            .field("pending", &self.txn.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Like [`Store::write`], but returns once the change is durable in the journal, before
    /// the database applies it: the returned [`Applying`] does that. A change the journal
    /// cannot hold (too large, or not expressible) is applied and committed durably before
    /// this returns, as [`Store::write`] does.
    pub fn write_deferred<T, E>(
        &self,
        f: impl FnOnce(&mut WriteView<'_>) -> Result<T, E>,
    ) -> Result<(T, Applying), E>
    where
        E: From<StoreError>,
    {
        let (generation, mut txn) = self.begin_write()?;
        let mut view = WriteView::new(&txn, Arc::clone(&self.sealing)).deferring();
        let value = f(&mut view)?;
        let mut log = self.log.lock().map_err(|_| StoreError::JournalPoisoned)?;
        log.check_generation(generation)?;
        view.set_journal_seq(log.next_seq)?;
        let (touched_directory, redo, deferred) = view.finish();
        let mut applying = Applying {
            txn: None,
            redo,
            deferred,
            touched_directory,
            store: self.clone(),
        };
        if log.record(&applying.redo)? {
            // The journal holds it; a commit that cannot go through the journal stays durable.
            txn.set_durability(redb::Durability::None)
                .map_err(StoreError::from)?;
            self.snapshots.applying();
            applying.txn = Some(txn);
            return Ok((value, applying));
        }
        make_pending(&txn, &applying)?;
        log.commit(txn, &applying.redo, &self.snapshots)?;
        self.committed(touched_directory);
        Ok((value, applying))
    }
}

/// Makes the writes of `applying` not made yet in `txn`.
fn make_pending(txn: &redb::WriteTransaction, applying: &Applying) -> Result<(), StoreError> {
    let view = WriteView::new(txn, Arc::clone(&applying.store.sealing)).unrecorded();
    view.make_deferred(&applying.redo, &applying.deferred)
}

impl Applying {
    /// Applies the change to the database and commits it (not durably: the journal holds
    /// it). On failure the store takes no more changes and fails every read until it is
    /// opened anew, which applies the change from the journal.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.apply()
    }

    /// Whether anything is left to apply: not for a change committed before its answer.
    pub fn pending(&self) -> bool {
        self.txn.is_some()
    }

    fn apply(&mut self) -> Result<(), StoreError> {
        let Some(txn) = self.txn.take() else {
            return Ok(());
        };
        let store = self.store.clone();
        // The log is locked before the transaction can end, and the failure marked before the
        // lock is released: a writer waiting for redb's lock takes the log's next, so it
        // cannot commit the next journal sequence on a database that lacks this change.
        let mut log = store.log.lock().map_err(|_| StoreError::JournalPoisoned)?;
        let applied = make_pending(&txn, self).and_then(|()| Ok(txn.commit()?));
        if applied.is_err() {
            log.stop_taking_changes();
        }
        drop(log);
        match applied {
            Ok(()) => {
                store.committed(self.touched_directory);
                store.snapshots.applied(true);
                Ok(())
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    "a change made durable in the journal could not be applied to the database: \
                     the store takes no more changes and reads fail until the store reopens, \
                     which applies it"
                );
                store.snapshots.applied(false);
                Err(error)
            }
        }
    }
}

#[cfg(test)]
impl Applying {
    /// Drops the transaction unapplied, as a crash after the answer would.
    pub(crate) fn abandon(mut self) {
        if self.txn.take().is_some() {
            self.store.snapshots.applied(true);
        }
    }
}

impl Drop for Applying {
    /// An `Applying` never finished is applied here, so that readers never wait for it in
    /// vain.
    fn drop(&mut self) {
        // The error was logged where it happened.
        let _ = self.apply();
    }
}

#[cfg(test)]
#[path = "deferred_tests.rs"]
mod tests;
