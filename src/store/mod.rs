//! The store: the only module that knows redb.
//!
//! [`Store::read`] gives a snapshot; [`Store::write`] runs a closure in one write transaction
//! that commits durably, or not at all, when the closure returns.

mod audit;
mod backup;
mod codec;
mod connected;
mod decisions;
mod durable;
mod error;
#[cfg(test)]
pub(crate) mod fixtures;
mod handle;
mod insights;
mod jira;
mod layout;
mod lifecycle;
mod queries;
mod retention;
mod tables;
mod writes;

pub use audit::{AuditQueries, CheckpointPolicy, NewAuditEntry};
pub use backup::{BackupCopy, Holdings};
pub use connected::ConnectedQueries;
pub use decisions::{DecisionQueries, DecisionWindow, GrantWindowQueries};
pub use durable::{DatabaseStorage, Disk, JournalError, JournalFile, OsDisk, StorageFaults};
pub use error::StoreError;
pub use insights::InsightQueries;
pub use jira::JiraQueries;
pub use lifecycle::{GrantFilter, LifecycleQueries, TimeKey};
pub use queries::{Queries, RequestFilter};
pub use retention::Pruned;
pub use writes::WriteView;

use crate::evidence::{MacKey, PublicKey, Signer};
use audit::Sealing;
use durable::{Durable, Health};
use redb::ReadTransaction;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// redb's page cache by default. redb's own default (1 GiB) lets a busy server's memory
/// grow with the file; 64 MiB holds the pages decisions read (directory, catalog, open-grant
/// indexes) for tens of thousands of users, and measured as fast as 128 MiB under load.
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// When audit checkpoints are signed.
    pub checkpoints: CheckpointPolicy,
    /// How long the database file may go without being made durable while changes arrive
    /// (see [`Store::sync_if_due`]); the journal keeps the changes meanwhile.
    pub sync_every: Duration,
    /// The most memory redb's page cache may hold.
    pub cache_bytes: usize,
    /// Faults to inject into the database file's writes and syncs (tests only; `None`
    /// opens the file as it is).
    pub faults: Option<Arc<StorageFaults>>,
    /// After a storage failure, how often the store tries to reopen its database.
    pub recover_every: Duration,
    /// Where the journal and the database file are opened: the operating system's files,
    /// or a simulated disk in tests.
    pub disk: Arc<dyn Disk>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            checkpoints: CheckpointPolicy::default(),
            sync_every: Duration::from_millis(100),
            cache_bytes: CACHE_BYTES,
            faults: None,
            recover_every: Duration::from_secs(1),
            disk: Arc::new(OsDisk),
        }
    }
}

/// The embedded database; clones share it.
///
/// Every commit is durable when [`Store::write`] returns: its changes are appended to the
/// journal and synced, and the database commits without waiting for the disk, while the
/// journal's record is being written; until it is durable, readers get the snapshot before
/// the commit, so nothing is seen that a crash could take back. The writer makes the
/// database itself durable now and then ([`Store::sync_if_due`]), after which the journal
/// starts again; opening a store applies the journal's records the database lacks. How, and
/// the rules that make it so, are in `durable/`.
#[derive(Debug, Clone)]
pub struct Store {
    /// Bumped after every commit that changed users, groups or tools, so that caches of
    /// directory and catalog facts know when they are stale.
    directory_generation: Arc<AtomicU64>,
    /// Seals every audit entry and signs checkpoints; the keys are kept in files next to the
    /// database, never inside it.
    sealing: Arc<Sealing>,
    /// The database and its journal.
    durable: Arc<Durable>,
    /// Seals credentials before they are stored; kept in a file next to the database.
    secrets: Arc<crate::secrets::SecretsKey>,
    /// The data folder: the database, its journal and the key files.
    data_dir: Arc<Path>,
}

/// A consistent snapshot for reading.
pub struct ReadView {
    txn: Arc<ReadTransaction>,
    directory_generation: u64,
}

impl ReadView {
    /// The directory generation when this snapshot began: anything cached under it is at
    /// least as new as the snapshot's users, groups and tools.
    pub fn directory_generation(&self) -> u64 {
        self.directory_generation
    }
}

impl Store {
    /// The database file inside a data folder.
    pub const FILE: &'static str = "clearance.redb";
    /// The journal file inside a data folder.
    pub const JOURNAL_FILE: &'static str = "clearance.journal";
    /// The journal written while the database's sync after the first one runs, and after.
    pub const SECOND_JOURNAL_FILE: &'static str = "clearance.journal.2";

