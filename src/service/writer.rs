//! Group commit: one writer thread applies every change that has queued, up to a cap, in one
//! write transaction with one durable commit (one journal record, see the store), then
//! answers each caller.
//!
//! Each change keeps its own validation. A change that fails leaves the batch: the writer
//! drops the transaction and applies the others again without it, so a failed change never
//! leaves half its writes behind and never fails its batch-mates. Changes see the writes of
//! those queued before them (duplicate checks, idempotency and audit order hold within a
//! batch). A full queue refuses new changes at once ([`ServiceError::Busy`]) rather than
//! queueing without bound.
//!
//! A caller that is the only one writing commits its change itself, as a batch of one, on its
//! own thread: handing a change to another thread and its answer back costs two thread
//! wake-ups, which on a virtual machine take tens of microseconds each, more than half a lone
//! decision's own work. It is answered once its journal record is durable; the applier thread
//! then applies it to the database (see `store/deferred.rs`), off the answer's path. As soon
//! as two write at once, changes queue and batch as above.

use super::ServiceError;
use super::applier::{Applier, join, spawn};
use crate::store::{Applying, Store, StoreError, WriteView};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// How many changes may wait for the writer.
pub const QUEUE: usize = 1_024;
/// The most changes in one transaction.
pub const MAX_BATCH: usize = 256;
/// How long the writer waits for a change before it looks whether a sync is due, so that
/// the database file is made durable after the last change of a burst too.
const IDLE: Duration = Duration::from_secs(1);

