//! The journal's syncer: a thread that runs a record's `fdatasync` while the writer commits
//! the record's transaction to the database, so that the disk's wait and the commit's work
//! overlap instead of adding up.
//!
//! It changes no rule of `mod.rs`: the record is written before its sync starts, and nobody
//! is answered, nor shown the commit, until the sync returned (rule 4); the committer's
//! mutex is held throughout, so one record is in flight at a time (rule 2). On a disk that
//! syncs nothing in the background (a simulated one, see [`Disk`](super::Disk)), or when no
//! thread could be started, the sync runs when it is waited for, after the commit, as it
//! would without a syncer.

use super::file::JournalFile;
use std::io;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

/// A sync asked of the thread, and where its result goes.
type Job = (Arc<dyn JournalFile>, SyncSender<io::Result<()>>);

/// The thread that syncs journal files, if it runs.
#[derive(Debug)]
pub(super) struct Syncer {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// A journal sync started by [`Syncer::start`].
#[must_use = "a record is durable only once its sync was waited for"]
pub(super) enum JournalSync {
    /// Running on the syncer's thread.
    Running(Receiver<io::Result<()>>),
    /// To run when waited for.
    Owed(Arc<dyn JournalFile>),
}

impl JournalSync {
    /// Waits until the sync returned (running it first if it is owed); its result.
    pub fn wait(self) -> io::Result<()> {
        match self {
            Self::Running(result) => result
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("the journal sync thread ended"))),
            Self::Owed(file) => file.sync_data(),
        }
    }
}

impl Syncer {
    /// A syncer with a thread of its own (`background`), or one whose syncs are owed.
    pub fn new(background: bool) -> Self {
        let (jobs, thread) = match background.then(spawn).flatten() {
            Some((jobs, thread)) => (Some(jobs), Some(thread)),
            None => (None, None),
        };
        Self { jobs, thread }
    }

    /// Starts syncing `file`.
    pub fn start(&self, file: &Arc<dyn JournalFile>) -> JournalSync {
        let owed = || JournalSync::Owed(Arc::clone(file));
        let Some(jobs) = &self.jobs else {
            return owed();
        };
        let (done, result) = sync_channel(1);
        match jobs.send((Arc::clone(file), done)) {
            Ok(()) => JournalSync::Running(result),
            Err(_) => owed(),
        }
    }
}

impl Drop for Syncer {
    /// Ends the thread once the syncs asked of it returned.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the journal sync thread panicked");
        }
    }
}

/// Starts the thread; `None` if it could not be started (syncs are owed then).
fn spawn() -> Option<(Sender<Job>, JoinHandle<()>)> {
    let (jobs, asked) = channel::<Job>();
    let thread = std::thread::Builder::new()
        .name("journal-sync".into())
        .spawn(move || {
            for (file, done) in asked {
                // The waiter may be gone (its store failed meanwhile); nothing to tell then.
                let _ = done.send(file.sync_data());
            }
        });
    match thread {
        Ok(thread) => Some((jobs, thread)),
        Err(error) => {
            tracing::warn!(%error, "cannot start the journal sync thread; syncing inline");
            None
        }
    }
}

#[cfg(test)]
#[path = "syncer_tests.rs"]
mod tests;
