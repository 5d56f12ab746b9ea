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
//! A caller waits on the writer without blocking its own thread: an async task on the
//! runtime never waits for the disk.

use super::ServiceError;
use crate::store::{Store, StoreError, WriteView};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
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

/// The single writer: a bounded queue and the thread that drains it.
#[derive(Debug)]
pub(super) struct Writer {
    queue: Option<SyncSender<Box<dyn Pending>>>,
    thread: Option<JoinHandle<()>>,
    /// Changes queued so far.
    queued: AtomicU64,
}

type Answer<T> = oneshot::Receiver<Result<T, ServiceError>>;

impl Writer {
    /// Starts the writer thread over `store`.
    pub fn start(store: Store) -> Result<Self, ServiceError> {
        let (queue, changes) = sync_channel::<Box<dyn Pending>>(QUEUE);
        let thread = spawn("clearance-writer", move || drain(&store, &changes))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
            queued: AtomicU64::new(0),
        })
    }

    /// Queues `apply` for the writer's next batch and waits until it committed (its result)
    /// or failed. `apply` must be repeatable: it runs again in a new transaction when a
    /// batch-mate fails.
    pub async fn write_async<T, F>(&self, apply: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnMut(&mut WriteView<'_>) -> Result<T, ServiceError> + Send + 'static,
    {
        let (change, answer) = change(apply);
        self.enqueue(change)?;
        answer.await.unwrap_or(Err(ServiceError::Unavailable))
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
    /// Lets the writer finish what is queued and waits for it, so that the store is closed
    /// when the service is gone.
    fn drop(&mut self) {
        drop(self.queue.take());
        join(self.thread.take(), "writer");
    }
}

/// Takes the first change queued, then whatever else is queued (up to [`MAX_BATCH`]), and
/// commits them together; until the queue closes.
fn drain(store: &Store, changes: &Receiver<Box<dyn Pending>>) {
    loop {
        let first = match changes.recv_timeout(IDLE) {
            Ok(change) => change,
            Err(RecvTimeoutError::Timeout) => {
                sync(store);
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
        commit(store, batch);
        // After the answers: a sync delays the next batch, not this one.
        sync(store);
    }
}

/// Makes the database file durable if that is due (see [`Store::sync_if_due`]); meanwhile
/// callers queue their changes.
fn sync(store: &Store) {
    // After a storage failure, this is where the store tries to reopen itself when nobody
    // probes readiness: every batch, and every idle second.
    if !store.recover_if_failed() {
        return;
    }
    if let Err(error) = store.sync_if_due() {
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

/// Starts a thread named `name` running `run`.
fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, ServiceError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(run)
        .map_err(|e| {
            tracing::error!(error = %e, thread = name, "cannot start a thread");
            ServiceError::Unavailable
        })
}

/// Waits for `thread` (the `name` thread), if it runs; says so if it panicked.
fn join(thread: Option<JoinHandle<()>>, name: &str) {
    if let Some(thread) = thread
        && thread.join().is_err()
    {
        tracing::error!(thread = name, "a thread panicked");
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
