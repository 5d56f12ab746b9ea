//! The files durability rests on, behind small traits so that tests can put a simulated disk
//! under the store (see `power_loss/`): each journal file as a [`JournalFile`], the database
//! as redb's [`StorageBackend`] (a [`DatabaseStorage`]), all opened through a [`Disk`].

use redb::StorageBackend;
use redb::backends::FileBackend;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// What the journal needs of its file: positioned reads and writes, and a sync.
pub trait JournalFile: Debug + Send + Sync {
    /// The file's length.
    fn size(&self) -> io::Result<u64>;
    /// Reads exactly `out.len()` bytes at `offset`.
    fn read_exact_at(&self, out: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `data` at `offset`, growing the file if it ends before.
    fn write_all_at(&self, data: &[u8], offset: u64) -> io::Result<()>;
    /// Waits until everything written, and the file's length, is on disk (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Asks for `len` bytes at `offset` to start going to disk without waiting; a hint.
    fn start_writeback(&self, _offset: u64, _len: usize) {}
}

/// The database's file as a disk opens it.
#[derive(Debug)]
pub struct DatabaseStorage {
    /// What redb reads, writes and syncs.
    pub backend: Box<dyn StorageBackend>,
    /// On a disk of the operating system, a second handle of the same file, to write it to
    /// disk in steps before a sync ([`write_back`]), so that the journal's syncs on the
    /// same disk do not wait behind one long one.
    pub writeback: Option<File>,
}

/// Where a data folder's journal and database file are opened.
pub trait Disk: Debug + Send + Sync {
    /// Opens (creating if needed) the journal at `path`; true if it was created, after the
    /// folder's entry for it is durable.
    fn journal(&self, path: &Path) -> io::Result<(Box<dyn JournalFile>, bool)>;
    /// Opens (creating if needed) the database file at `path`, as redb's own `create` does.
    fn database(&self, path: &Path) -> io::Result<DatabaseStorage>;
    /// Whether `fdatasync`s run on threads of their own while the writer goes on — the
    /// database file's periodic one, and each journal record's while its transaction
    /// commits — rather than when they are waited for (a simulated disk, whose every call
    /// a test follows in order).
    fn syncs_in_background(&self) -> bool {
        true
    }
}

/// The operating system's files: what a server uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsDisk;

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

impl Disk for OsDisk {
    fn journal(&self, path: &Path) -> io::Result<(Box<dyn JournalFile>, bool)> {
        let file = open(path)?;
        let created = file.metadata()?.len() == 0;
        if created && let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok((Box::new(OsFile(file)), created))
    }

    fn database(&self, path: &Path) -> io::Result<DatabaseStorage> {
        let file = open(path)?;
        let writeback = Some(file.try_clone()?);
        let backend = Box::new(FileBackend::new(file).map_err(io::Error::other)?);
        Ok(DatabaseStorage { backend, writeback })
    }
}

/// Writes `len` bytes of `file` at `offset` to disk and waits for them (not the disk's
/// cache): a step towards the `fdatasync` that alone makes them durable.
pub(super) fn write_back(file: &File, offset: u64, len: usize) {
    write_range(file, offset, len, WAIT);
}

/// A journal in a file of the operating system.
#[derive(Debug)]
pub struct OsFile(File);

impl JournalFile for OsFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn read_exact_at(&self, out: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(&self.0, out, offset)
    }

    fn write_all_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(&self.0, data, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn start_writeback(&self, offset: u64, len: usize) {
        write_range(&self.0, offset, len, START);
    }
}

/// Start the range's writeback, without waiting.
#[cfg(target_os = "linux")]
const START: libc::c_uint = libc::SYNC_FILE_RANGE_WRITE;
/// Write the range and wait until it is written (also for writeback already under way).
#[cfg(target_os = "linux")]
const WAIT: libc::c_uint = libc::SYNC_FILE_RANGE_WAIT_BEFORE
    | libc::SYNC_FILE_RANGE_WRITE
    | libc::SYNC_FILE_RANGE_WAIT_AFTER;
#[cfg(not(target_os = "linux"))]
const START: u32 = 0;
#[cfg(not(target_os = "linux"))]
const WAIT: u32 = 0;

/// Asks the kernel to write `len` bytes at `offset` to disk (`sync_file_range`): `START`
/// only starts it, so that the disk's write proceeds while the database commits and the
/// `fdatasync` after waits for less; `WAIT` waits for it. A hint only: where it fails or
/// does not exist, the sync does all the work.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn write_range(file: &File, offset: u64, len: usize, flags: libc::c_uint) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the call takes no pointers, and the descriptor is open for as long as `file`
    // is borrowed. Its result is ignored: it only does part of what `fdatasync` does anyway.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, flags);
    }
}

#[cfg(not(target_os = "linux"))]
fn write_range(_file: &File, _offset: u64, _len: usize, _flags: u32) {}

/// A journal file that refuses every write and sync, as a failing disk would (tests).
#[cfg(test)]
#[derive(Debug)]
pub(super) struct Broken;

#[cfg(test)]
impl JournalFile for Broken {
    fn size(&self) -> io::Result<u64> {
        Ok(0)
    }

    fn read_exact_at(&self, _: &mut [u8], _: u64) -> io::Result<()> {
        Err(io::Error::other("the disk failed"))
    }

    fn write_all_at(&self, _: &[u8], _: u64) -> io::Result<()> {
        Err(io::Error::other("the disk failed"))
    }

    fn sync_data(&self) -> io::Result<()> {
        Err(io::Error::other("the disk failed"))
    }
}
