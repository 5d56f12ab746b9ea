//! The thread that applies lone changes to the database after they were answered from the
//! journal (see `store/deferred.rs` and `writer.rs`).

use super::ServiceError;
use crate::store::Applying;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the applier looks for the next lone change before it sleeps, by default: at one
/// client a decision follows the last one's apply within ~0.3-0.4 ms on the development VM.
pub const DEFAULT_APPLY_SPIN: Duration = Duration::from_micros(500);

/// The applier thread, and where changes reach it. At most one change waits at a time, as
/// each holds the database's write lock until it is applied.
#[derive(Debug)]
pub(super) struct Applier {
    apply: Option<Sender<Applying>>,
    thread: Option<JoinHandle<()>>,
}

impl Applier {
    /// Starts the thread; after each change it looks for the next for up to `spin` before
    /// it sleeps.
    pub fn start(spin: Duration) -> Result<Self, ServiceError> {
        let (apply, changes) = channel::<Applying>();
        let thread = spawn("clearance-applier", move || {
            while let Some(next) = next_to_apply(&changes, spin) {
                // A failure is logged, and refused from then on, by the store.
                drop(next.finish());
            }
        })?;
        Ok(Self {
            apply: Some(apply),
            thread: Some(thread),
        })
    }

    /// Hands `applying` to the thread, or applies it here if the thread is gone.
    pub fn apply_later(&self, applying: Applying) {
        if !applying.pending() {
            return;
        }
        let applying = match &self.apply {
            Some(apply) => match apply.send(applying) {
                Ok(()) => return,
                Err(unsent) => unsent.0,
            },
            None => applying,
        };
        drop(applying.finish());
    }
}

impl Drop for Applier {
    /// Lets the thread apply what it was handed and waits for it.
    fn drop(&mut self) {
        drop(self.apply.take());
        join(self.thread.take(), "applier");
    }
}

/// The next change to apply, looking for it for up to `spin` before sleeping until one
/// comes; `None` once the writer is gone.
///
/// A sleeping thread woken from the other vCPU of a virtual machine takes tens of
/// microseconds to run, and the next change waits for this one to be applied: at a steady
/// trickle of lone changes, looking again for a while costs CPU that is idle anyway. It
/// yields the CPU between looks, so other threads that have work run first.
fn next_to_apply(changes: &Receiver<Applying>, spin: Duration) -> Option<Applying> {
    let started = Instant::now();
    while started.elapsed() < spin {
        match changes.try_recv() {
            Ok(next) => return Some(next),
            Err(TryRecvError::Empty) => std::thread::yield_now(),
            Err(TryRecvError::Disconnected) => return None,
        }
    }
    changes.recv().ok()
}

/// Starts a thread named `name` running `run`.
pub(super) fn spawn(
    name: &str,
    run: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, ServiceError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(run)
        .map_err(|e| {
            tracing::error!(error = %e, thread = name, "cannot start a thread");
            ServiceError::Unavailable
        })
}

/// Waits for `thread` (the `name` thread), if it runs; says so if it panicked.
pub(super) fn join(thread: Option<JoinHandle<()>>, name: &str) {
    if let Some(thread) = thread
        && thread.join().is_err()
    {
        tracing::error!(thread = name, "a thread panicked");
    }
}