    /// Opens (creating if needed) the database in `data_dir`, and every table, with the
    /// default options.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, StoreOptions::default())
    }

    /// Opens (creating if needed) the database in `data_dir`, its key files, and every table.
    pub fn open_with(data_dir: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Folder {
            path: data_dir.display().to_string(),
            source,
        })?;
        let key = MacKey::load_or_create(&data_dir.join(crate::evidence::KEY_FILE))?;
        let signer = Signer::load_or_create(&data_dir.join(crate::evidence::SIGNING_KEY_FILE))?;
        let sealing = Arc::new(Sealing {
            key,
            signer,
            policy: options.checkpoints,
        });
        let secrets = Arc::new(crate::secrets::SecretsKey::load_or_create(data_dir)?);
        let durable = Durable::open(data_dir, &options, &sealing)?;
        Ok(Self {
            durable: Arc::new(durable),
            directory_generation: Arc::default(),
            sealing,
            secrets,
            data_dir: data_dir.into(),
        })
    }

    /// Makes the database file durable if it has changed since it last was and that is
    /// longer ago than the store's `sync_every`, so that a journal file can start again from
    /// its beginning. Writes every page changed since, holding up writers (the longer the
    /// interval, the fewer and the longer the pauses); their `fdatasync` runs in the
    /// background, while records go to the other journal file.
    pub fn sync_if_due(&self) -> Result<(), StoreError> {
        self.durable.sync_if_due()
    }

    /// Makes the database file durable now, if it changed since it last was, as
    /// [`Store::sync_if_due`] does (after waiting for a sync still running): its
    /// `fdatasync` may still be running when this returns; the journals hold every change
    /// until it returned.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.durable.sync()
    }

    /// Whether changes can be committed: false once the journal failed to write or sync,
    /// until the store is opened anew.
    pub fn writable(&self) -> bool {
        self.durable.writable()
    }

    /// Whether the store takes changes; if it does not after a failure, and a reopening is
    /// due, it reopens the database and journal first, applying what the journal holds.
    pub fn recover_if_failed(&self) -> bool {
        match self.durable.reopen_if_failed() {
            Health::Writable => true,
            Health::Reopened => {
                // Caches of directory facts were filled from the old database.
                self.committed(true);
                true
            }
            Health::Down => false,
        }
    }

    /// Makes every later write to the journal fail, as a full or failing disk would.
    #[cfg(test)]
    pub(crate) fn break_journal(&self) {
        self.durable.break_journal();
    }

    /// Runs `hook` at each sync of the journal from now on, before it; its error is the
    /// sync's, as a failing disk's would be.
    #[cfg(test)]
    pub(crate) fn on_journal_sync(
        &self,
        hook: impl FnMut() -> std::io::Result<()> + Send + 'static,
    ) {
        self.durable.on_journal_sync(hook);
    }

    /// The key that seals credentials at rest.
    pub fn secrets(&self) -> &crate::secrets::SecretsKey {
        &self.secrets
    }

    /// The key that seals audit entries, for verifying them.
    pub fn audit_key(&self) -> &MacKey {
        &self.sealing.key
    }

    /// The key that verifies checkpoints.
    pub fn public_key(&self) -> &PublicKey {
        self.sealing.signer.public_key()
    }

    /// A snapshot of everything committed and durable so far.
    pub fn read(&self) -> Result<ReadView, StoreError> {
        // The generation is read before the snapshot begins: a commit that lands in between
        // is then seen by the snapshot but tagged with the older generation, never the reverse.
        let directory_generation = self.directory_generation.load(Ordering::Acquire);
        Ok(ReadView {
            txn: self.durable.read()?,
            directory_generation,
        })
    }

    /// Runs `f` in one write transaction and commits it durably if `f` succeeds.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut WriteView<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let (generation, txn) = self.durable.begin()?;
        self.run(generation, txn, f)
    }

    fn run<T, E>(
        &self,
        generation: u64,
        txn: redb::WriteTransaction,
        f: impl FnOnce(&mut WriteView<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut view = WriteView::new(&txn, Arc::clone(&self.sealing));
        let value = match f(&mut view) {
            Ok(value) => value,
            Err(error) => {
                drop(view);
                self.durable.abort(generation, txn);
                return Err(error);
            }
        };
        let committing = self.durable.committing(generation)?;
        view.set_journal_seq(committing.seq())?;
        // The view's open tables close here, before the commit that needs them closed.
        let (touched_directory, redo) = view.finish();
        committing.commit(txn, &redo)?;
        self.committed(touched_directory);
        Ok(value)
    }

    /// After a commit: caches of directory facts learn that they are stale.
    fn committed(&self, touched_directory: bool) {
        if touched_directory {
            self.directory_generation.fetch_add(1, Ordering::AcqRel);
        }
    }
}
