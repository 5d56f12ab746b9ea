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
    /// it sleeps (less while changes come further apart: see [`LookAgain`]).
    pub fn start(spin: Duration) -> Result<Self, ServiceError> {
        let (apply, changes) = channel::<Applying>();
        let thread = spawn("clearance-applier", move || {
            let mut look = LookAgain::new(spin);
            loop {
                let idle = Instant::now();
                let Some(next) = next_to_apply(&changes, look.current()) else {
                    return;
                };
                look.after(idle.elapsed());
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

/// How long the applier looks for the next change before it sleeps: the full `max` while
/// changes come within it of each other, halved after each that did not (down to not at all,
/// below an eighth), and the full time again once one does. So a steady trickle of changes
/// further apart than `max` does not cost `max` of CPU each (the guest's haltpoll governor
/// adapts its polling the same way).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LookAgain {
    max: Duration,
    current: Duration,
}

impl LookAgain {
    fn new(max: Duration) -> Self {
        Self { max, current: max }
    }

    fn current(&self) -> Duration {
        self.current
    }

    /// The next change came `waited` after the last was applied.
    fn after(&mut self, waited: Duration) {
        self.current = if waited <= self.max {
            self.max
        } else if self.current / 2 < self.max / 8 {
            Duration::ZERO
        } else {
            self.current / 2
        };
    }
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

#[cfg(test)]
mod tests {
    use super::LookAgain;
    use std::time::Duration;

    #[test]
    fn looking_again_shrinks_while_changes_come_further_apart_and_recovers_at_once() {
        let us = Duration::from_micros;
        let mut look = LookAgain::new(us(500));
        let mut seen = Vec::new();
        for waited in [300, 2_000, 2_000, 2_000, 2_000, 2_000, 400, 500, 501] {
            look.after(us(waited));
            seen.push(look.current().as_micros());
        }
        assert_eq!(seen, [500, 250, 125, 62, 0, 0, 500, 500, 250]);
        assert_eq!(LookAgain::new(Duration::ZERO).current(), Duration::ZERO);
    }
}