/// A queued change, with the caller waiting for its answer.
trait Pending: Send {
    /// Applies the change in the batch's transaction; it may be applied again in a new
    /// transaction if a batch-mate fails.
    fn apply(&mut self, w: &mut WriteView<'_>) -> Result<(), ServiceError>;
    /// The batch committed: answer with the change's result.
    fn committed(self: Box<Self>);
    /// The change failed, or its batch could not commit.
    fn failed(self: Box<Self>, error: ServiceError);
}

struct Change<T, F> {
    apply: F,
    result: Option<T>,
    reply: oneshot::Sender<Result<T, ServiceError>>,
}

impl<T, F> Pending for Change<T, F>
where
    T: Send,
    F: FnMut(&mut WriteView<'_>) -> Result<T, ServiceError> + Send,
{
    fn apply(&mut self, w: &mut WriteView<'_>) -> Result<(), ServiceError> {
        self.result = Some((self.apply)(w)?);
        Ok(())
    }

    fn committed(self: Box<Self>) {
        let answer = self.result.ok_or(ServiceError::Unavailable);
        // The caller may have given up waiting; nothing to do then.
        let _ = self.reply.send(answer);
    }

    fn failed(self: Box<Self>, error: ServiceError) {
        let _ = self.reply.send(Err(error));
    }
}

/// Why a batch's transaction ended without a commit.
enum Abort {
    /// The change at this index failed on its own.
    Change(usize, ServiceError),
    /// The store failed: every change in the batch fails.
    Store(StoreError),
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// What the writer thread and callers committing their own change share.
#[derive(Debug)]
struct Shared {
    store: Store,
    /// Held by whoever commits: the writer thread for a batch or a sync, or a caller
    /// committing its own change.
    committing: Mutex<()>,
    /// Callers writing now: queued, being committed, or about to be.
    writing: AtomicUsize,
}

impl Shared {
    // The guard protects no data: a panic while holding it leaves nothing to repair, so
    // both ways of taking it take a poisoned one over.
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.committing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The guard, unless someone else is committing now.
    fn try_lock(&self) -> Option<MutexGuard<'_, ()>> {
        match self.committing.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// The single writer: a bounded queue and the thread that drains it, and the thread that
/// applies lone changes answered from the journal.
#[derive(Debug)]
pub(super) struct Writer {
    shared: Arc<Shared>,
    queue: Option<SyncSender<Box<dyn Pending>>>,
    thread: Option<JoinHandle<()>>,
    /// Applies lone changes after they are answered; dropped (and joined) after the writer.
    applier: Applier,
    /// Changes queued so far.
    queued: AtomicU64,
}

type Answer<T> = oneshot::Receiver<Result<T, ServiceError>>;

impl Writer {
    /// Starts the writer thread over `store`, and the applier, which looks for the next lone
    /// change for up to `spin` before it sleeps.
    pub fn start(store: Store, spin: Duration) -> Result<Self, ServiceError> {
        let shared = Arc::new(Shared {
            store,
            committing: Mutex::new(()),
            writing: AtomicUsize::new(0),
        });
        let (queue, changes) = sync_channel::<Box<dyn Pending>>(QUEUE);
        let thread = spawn("clearance-writer", {
            let shared = Arc::clone(&shared);
            move || drain(&shared, &changes)
        })?;
        let applier = Applier::start(spin)?;
        Ok(Self {
            shared,
            queue: Some(queue),
            thread: Some(thread),
            applier,
            queued: AtomicU64::new(0),
        })
    }

    /// Commits `apply` (alone if no one else is writing, else in the writer's next batch)
    /// and waits until it committed (its result) or failed. `apply` must be
    /// repeatable: it runs again in a new transaction when a batch-mate fails.
    pub async fn write_async<T, F>(&self, apply: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnMut(&mut WriteView<'_>) -> Result<T, ServiceError> + Send + 'static,
    {
        let (change, answer) = change(apply);
        let writing = Writing::enter(&self.shared);
        if let Some(change) = self.commit_alone(&writing, change) {
            self.enqueue(change)?;
        }
        answer.await.unwrap_or(Err(ServiceError::Unavailable))
    }

    /// Commits `change` on the caller's thread if no one else is writing; otherwise gives it
    /// back. Blocks for one small commit, as every write outside the writer does.
    fn commit_alone(
        &self,
        writing: &Writing<'_>,
        change: Box<dyn Pending>,
    ) -> Option<Box<dyn Pending>> {
        if !writing.alone {
            return Some(change);
        }
        // A sync, or a test's hold, may have the writer thread committing.
        let Some(_committing) = self.shared.try_lock() else {
            return Some(change);
        };
        if let Some(applying) = commit_answering_first(&self.shared.store, change) {
            self.applier.apply_later(applying);
        }
        None
    }

    /// Queues `change` for the writer thread; a full queue refuses at once.
    fn enqueue(&self, change: Box<dyn Pending>) -> Result<(), ServiceError> {
        let queue = self.queue.as_ref().ok_or(ServiceError::Unavailable)?;
        match queue.try_send(change) {
            Ok(()) => {
                self.queued.fetch_add(1, Ordering::Release);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(ServiceError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(ServiceError::Unavailable),
        }
    }
}

/// A caller counted among those writing until it has its answer or gives up waiting.
struct Writing<'a> {
    shared: &'a Shared,
    /// No one else was writing when this caller began.
    alone: bool,
}

impl<'a> Writing<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let before = shared.writing.fetch_add(1, Ordering::AcqRel);
        Self {
            shared,
            alone: before == 0,
        }
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.shared.writing.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A change running `apply`, and where its answer arrives.
fn change<T, F>(apply: F) -> (Box<dyn Pending>, Answer<T>)
where
    T: Send + 'static,
    F: FnMut(&mut WriteView<'_>) -> Result<T, ServiceError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let change = Box::new(Change {
        apply,
        result: None,
        reply,
    });
    (change, answer)
}

impl Drop for Writer {
    /// Lets the writer finish what is queued and waits for it, and then for the applier, so
    /// that the store is closed when the service is gone.
    fn drop(&mut self) {
        drop(self.queue.take());
        join(self.thread.take(), "writer");
    }
}

/// Takes the first change queued, then whatever else is queued (up to [`MAX_BATCH`]), and
/// commits them together; until the queue closes.
fn drain(shared: &Shared, changes: &Receiver<Box<dyn Pending>>) {
    loop {
        let first = match changes.recv_timeout(IDLE) {
            Ok(change) => change,
            Err(RecvTimeoutError::Timeout) => {
                sync(shared);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match changes.try_recv() {
                Ok(change) => batch.push(change),
                Err(_) => break,
            }
        }
        {
            let _committing = shared.lock();
            commit(&shared.store, batch);
        }
        // After the answers: a sync delays the next batch, not this one.
        sync(shared);
    }
}

/// Makes the database file durable if that is due (see [`Store::sync_if_due`]); meanwhile
/// callers queue their changes rather than wait for the sync on their own thread.
fn sync(shared: &Shared) {
    let _committing = shared.lock();
    // After a storage failure, this is where the store tries to reopen itself when nobody
    // probes readiness: every batch, and every idle second.
    if !shared.store.recover_if_failed() {
        return;
    }
    if let Err(error) = shared.store.sync_if_due() {
        tracing::error!(%error, "cannot make the database file durable; the journal keeps every change");
    }
}

/// Applies `batch` in one transaction and commits it durably; a change that fails is
/// answered and taken out, and the rest are applied again in a fresh transaction.
fn commit(store: &Store, mut batch: Vec<Box<dyn Pending>>) {
    while !batch.is_empty() {
        let applied = store.write(|w| {
            for (i, change) in batch.iter_mut().enumerate() {
                change.apply(w).map_err(|e| Abort::Change(i, e))?;
            }
            Ok::<_, Abort>(())
        });
        match applied {
            Ok(()) => {
                batch.into_iter().for_each(|c| c.committed());
                return;
            }
            Err(Abort::Change(i, error)) if i < batch.len() => {
                batch.remove(i).failed(error);
            }
            Err(Abort::Change(..)) => {
                batch
                    .into_iter()
                    .for_each(|c| c.failed(ServiceError::Unavailable));
                return;
            }
            Err(Abort::Store(error)) => {
                let answer = store_failed(error, batch.len());
                batch.into_iter().for_each(|c| c.failed(answer()));
                return;
            }
        }
    }
}

/// Applies and answers `change` alone, as soon as its journal record is durable; returns
/// what is left to apply it to the database.
fn commit_answering_first(store: &Store, mut change: Box<dyn Pending>) -> Option<Applying> {
    match store.write_deferred(|w| change.apply(w).map_err(|e| Abort::Change(0, e))) {
        Ok(((), applying)) => {
            change.committed();
            Some(applying)
        }
        Err(Abort::Change(_, error)) => {
            change.failed(error);
            None
        }
        Err(Abort::Store(error)) => {
            change.failed(store_failed(error, 1)());
            None
        }
    }
}

/// The answer for each of `changes` changes that the store failed to commit; logs why.
fn store_failed(error: StoreError, changes: usize) -> fn() -> ServiceError {
    match ServiceError::from(error) {
        ServiceError::Store(error) => {
            tracing::error!(%error, changes, "a batch could not commit");
            || ServiceError::CommitFailed
        }
        _ => || ServiceError::Unavailable,
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
