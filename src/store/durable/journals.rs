//! The journal pair: two journal files, one written at a time, so that the database can be
//! made durable in the background while changes go on being journaled.
//!
//! When the database is made durable, its pages are written at once but their `fdatasync`
//! runs on another thread (`backend.rs`), and new records go to the other file, from its
//! start. The file written before holds the records since the previous durable commit until
//! that `fdatasync` returned: a power loss meanwhile opens the database at the previous
//! durable commit, and both files' records are applied after it. A file is written from its
//! start again only once the durable commit after its last record is on disk (rule 5).

use super::error::JournalError;
use super::growth::STEP;
use super::journal::{Journal, Record, continuing};
use super::syncer::{JournalSync, Syncer};

/// Two journal files; records go to the active one.
#[derive(Debug)]
pub(super) struct Journals {
    files: [Journal; 2],
    active: usize,
    /// Where the active file's syncs run (`syncer.rs`).
    syncer: Syncer,
    /// Whether the idle file grows on a thread of its own (`growth.rs`).
    background: bool,
    /// Runs at each sync, before it; its error is the sync's.
    #[cfg(test)]
    sync_hook: Option<SyncHook>,
}

/// What a test runs at each sync of the journal.
#[cfg(test)]
pub(super) struct SyncHook(pub Box<dyn FnMut() -> std::io::Result<()> + Send>);

#[cfg(test)]
impl std::fmt::Debug for SyncHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncHook")
    }
}

impl Journals {
    /// The pair of `first` and `second`; records go to `first` until the first switch.
    /// With `background`, their syncs run on a thread of their own while the writer goes on
    /// (see `syncer.rs`); without, when they are waited for.
    pub fn new(first: Journal, second: Journal, background: bool) -> Self {
        Self {
            files: [first, second],
            active: 0,
            syncer: Syncer::new(background),
            background,
            #[cfg(test)]
            sync_hook: None,
        }
    }

    /// The records after `applied` in both files, in order; a gap after `applied` means
    /// records were lost, and is an error.
    pub fn records_after(&self, applied: u64) -> Result<Vec<Record>, JournalError> {
        let [first, second] = &self.files;
        let mut records = first.chain_after(applied)?;
        records.extend(second.chain_after(applied)?);
        records.sort_by_key(|r| r.seq);
        continuing(applied, records)
    }

    fn active(&mut self) -> &mut Journal {
        let [first, second] = &mut self.files;
        match self.active {
            0 => first,
            _ => second,
        }
    }

    fn idle(&mut self) -> &mut Journal {
        let [first, second] = &mut self.files;
        match self.active {
            0 => second,
            _ => first,
        }
    }

    /// Whether a record of `len` payload bytes fits in the active file.
    pub fn fits(&self, len: usize) -> bool {
        self.current().fits(len)
    }

    /// The active file, to read.
    fn current(&self) -> &Journal {
        let [first, second] = &self.files;
        match self.active {
            0 => first,
            _ => second,
        }
    }

    /// Appends a record to the active file; see [`Journal::write`].
    pub fn write(&mut self, seq: u64, payload: &[u8]) -> Result<(), JournalError> {
        self.active().write(seq, payload)
    }

    /// Starts making every record written to the active file durable; the record is on
    /// disk once the result was waited for.
    pub fn start_sync(&mut self) -> Result<JournalSync, JournalError> {
        #[cfg(test)]
        if let Some(hook) = &mut self.sync_hook {
            (hook.0)()?;
        }
        Ok(self.current().start_sync(&self.syncer))
    }

    /// Waits until every record written to the active file is on disk.
    #[cfg(test)]
    pub fn sync(&mut self) -> Result<(), JournalError> {
        Ok(self.start_sync()?.wait()?)
    }

    /// Takes back the last record appended; see [`Journal::retract`].
    pub fn retract(&mut self, len: usize) -> Result<(), JournalError> {
        self.active().retract(len)
    }

    /// Records go to the other file from its start. Only once every record it holds is in
    /// the durable database: the durable commit before the active file's first record
    /// returned from its `fdatasync`.
    ///
    /// The file left is idle until the next switch: it grows meanwhile to what this period
    /// used and half again (a step at least), so that the next period on it rarely grows
    /// it inline (`growth.rs`).
    pub fn switch(&mut self) {
        let used = self.current().used();
        self.active = 1 - self.active;
        self.active().settle(false);
        self.active().reset();
        let background = self.background;
        self.idle()
            .grow_ahead(used + (used / 2).max(STEP), background);
    }

    /// Both files start again: every record written so far is in the durable database.
    pub fn reset(&mut self) {
        self.files.iter_mut().for_each(Journal::reset);
    }

    /// Makes every later write to either file fail, as a full or failing disk would.
    #[cfg(test)]
    pub fn break_files(&mut self) {
        self.files.iter_mut().for_each(Journal::break_file);
    }

    /// Runs `hook` at each sync from now on, before it; its error is the sync's.
    #[cfg(test)]
    pub fn on_sync(&mut self, hook: SyncHook) {
        self.sync_hook = Some(hook);
    }
}
