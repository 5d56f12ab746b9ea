//! Growing a journal file: writing zeroes past its end and syncing them, so that appending a
//! record never allocates space (which would make the record's sync slower).
//!
//! A file grows inline when a record does not fit, holding the writer for a multi-megabyte
//! write and sync. To make that rare, the pair grows its idle file ahead of need
//! (`journals.rs`): after a switch, the file just left is grown to what that period used
//! and half again (a step at least), on a thread of its own, while records go to the other
//! file. No record is written to a file while it grows ahead, so no record's sync waits
//! behind the zeroes; the file's length moves only once its zeroes are synced, so
//! everything before it stays records or zeroes, never a hole. On a disk that does nothing
//! in the background (a simulated one), the growth is owed until the file becomes active,
//! and runs then.

use super::file::JournalFile;
use std::io;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

/// A file grows by whole steps of this many bytes.
pub(super) const STEP: u64 = 4 << 20;

/// Writes zeroes from `from` to `to` (whole steps past `from`) and syncs them; the new length.
pub(super) fn fill(file: &dyn JournalFile, from: u64, to: u64) -> io::Result<u64> {
    let zeroes = vec![0u8; STEP as usize];
    let mut len = from;
    while len < to {
        file.write_all_at(&zeroes, len)?;
        len += STEP;
    }
    file.sync_data()?;
    Ok(len)
}

/// A growth started ahead of need.
#[derive(Debug)]
pub(super) enum Growth {
    /// Running on a thread of its own; its result is the file's new length.
    Running(Receiver<io::Result<u64>>),
    /// To run when the file is needed.
    Owed {
        file: Arc<dyn JournalFile>,
        from: u64,
        to: u64,
    },
}

impl Growth {
    /// Starts growing `file` from `from` to `to`: on a thread with `background` (owed if none
    /// can be started), else owed.
    pub fn start(file: &Arc<dyn JournalFile>, from: u64, to: u64, background: bool) -> Self {
        let owed = || Self::Owed {
            file: Arc::clone(file),
            from,
            to,
        };
        if !background {
            return owed();
        }
        let (done, result) = sync_channel(1);
        let grown = Arc::clone(file);
        let thread = std::thread::Builder::new()
            .name("journal-grow".into())
            .spawn(move || {
                let _ = done.send(fill(grown.as_ref(), from, to));
            });
        match thread {
            Ok(_) => Self::Running(result),
            Err(_) => owed(),
        }
    }

    /// The new length once the growth is done (`wait`: waiting for one still running; an
    /// owed one runs now); `Err(self)` while it runs, `Ok(None)` if it failed, in which
    /// case the zeroes are written again when needed.
    pub fn finish(self, wait: bool) -> Result<Option<u64>, Self> {
        match self {
            Self::Running(result) if wait => Ok(result.recv().ok().and_then(Result::ok)),
            Self::Running(result) => match result.try_recv() {
                Ok(grown) => Ok(grown.ok()),
                Err(std::sync::mpsc::TryRecvError::Empty) => Err(Self::Running(result)),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => Ok(None),
            },
            Self::Owed { file, from, to } => Ok(fill(file.as_ref(), from, to).ok()),
        }
    }
}
