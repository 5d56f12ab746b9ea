//! A disk that can lose power: every file keeps what was synced apart from what was only
//! written since, in the order written, so that a crash at any moment can be imaged as the
//! synced state plus any prefix, subset or torn sector of the writes not synced yet.

use super::content::{Content, File, Op};
use crate::store::{DatabaseStorage, Disk, JournalFile};
use redb::StorageBackend;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A fault to inject into the next call of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The next sync of the journal fails.
    JournalSync,
    /// The next write of the database file fails.
    DatabaseWrite,
}

/// What the disk held at a moment: enough to image any crash then.
#[derive(Debug, Clone)]
pub struct Moment {
    pub(super) files: BTreeMap<String, File>,
}

/// The files a crash leaves, by name.
pub type Image = BTreeMap<String, Content>;

/// Called at every I/O call, before it takes effect, with the disk as it is then.
type Observer = Box<dyn FnMut(&Moment) + Send>;

#[derive(Default)]
struct State {
    files: BTreeMap<String, File>,
    order: u64,
    faults: Vec<Fault>,
    calls: u64,
}

/// A simulated disk; clones share it.
#[derive(Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
    observer: Arc<Mutex<Option<Observer>>>,
}

impl std::fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimDisk")
    }
}

impl SimDisk {
    /// A disk holding `image`'s files, all synced.
    pub fn from_image(image: Image) -> Self {
        let disk = Self::default();
        disk.state().files = image
            .into_iter()
            .map(|(name, content)| {
                let file = File {
                    synced: content.clone(),
                    current: content,
                    pending: Vec::new(),
                };
                (name, file)
            })
            .collect();
        disk
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls `observer` at every I/O call from now on.
    pub fn observe(&self, observer: impl FnMut(&Moment) + Send + 'static) {
        *self.observer.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(observer));
    }

    /// Stops calling the observer.
    pub fn stop_observing(&self) {
        *self.observer.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Makes the next call of `fault`'s kind fail.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// How many I/O calls changed or synced a file so far.
    pub fn calls(&self) -> u64 {
        self.state().calls
    }

    /// Shows the observer the disk as it is, then runs `change` on the file `name`; fails
    /// instead if `fault` was injected.
    fn call(
        &self,
        name: &str,
        fault: Option<Fault>,
        change: impl FnOnce(&mut File, u64),
    ) -> io::Result<()> {
        self.state().calls += 1;
        if let Some(observer) = self
            .observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            let files = self.state().files.clone();
            observer(&Moment { files });
        }
        let mut state = self.state();
        if let Some(i) = fault.and_then(|f| state.faults.iter().position(|x| *x == f)) {
            state.faults.remove(i);
            return Err(io::Error::other("injected fault"));
        }
        state.order += 1;
        let order = state.order;
        change(state.files.entry(name.to_owned()).or_default(), order);
        Ok(())
    }

    fn write(&self, name: &str, fault: Option<Fault>, at: u64, data: &[u8]) -> io::Result<()> {
        let at = usize::try_from(at).map_err(io::Error::other)?;
        self.call(name, fault, |file, order| {
            let op = Op::write(at, data);
            op.apply(&mut file.current);
            file.pending.push((order, op));
        })
    }

    fn sync(&self, name: &str, fault: Option<Fault>) -> io::Result<()> {
        self.call(name, fault, |file, _| {
            for (_, op) in file.pending.drain(..) {
                op.apply(&mut file.synced);
            }
        })
    }

    fn read(&self, name: &str, at: u64, out: &mut [u8]) -> io::Result<()> {
        let state = self.state();
        let at = usize::try_from(at).map_err(io::Error::other)?;
        match state
            .files
            .get(name)
            .is_some_and(|f| f.current.read(at, out))
        {
            true => Ok(()),
            false => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
        }
    }

    fn size(&self, name: &str) -> u64 {
        self.state()
            .files
            .get(name)
            .map_or(0, |f| f.current.len() as u64)
    }
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Disk for SimDisk {
    fn journal(&self, path: &Path) -> io::Result<(Box<dyn JournalFile>, bool)> {
        let name = name(path);
        let created = self.size(&name) == 0;
        self.state().files.entry(name.clone()).or_default();
        Ok((Box::new(Handle(self.clone(), name)), created))
    }

    fn database(&self, path: &Path) -> io::Result<DatabaseStorage> {
        let name = name(path);
        self.state().files.entry(name.clone()).or_default();
        Ok(DatabaseStorage {
            backend: Box::new(Handle(self.clone(), name)),
            // Writing back in steps changes nothing a crash could image: only syncs do.
            writeback: None,
        })
    }

    // The database's sync owed until the next one is due, so that the workload runs between
    // the durable commit and its sync, and every I/O call there is imaged; a record's sync
    // runs after its transaction's commit, one call after another.
    fn syncs_in_background(&self) -> bool {
        false
    }
}

/// An open file of the simulated disk.
#[derive(Debug)]
struct Handle(SimDisk, String);

impl JournalFile for Handle {
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.size(&self.1))
    }

    fn read_exact_at(&self, out: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read(&self.1, offset, out)
    }

    fn write_all_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        self.0.write(&self.1, None, offset, data)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync(&self.1, Some(Fault::JournalSync))
    }
}

impl StorageBackend for Handle {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.0.size(&self.1))
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.0.read(&self.1, offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        self.0
            .call(&self.1, Some(Fault::DatabaseWrite), |file, order| {
                let op = Op::Len(len);
                op.apply(&mut file.current);
                file.pending.push((order, op));
            })
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.0.sync(&self.1, None)
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.0
            .write(&self.1, Some(Fault::DatabaseWrite), offset, data)
    }
}
