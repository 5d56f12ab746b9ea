//! Durability: how a change survives a crash or a power loss, in one place.
//!
//! - [`journal.rs`](journal) — a journal file: numbered, checksummed **records**, appended
//!   and synced; read back at open.
//! - [`journals.rs`](journals) — the **pair** of journal files: records go to one while the
//!   database's sync runs in the background, then to the other; each started again once
//!   the database holding its records is on disk.
//! - [`growth.rs`](growth) — **growing** a journal file with synced zeroes: inline when a
//!   record does not fit, and ahead of need for the pair's idle file on a thread of its own.
//! - [`redo.rs`](redo) — what a record holds: the **redo log** of one transaction, every
//!   insert and remove by table with raw key and value.
//! - [`committer.rs`](committer) — the **committer**: commits a transaction through the
//!   journal (or durably when the journal cannot hold it), and knows what the journal holds
//!   since the database was last durable.
//! - [`syncer.rs`](syncer) — the **syncer**: a record's `fdatasync` on a thread of its own
//!   while its transaction commits to the database.
//! - [`snapshots.rs`](snapshots) — the **snapshot gate**: readers never see a commit whose
//!   record is not durable yet.
//! - [`recovery.rs`](recovery), [`reopen.rs`](reopen) — applying the records the database
//!   lacks, at open and when the store reopens itself after a storage failure.
//! - [`background.rs`](background) — file work on a thread of its own, or **owed** until
//!   waited for: the database's periodic sync, a journal file grown ahead.
//! - [`file.rs`](file), [`backend.rs`](backend) — the journal's file and the database's
//!   storage behind small traits ([`Disk`]), so tests can simulate a disk that loses power.
//!
//! The batching **writer** that queues changes and answers their callers is the service's
//! (`service/writer.rs`); every change it commits goes through [`Durable::committing`].
//!
//! # Rules
//!
//! 1. **Lock order**: redb's write lock (a write transaction), then the committer's mutex.
//!    Every commit and every database sync takes them in that order; nothing takes the
//!    committer's mutex and then begins a write transaction.
//! 2. **One record in flight**: a record is written, its transaction committed and the record
//!    synced (the sync overlapping the commit, `syncer.rs`) while the committer's mutex is
//!    held, so records reach the file one at a time and in sequence order. Sequence numbers
//!    only grow (a reset keeps counting), so a stale record left behind the write position by
//!    an earlier pass can never continue the chain of new ones: reading stops at the first
//!    record that is not the next number.
//! 3. **The sequence in the same transaction**: each transaction writes its record's number
//!    into the database (`JOURNAL_SEQ`) before it commits, so the database always says which
//!    records it holds, and recovery applies exactly the ones after.
//! 4. **Answered only once durable**: a change is answered, and readers see it, only after its
//!    record's `fdatasync` returned (or its durable commit did); a failed sync refuses it and
//!    stops the store taking changes until it reopens.
//! 5. **Reset only after a durable database commit is on disk**: a journal file starts again
//!    from its beginning only once a durable commit after its last record has returned from
//!    its `fdatasync`, so every record overwritten is in the durable database. The periodic
//!    durable commit writes its pages under the write lock but syncs them on another thread
//!    ([`backend.rs`](backend)); meanwhile records go to the other file, and the next
//!    durable commit waits for that sync. A power loss before it returned opens the
//!    database at the durable commit before, which redb keeps intact until the next one
//!    (it frees the pages a durable commit replaced only at the durable commit after), and
//!    applies both files' records. Opening the folder syncs the database before writing a
//!    journal again.
//! 6. **A failed commit takes its record back**: when redb's commit fails after the record was
//!    written, the record's header is zeroed and synced before anyone is answered, so a crash
//!    does not apply a change its caller was told failed.

mod backend;
mod background;
mod committer;
mod error;
mod file;
mod growth;
mod journal;
mod journals;
mod recovery;
mod redo;
mod reopen;
mod snapshots;
mod syncer;

pub use backend::StorageFaults;
pub use error::JournalError;
pub use file::{DatabaseStorage, Disk, JournalFile, OsDisk};
pub(super) use redo::{Op, Redo, ops};

#[cfg(test)]
mod power_loss;

