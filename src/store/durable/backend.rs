//! The database file as redb's storage backend: the [`Disk`]'s, with two things it lacks:
//!
//! - a **fence**: when the store reopens the database after a storage failure, the old
//!   database's file is fenced first (its locks released, every later write refused), so a
//!   database left behind can never write over the new one;
//! - a **deferred sync**: a durable commit made through [`DatabaseFile::commit_unsynced`]
//!   writes its pages and header without waiting for the disk; [`DatabaseFile::start_sync`]
//!   then runs that `fdatasync` on a thread of its own while changes go on (`journals.rs`);
//! - injected faults ([`StorageFaults`]): a switch that makes writes and syncs fail as a
//!   full disk does (ENOSPC), for tests; a server started normally never has one.

use super::background::Background;
use super::file::{Disk, write_back};
use redb::{BackendError, StorageBackend};
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Injected storage faults, shared between a test and the store it opened.
#[derive(Debug, Default)]
pub struct StorageFaults {
    full: AtomicBool,
}

impl StorageFaults {
    /// From now on every write, resize and sync of the database file fails with ENOSPC.
    pub fn fill_disk(&self) {
        self.full.store(true, Ordering::SeqCst);
    }

    /// Space is back: writes and syncs go through again.
    pub fn free_disk(&self) {
        self.full.store(false, Ordering::SeqCst);
    }

    fn check(&self) -> io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        } else {
            Ok(())
        }
    }
}

/// One opening of the database file: the disk's backend, its fence and its faults.
#[derive(Debug)]
pub(super) struct DatabaseFile {
    inner: Box<dyn StorageBackend>,
    /// A second handle of the file to write it back in steps with, on a real disk.
    writeback: Option<std::fs::File>,
    fenced: AtomicBool,
    faults: Option<Arc<StorageFaults>>,
    /// Set while a commit runs whose `fdatasync` is left to [`DatabaseFile::start_sync`].
    unsynced: AtomicBool,
    /// Whether that sync runs on a thread of its own (the disk says; see [`Disk`]).
    in_background: bool,
}

/// How much of the database file the background sync writes at a time.
const WRITE_BACK_STEP: usize = 512 * 1024;

/// The `fdatasync` of a durable commit, running or still to run.
pub(super) type PendingSync = Background<()>;

impl DatabaseFile {
    /// Opens (creating if needed) the file at `path` on `disk`.
    pub fn open(
        disk: &dyn Disk,
        path: &Path,
        faults: Option<Arc<StorageFaults>>,
    ) -> io::Result<Arc<Self>> {
        let storage = disk.database(path)?;
        Ok(Arc::new(Self {
            inner: storage.backend,
            writeback: storage.writeback,
            fenced: AtomicBool::new(false),
            faults,
            unsynced: AtomicBool::new(false),
            in_background: disk.syncs_in_background(),
        }))
    }

    /// Runs `commit`, a durable commit of the database, without waiting for the disk: its
    /// pages and header are written but not synced until [`DatabaseFile::start_sync`]'s
    /// sync returns. The caller holds redb's write lock, so no other commit runs meanwhile.
    pub fn commit_unsynced<T>(&self, commit: impl FnOnce() -> T) -> T {
        self.unsynced.store(true, Ordering::SeqCst);
        let result = commit();
        self.unsynced.store(false, Ordering::SeqCst);
        result
    }

    /// Starts making everything written to the file durable: on a thread of its own, or
    /// owed until waited for (a simulated disk, or no thread could be started).
    pub fn start_sync(self: &Arc<Self>) -> PendingSync {
        let file = Arc::clone(self);
        Background::start("database-sync", self.in_background, move || {
            file.sync_in_steps()
        })
    }

    /// [`DatabaseFile::sync_now`], having first written the file to disk a step at a time:
    /// one `fdatasync` of all the pages a durable commit wrote keeps the disk busy so long
    /// that the journal's own syncs, on the same disk, wait behind it; a step at a time,
    /// they wait for one step at most.
    fn sync_in_steps(&self) -> io::Result<()> {
        if let Some(file) = &self.writeback {
            let len = self.inner.len()?;
            for offset in (0..len).step_by(WRITE_BACK_STEP) {
                self.usable()?;
                write_back(file, offset, WRITE_BACK_STEP);
            }
        }
        self.sync_now()
    }

    /// Waits until everything written to the file is on disk.
    pub fn sync_now(&self) -> io::Result<()> {
        self.writable()?;
        self.inner.sync_data()
    }

    /// Ends this opening: its locks are released and every later call fails, whoever still
    /// holds the database over it.
    pub fn fence(&self) -> io::Result<()> {
        match self.fenced.swap(true, Ordering::SeqCst) {
            true => Ok(()),
            // The locks go now, so that the file can be opened again in this process.
            false => self.inner.close(),
        }
    }

    fn usable(&self) -> io::Result<()> {
        if self.fenced.load(Ordering::SeqCst) {
            return Err(io::Error::other(
                "the database was reopened; this opening is fenced",
            ));
        }
        Ok(())
    }

    fn writable(&self) -> io::Result<()> {
        self.usable()?;
        self.faults.as_ref().map_or(Ok(()), |faults| faults.check())
    }
}

/// [`DatabaseFile`] as redb's storage backend.
#[derive(Debug)]
pub(super) struct Backend(pub Arc<DatabaseFile>);

impl StorageBackend for Backend {
    fn len(&self) -> io::Result<u64> {
        self.0.usable()?;
        self.0.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.0.usable()?;
        self.0.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.writable()?;
        self.0.inner.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        match self.0.unsynced.load(Ordering::SeqCst) {
            true => self.0.writable(),
            false => self.0.sync_now(),
        }
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.writable()?;
        self.0.inner.write(offset, data)
    }

    fn close(&self) -> io::Result<()> {
        self.0.fence()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.0.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.0.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.0.inner.query_lock_range(start, end)
    }
}
