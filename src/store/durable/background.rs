//! File work the writer need not wait for at once — the database's periodic `fdatasync`
//! (`backend.rs`), a journal file grown ahead of need (`growth.rs`) — run on a thread of its
//! own, or owed until waited for: on a disk that does nothing in the background (a simulated
//! one, whose every call a test follows in order), or when no thread could be started.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The work, shared so that it can still run inline if its thread cannot be started.
type Job<T> = Arc<dyn Fn() -> io::Result<T> + Send + Sync>;

/// Work started by [`Background::start`], running or still to run.
pub(super) enum Background<T> {
    /// Running on its own thread.
    Running(JoinHandle<io::Result<T>>),
    /// To run when waited for.
    Owed(Job<T>),
}

impl<T: Send + 'static> Background<T> {
    /// Starts `job` on a thread named `name` with `background`; else, or if no thread could
    /// be started, it is owed.
    pub fn start(
        name: &str,
        background: bool,
        job: impl Fn() -> io::Result<T> + Send + Sync + 'static,
    ) -> Self {
        let job: Job<T> = Arc::new(job);
        if !background {
            return Self::Owed(job);
        }
        let run = Arc::clone(&job);
        match std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run())
        {
            Ok(thread) => Self::Running(thread),
            Err(_) => Self::Owed(job),
        }
    }
}

impl<T> Background<T> {
    /// Whether waiting would not block on a thread still at work.
    pub fn finished(&self) -> bool {
        match self {
            Self::Running(thread) => thread.is_finished(),
            Self::Owed(_) => true,
        }
    }

    /// Waits until the work returned (running it first if it is owed); its result.
    pub fn wait(self) -> io::Result<T> {
        match self {
            Self::Running(thread) => {
                let name = thread.thread().name().unwrap_or("background").to_owned();
                thread.join().unwrap_or_else(|_| {
                    Err(io::Error::other(format!("the {name} thread panicked")))
                })
            }
            Self::Owed(job) => job(),
        }
    }

    /// Waits for a thread still at work; owed work is dropped without running.
    pub fn join_if_running(self) {
        if let Self::Running(thread) = self {
            let _ = thread.join();
        }
    }
}

impl<T> std::fmt::Debug for Background<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Running(_) => f.write_str("Running"),
            Self::Owed(_) => f.write_str("Owed"),
        }
    }
}