use super::audit::Sealing;
use super::{StoreError, StoreOptions};
use committer::Committer;
use redb::{ReadTransaction, WriteTransaction};
use reopen::Reopening;
use snapshots::Snapshots;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// The journal's size. A transaction whose record does not fit after those since the last
/// sync commits durably itself (a sync); one larger than the whole journal too.
const JOURNAL_BYTES: u64 = 256 * 1024 * 1024;

/// The database, its journal, and where readers' snapshots come from.
#[derive(Debug)]
pub(super) struct Durable {
    /// Where commits become durable. Locked only while holding redb's write lock.
    committer: Mutex<Committer>,
    /// Where readers' snapshots come from: only ever durable commits; holds the database.
    snapshots: Snapshots,
    /// How the database is opened anew after a storage failure (`reopen.rs`).
    reopening: Reopening,
    /// Shown each state committed, with its journal sequence (tests).
    #[cfg(test)]
    on_commit: Mutex<Option<CommitHook>>,
}

/// What a test runs after each commit, with the commit's journal sequence and a snapshot of
/// the database just after it.
#[cfg(test)]
pub(super) struct CommitHook(pub Box<dyn FnMut(u64, ReadTransaction) + Send>);

#[cfg(test)]
impl std::fmt::Debug for CommitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitHook")
    }
}

/// A write transaction about to commit, holding the committer (rule 1: after redb's lock).
pub(super) struct Committing<'a> {
    committer: MutexGuard<'a, Committer>,
    durable: &'a Durable,
}

impl Committing<'_> {
    /// The journal sequence the transaction must record (rule 3).
    pub fn seq(&self) -> u64 {
        self.committer.next_seq
    }

    /// Commits `txn`, whose changes are `redo`; durable when this returns `Ok`.
    pub fn commit(mut self, txn: WriteTransaction, redo: &Redo) -> Result<(), StoreError> {
        let seq = self.seq();
        self.committer.commit(txn, redo, &self.durable.snapshots)?;
        #[cfg(test)]
        self.durable.committed(seq);
        #[cfg(not(test))]
        let _ = seq;
        Ok(())
    }
}

/// What [`Durable::reopen_if_failed`] found or did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Health {
    /// The store takes changes, as it did.
    Writable,
    /// The store had failed and was opened anew: it takes changes again.
    Reopened,
    /// The store takes no changes (reopening failed, or is not due yet).
    Down,
}

impl Durable {
    /// Opens (creating if needed) the database and journal in `data_dir`, and applies the
    /// journal's records the database lacks.
    pub fn open(
        data_dir: &Path,
        options: &StoreOptions,
        sealing: &Arc<Sealing>,
    ) -> Result<Self, StoreError> {
        let opened = reopen::open_database(data_dir, options, sealing)?;
        let committer = Committer::new(opened.journal, opened.next_seq, options.sync_every, 0);
        Ok(Self {
            snapshots: Snapshots::new(Arc::new(opened.db)),
            committer: Mutex::new(committer),
            reopening: Reopening::new(data_dir, options.clone(), Arc::clone(sealing), opened.file),
            #[cfg(test)]
            on_commit: Mutex::default(),
        })
    }

    /// A snapshot of everything committed and durable so far.
    pub fn read(&self) -> Result<Arc<ReadTransaction>, StoreError> {
        self.snapshots.read()
    }

    /// Begins a write transaction on the database now, with its generation.
    pub fn begin(&self) -> Result<(u64, WriteTransaction), StoreError> {
        let (generation, db) = self.snapshots.database();
        match db.begin_write() {
            Ok(txn) => Ok((generation, txn)),
            Err(error) => Err(self.failed_on(generation, error.into())),
        }
    }

    /// Drops `txn`, begun on `generation`, uncommitted: its change failed. A failure to
    /// write the database file while it ran (a full disk as the file grew) fails the store.
    pub fn abort(&self, generation: u64, txn: WriteTransaction) {
        if let Err(error) = txn.abort() {
            self.failed_on(generation, error.into());
        }
    }

