//! The committer: commits a write transaction through the journal, and knows what the journal
//! holds since the database file was last made durable.
//!
//! A journal that could not be written or synced is not trusted again until the store is
//! opened anew: after a failed `fdatasync` the kernel may have dropped the unwritten pages
//! and report the next sync as a success, so a later record could be acknowledged on top of
//! a hole that stops recovery before it. The store then takes no more changes (and the
//! server reports itself not ready); reopening it applies what the journal holds. A change
//! whose record failed to sync was refused, but the database had already committed it (see
//! [`Committer::commit`]): readers stay on the snapshot before it, and it may be in the
//! database when the folder is next opened, as it may be in the journal.

use super::backend::PendingSync;
use super::error::JournalError;
use super::journals::Journals;
use super::redo::Redo;
use super::snapshots::Snapshots;
use crate::store::StoreError;
use std::time::{Duration, Instant};

/// The journals and what they hold since the database was last durable.
#[derive(Debug)]
pub(super) struct Committer {
    journal: Journals,
    /// The `fdatasync` of the last durable commit, until it is known to have returned: the
    /// journal not written to holds records the durable database may lack meanwhile.
    pending: Option<PendingSync>,
    /// The number the next record gets.
    pub next_seq: u64,
    /// Whether the database changed since it was last made durable.
    pub dirty: bool,
    /// When the database was last made durable.
    pub synced: Instant,
    /// How long it may go without.
    pub sync_every: Duration,
    /// The journal failed to write or sync: no more changes until the store is reopened.
    failed: bool,
    /// Which opening of the database this committer commits to (see `reopen.rs`): a
    /// transaction begun on an earlier one is refused.
    pub generation: u64,
}

impl Committer {
    pub fn new(journal: Journals, next_seq: u64, sync_every: Duration, generation: u64) -> Self {
        Self {
            journal,
            pending: None,
            next_seq,
            dirty: false,
            synced: Instant::now(),
            sync_every,
            failed: false,
            generation,
        }
    }

    /// Refuses a transaction begun on an opening of the database before this committer's:
    /// the database it would commit to was replaced.
    pub fn check_generation(&self, generation: u64) -> Result<(), StoreError> {
        match generation == self.generation {
            true => Ok(()),
            false => Err(StoreError::JournalFailed),
        }
    }

    /// Whether changes can still be committed.
    pub fn writable(&self) -> bool {
        !self.failed
    }

    /// Commits `txn`, which recorded `next_seq` as its journal sequence: through the journal
    /// (its redo log synced, the database not waiting for the disk), or durably when the log
    /// cannot express it or does not fit.
    ///
    /// The database commits while the journal's record is on its way to disk; `snapshots`
    /// keeps readers on the snapshot before it until the record is durable.
    pub fn commit(
        &mut self,
        mut txn: redb::WriteTransaction,
        redo: &Redo,
        snapshots: &Snapshots,
    ) -> Result<(), StoreError> {
        let seq = self.next_seq;
        match self.to_journal(redo)? {
            Some(bytes) => {
                txn.set_durability(redb::Durability::None)?;
                snapshots.hold()?;
                if let Err(e) = self.journal.write(seq, bytes) {
                    snapshots.release();
                    return Err(self.fail(e));
                }
                // The record's sync runs while the database commits (`syncer.rs`).
                let sync = self.journal.start_sync();
                let committed = txn.commit();
                let synced = sync.and_then(|sync| Ok(sync.wait()?));
                if let Err(e) = committed {
                    snapshots.release();
                    if let Err(retracting) = self.journal.retract(bytes.len()) {
                        self.fail(retracting);
                    }
                    return Err(self.storage_failed(e.into()));
                }
                // A failed sync keeps readers on the snapshot held before the commit for
                // good: the change was refused, so nobody is shown it.
                synced.map_err(|e| self.fail(e))?;
                snapshots.release();
                self.dirty = true;
            }
            None => {
                if let Err(e) = txn.commit() {
                    return Err(self.storage_failed(e.into()));
                }
                self.synced()?;
            }
        }
        self.next_seq = seq + 1;
        Ok(())
    }

    /// What of `redo` goes into the journal: all of it, or nothing when the log cannot
    /// express the transaction or the journal cannot hold it. Refused once the journal failed.
    fn to_journal<'r>(&self, redo: &'r Redo) -> Result<Option<&'r [u8]>, StoreError> {
        if self.failed {
            return Err(StoreError::JournalFailed);
        }
        Ok(redo.bytes().filter(|bytes| self.journal.fits(bytes.len())))
    }

    /// The journal failed: says so once, and takes no more changes.
    fn fail(&mut self, error: JournalError) -> StoreError {
        self.failed = true;
        tracing::error!(
            %error,
            "the journal could not be written or made durable: the store takes no more changes \
             until it reopens the journal (`reopen.rs`); the change being committed was refused, \
             and may still be applied when the journal is next opened"
        );
        error.into()
    }

    /// The database file could not be written or made durable: says so once, and takes no
    /// more changes (redb itself refuses work after an I/O error until it is opened anew).
    pub fn storage_failed(&mut self, error: StoreError) -> StoreError {
        if !self.failed {
            tracing::error!(
                %error,
                "the database file could not be written or made durable: the store takes no more \
                 changes until it reopens the database (`reopen.rs`), which applies the journal; \
                 nothing answered is lost"
            );
        }
        self.failed = true;
        error
    }

    /// Whether no sync of the database is running any more (`wait`: waiting for one that
    /// is); a sync that failed fails the store.
    pub fn settle(&mut self, wait: bool) -> Result<bool, StoreError> {
        match self.pending.take() {
            Some(pending) if wait || pending.finished() => match pending.wait() {
                Ok(()) => Ok(true),
                Err(e) => Err(self.storage_failed(redb::StorageError::from(e).into())),
            },
            Some(running) => {
                self.pending = Some(running);
                Ok(false)
            }
            None => Ok(true),
        }
    }

    /// A durable commit just returned, its `fdatasync` being `pending`: records go to the
    /// other journal, whose own were all in the database made durable before (rule 5).
    pub fn sync_started(&mut self, pending: PendingSync) {
        self.dirty = false;
        self.journal.switch();
        self.pending = Some(pending);
        self.synced = Instant::now();
    }

    /// The database was just made durable, having waited for the disk: once a sync still
    /// running returned, both journals start again from their beginnings.
    pub fn synced(&mut self) -> Result<(), StoreError> {
        self.settle(true)?;
        self.dirty = false;
        self.journal.reset();
        self.synced = Instant::now();
        Ok(())
    }

    /// Makes every later write to the journal fail, as a full or failing disk would.
    #[cfg(test)]
    pub fn break_journal(&mut self) {
        self.journal.break_files();
    }

    /// Runs `hook` at each sync of the journal from now on; see [`Journals::on_sync`].
    #[cfg(test)]
    pub fn on_sync(&mut self, hook: super::journals::SyncHook) {
        self.journal.on_sync(hook);
    }
}
