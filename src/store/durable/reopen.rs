//! Opening the database, and opening it anew inside the process after a storage failure.
//!
//! A failed write or sync of the database file (a full disk) leaves redb refusing all work
//! until it is opened again, and the store taking no changes (`committer.rs`). Once space is
//! back the store reopens itself, as a restart would, without one:
//!
//! 1. with the committer locked (no change can commit meanwhile), the old opening of the file
//!    is fenced: its locks are released and it can never write again (`backend.rs`);
//! 2. the database and the journal are opened afresh and the journal's records the database
//!    lacks are applied (`recovery.rs`), exactly as at start;
//! 3. the new database replaces the old for readers (`snapshots.rs`), and the committer
//!    starts over on it under the next generation: a transaction begun on the old database
//!    is refused at commit.
//!
//! If the disk is still full, opening fails and the store stays as it was; it tries again
//! at most every `recover_every`.

use super::backend::{Backend, DatabaseFile};
use super::committer::Committer;
use super::journal::Journal;
use super::journals::Journals;
use super::recovery::{recover, unusable};
use super::{Durable, Health, JOURNAL_BYTES, JournalError};
use crate::store::audit::Sealing;
use crate::store::{Store, StoreError, StoreOptions, layout, tables};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// A database and journal just opened, the journal's records applied.
pub(super) struct Opened {
    pub file: Arc<DatabaseFile>,
    pub db: redb::Database,
    pub journal: Journals,
    pub next_seq: u64,
}

/// Opens (creating if needed) the database in `data_dir` with every table, and its journal,
/// and applies the journal's records the database lacks.
pub(super) fn open_database(
    data_dir: &Path,
    options: &StoreOptions,
    sealing: &Arc<Sealing>,
) -> Result<Opened, StoreError> {
    let db_path = data_dir.join(Store::FILE);
    let folder = |source| StoreError::Folder {
        path: db_path.display().to_string(),
        source,
    };
    let file = DatabaseFile::open(options.disk.as_ref(), &db_path, options.faults.clone())
        .map_err(folder)?;
    let db = redb::Builder::new()
        .set_cache_size(options.cache_bytes)
        .create_with_backend(Backend(Arc::clone(&file)))
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
                path: db_path.display().to_string(),
            },
            e => e.into(),
        })?;
    let found = layout::check(&db, &db_path)?;
    let txn = db.begin_write()?;
    tables::create_all(&txn)?;
    txn.commit()?;
    let journal = Journals::new(
        open_journal(data_dir, Store::JOURNAL_FILE, options)?,
        open_journal(data_dir, Store::SECOND_JOURNAL_FILE, options)?,
        options.disk.syncs_in_background(),
    );
    let both = format!("{} and {}", Store::JOURNAL_FILE, Store::SECOND_JOURNAL_FILE);
    let next_seq = recover(&db, &journal, sealing).map_err(unusable(&data_dir.join(both)))? + 1;
    // Both journals are written again from their starts: the database must be on disk, also
    // a durable commit whose sync had not returned when the store last failed (rule 5).
    file.sync_now().map_err(folder)?;
    layout::upgrade(&db, found)?;
    Ok(Opened {
        file,
        db,
        journal,
        next_seq,
    })
}

/// Opens (creating if needed) the journal `name` in `data_dir`.
fn open_journal(
    data_dir: &Path,
    name: &str,
    options: &StoreOptions,
) -> Result<Journal, StoreError> {
    let path = data_dir.join(name);
    let unusable = unusable(&path);
    let (file, created) = options
        .disk
        .journal(&path)
        .map_err(|e| unusable(JournalError::from(e).into()))?;
    Journal::open(file, created, JOURNAL_BYTES).map_err(|e| unusable(e.into()))
}

/// What reopening needs: where and how the store was opened, the opening of the file in
/// use, and when it was last tried.
#[derive(Debug)]
pub(super) struct Reopening {
    data_dir: PathBuf,
    options: StoreOptions,
    sealing: Arc<Sealing>,
    file: Mutex<Arc<DatabaseFile>>,
    tried: Mutex<Option<Instant>>,
    /// Whether the last attempt failed: said once per outage, not every second.
    failing: AtomicBool,
}

impl Reopening {
    pub fn new(
        data_dir: &Path,
        options: StoreOptions,
        sealing: Arc<Sealing>,
        file: Arc<DatabaseFile>,
    ) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            options,
            sealing,
            file: Mutex::new(file),
            tried: Mutex::new(None),
            failing: AtomicBool::new(false),
        }
    }

    /// The opening of the database file in use.
    pub fn file(&self) -> Arc<DatabaseFile> {
        Arc::clone(&self.file.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether a reopening is due: none was tried within `recover_every`.
    fn due(&self) -> bool {
        let mut tried = self.tried.lock().unwrap_or_else(PoisonError::into_inner);
        let due = tried.is_none_or(|at| at.elapsed() >= self.options.recover_every);
        if due {
            *tried = Some(Instant::now());
        }
        due
    }
}

impl Durable {
    /// Whether the store takes changes; if it does not after a failure, and a reopening is
    /// due, it reopens the database and journal first (see the module's comment).
    pub fn reopen_if_failed(&self) -> Health {
        if self.writable() {
            return Health::Writable;
        }
        if !self.reopening.due() {
            return Health::Down;
        }
        let failing = &self.reopening.failing;
        match self.reopen() {
            Ok(()) => {
                failing.store(false, Ordering::Relaxed);
                tracing::warn!(
                    "the store reopened its database after a storage failure and takes changes again"
                );
                Health::Reopened
            }
            Err(error) => {
                if !failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%error, "the store could not reopen its database yet; it tries again every second");
                }
                Health::Down
            }
        }
    }

    fn reopen(&self) -> Result<(), StoreError> {
        let mut committer = self.lock()?;
        if committer.writable() {
            return Ok(());
        }
        let reopening = &self.reopening;
        let mut file = reopening
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A failure to release is no reason to stay down: opening again says if it matters.
        let _ = file.fence();
        let opened = open_database(&reopening.data_dir, &reopening.options, &reopening.sealing)?;
        let generation = committer.generation + 1;
        *committer = Committer::new(
            opened.journal,
            opened.next_seq,
            reopening.options.sync_every,
            generation,
        );
        self.snapshots.replace(generation, Arc::new(opened.db));
        *file = opened.file;
        #[cfg(test)]
        self.committed(opened.next_seq - 1);
        Ok(())
    }
}

#[cfg(test)]
#[path = "reopen_tests.rs"]
mod tests;