    /// `error` came from the database opened as `generation`. After an I/O failure redb
    /// refuses every later write until it is opened anew, wherever the failure arose (a
    /// commit, a page written back or the file grown while a change was applied), so the
    /// store fails, and reopens once it can (`reopen.rs`). An error from a database
    /// already replaced changes nothing.
    fn failed_on(&self, generation: u64, error: StoreError) -> StoreError {
        if !error.is_storage_failure() {
            return error;
        }
        match self.lock() {
            Ok(mut committer) if committer.generation == generation => {
                committer.storage_failed(error)
            }
            _ => error,
        }
    }

    /// The committer, for a transaction begun on `generation`; refused if the database was
    /// opened anew since.
    pub fn committing(&self, generation: u64) -> Result<Committing<'_>, StoreError> {
        let committer = self.lock()?;
        committer.check_generation(generation)?;
        Ok(Committing {
            committer,
            durable: self,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Committer>, StoreError> {
        self.committer
            .lock()
            .map_err(|_| StoreError::JournalPoisoned)
    }

    /// Makes the database file durable if it changed since it last was, and that is longer
    /// ago than `sync_every`; records then go to the other journal file (rule 5).
    pub fn sync_if_due(&self) -> Result<(), StoreError> {
        self.sync_when(false, |c| c.synced.elapsed() >= c.sync_every)
    }

    /// Makes the database file durable now, if it changed since it last was, waiting first
    /// for the sync before to return; this one's `fdatasync` may still run when this returns.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.sync_when(true, |_| true)
    }

    /// The durable commit is written under the write lock, but its `fdatasync` runs after,
    /// without it (`backend.rs`), while records go to the other journal (`journals.rs`).
    /// Not before the previous sync returned: the other journal holds what it made durable
    /// (`wait`: waits for it; otherwise the sync is left for the next call).
    fn sync_when(&self, wait: bool, due: impl Fn(&Committer) -> bool) -> Result<(), StoreError> {
        let wanted = |c: &Committer| c.dirty && due(c);
        // The writer asks after every batch: most times the answer is no, and costs no
        // write transaction.
        if !wanted(&*self.lock()?) {
            return Ok(());
        }
        let (generation, txn) = self.begin()?;
        let mut committer = self.lock()?;
        committer.check_generation(generation)?;
        // A store that takes no changes may lack a change the journal holds: making the
        // database durable and resetting the journal would lose it.
        if !committer.writable() {
            return Err(StoreError::JournalFailed);
        }
        if !wanted(&committer) || !committer.settle(wait)? {
            return Ok(());
        }
        let file = self.reopening.file();
        if let Err(error) = file.commit_unsynced(|| txn.commit()) {
            return Err(committer.storage_failed(error.into()));
        }
        committer.sync_started(file.start_sync());
        Ok(())
    }

    /// Whether changes can be committed: false once the journal or the database failed to
    /// write or sync, until the store is opened anew.
    pub fn writable(&self) -> bool {
        self.lock().is_ok_and(|c| c.writable())
    }

    /// Runs `hook` after every commit from now on, and after the store reopens.
    #[cfg(test)]
    pub fn on_commit(&self, hook: CommitHook) {
        *self
            .on_commit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hook);
    }

    /// Shows the hook the state committed as `seq`.
    #[cfg(test)]
    fn committed(&self, seq: u64) {
        let mut hook = self
            .on_commit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let (Some(hook), Ok(txn)) = (hook.as_mut(), self.newest()) {
            (hook.0)(seq, txn);
        }
    }

    /// A snapshot of the database's newest commit, durable or not.
    #[cfg(test)]
    pub fn newest(&self) -> Result<ReadTransaction, StoreError> {
        use redb::ReadableDatabase;
        Ok(self.snapshots.database().1.begin_read()?)
    }

    /// Makes every later write to the journal fail, as a full or failing disk would.
    #[cfg(test)]
    pub fn break_journal(&self) {
        if let Ok(mut committer) = self.lock() {
            committer.break_journal();
        }
    }

    /// Runs `hook` at each sync of the journal from now on, before it.
    #[cfg(test)]
    pub fn on_journal_sync(&self, hook: impl FnMut() -> std::io::Result<()> + Send + 'static) {
        if let Ok(mut committer) = self.lock() {
            committer.on_sync(journals::SyncHook(Box::new(hook)));
        }
    }
}
