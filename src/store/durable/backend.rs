//! The database file as redb's storage backend: the [`Disk`]'s, with two things it lacks:
//!
//! - a **fence**: when the store reopens the database after a storage failure, the old
//!   database's file is fenced first (its locks released, every later write refused), so a
//!   database left behind can never write over the new one;
//! - injected faults ([`StorageFaults`]): a switch that makes writes and syncs fail as a
//!   full disk does (ENOSPC), for tests; a server started normally never has one.

use super::file::Disk;
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
    fenced: AtomicBool,
    faults: Option<Arc<StorageFaults>>,
}

impl DatabaseFile {
    /// Opens (creating if needed) the file at `path` on `disk`.
    pub fn open(
        disk: &dyn Disk,
        path: &Path,
        faults: Option<Arc<StorageFaults>>,
    ) -> io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            inner: disk.database(path)?,
            fenced: AtomicBool::new(false),
            faults,
        }))
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
        self.0.writable()?;
        self.0.inner.sync_data()
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
