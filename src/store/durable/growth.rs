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

use super::background::Background;
use super::file::JournalFile;
use std::io;
use std::sync::Arc;

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

/// Starts growing `file` from `from` to `to` ahead of need: on a thread of its own with
/// `background`, else owed until waited for. Its result is the file's new length.
pub(super) fn ahead(
    file: &Arc<dyn JournalFile>,
    from: u64,
    to: u64,
    background: bool,
) -> Background<u64> {
    let file = Arc::clone(file);
    Background::start("journal-grow", background, move || {
        fill(file.as_ref(), from, to)
    })
}
