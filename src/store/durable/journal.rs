//! The journal: a preallocated file of numbered, checksummed records, each the redo log of
//! one committed write transaction, written before the transaction commits and synced
//! before anyone sees or is told of the commit.
//!
//! A commit is durable once its record is synced: one short sequential write, where a
//! durable database commit writes every page the transaction touched. The database commits
//! without waiting for the disk and is made durable now and then (a sync); once the sync
//! after its last record is on disk, the file is written again from its start (the pair of
//! files, `journals.rs`). On open, the records the database does not have yet are applied
//! again.
//!
//! The file begins with a 4 KiB block naming its format (`MAGIC`, then the format number);
//! records follow. A journal of another format is refused rather than misread.
//!
//! Record layout: `len: u32 LE | seq: u64 LE | check: 8 bytes | payload: len bytes`, where
//! `check` is the start of SHA-256 over `seq | len | payload`. Reading stops at the first
//! record that does not check or does not follow its predecessor: a torn write, zeroes (also
//! where a record was taken back because its transaction did not commit), or an older record
//! from before the last sync.

use super::background::Background;
use super::error::JournalError;
use super::file::JournalFile;
use super::growth::{STEP, ahead, fill};
use super::syncer::{JournalSync, Syncer};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const HEADER: usize = 20;
/// What a journal file begins with.
const MAGIC: &[u8; 8] = b"CLRJRNL\0";
/// The format of records this code writes and reads.
const FORMAT: u32 = 1;
/// Records start after the block naming the format.
const START: u64 = 4096;

/// A journal file, and where the next record goes.
#[derive(Debug)]
pub(super) struct Journal {
    file: Arc<dyn JournalFile>,
    /// The file's length: zeroes or records up to here, never a hole.
    len: u64,
    /// The most the file may grow to.
    max: u64,
    /// Where the next record goes.
    pos: u64,
    /// A growth started ahead of need (`growth.rs`), not taken in yet.
    growing: Option<Background<u64>>,
}

/// A record read back: its number and payload.
#[derive(Debug, PartialEq)]
pub(super) struct Record {
    pub seq: u64,
    pub payload: Vec<u8>,
}

impl Journal {
    /// Opens the journal in `file` (`created`: new and empty, so its header is written). It
    /// may grow to `max` bytes, a step at a time, each step written with zeroes (and synced)
    /// before records go there, so that appending a record never allocates space, which
    /// would make its sync slower.
    pub fn open(file: Box<dyn JournalFile>, created: bool, max: u64) -> Result<Self, JournalError> {
        let len = file.size()?;
        let mut journal = Self {
            file: Arc::from(file),
            len,
            max: max.max(STEP),
            pos: START,
            growing: None,
        };
        if created || len == 0 {
            let mut block = MAGIC.to_vec();
            block.extend(FORMAT.to_le_bytes());
            block.resize(START as usize, 0);
            journal.file.write_all_at(&block, 0)?;
            journal.len = START;
            journal.grow_to(START + STEP)?;
        }
        journal.check_format()?;
        Ok(journal)
    }

    /// Refuses a file that is not a journal of this format.
    fn check_format(&self) -> Result<(), JournalError> {
        let mut head = [0u8; 12];
        if self.len < START || self.file.read_exact_at(&mut head, 0).is_err() {
            return Err(JournalError::CutShort);
        }
        let (magic, format) = head.split_at(8);
        if magic != MAGIC {
            return Err(JournalError::NotAJournal);
        }
        if format != FORMAT.to_le_bytes() {
            return Err(JournalError::UnknownFormat);
        }
        Ok(())
    }

    /// Fills the file with zeroes from its end to at least `len`, in whole steps.
    fn grow_to(&mut self, len: u64) -> Result<(), JournalError> {
        self.len = fill(self.file.as_ref(), self.len, len)?;
        Ok(())
    }

    /// Starts growing the file ahead of need to `len` bytes (at most its maximum), on a
    /// thread of its own with `background`, else owed until [`Journal::settle`]. Only for
    /// a file no record goes to until then (the pair's idle one); nothing if it is that
    /// long already or a growth is under way.
    pub fn grow_ahead(&mut self, len: u64, background: bool) {
        let to = len.min(self.max);
        if to > self.len && self.growing.is_none() {
            self.growing = Some(ahead(&self.file, self.len, to, background));
        }
    }

    /// Takes in a growth started ahead, if it is done (`wait`: waiting for it); an owed one
    /// runs now.
    pub fn settle(&mut self, wait: bool) {
        match self.growing.take() {
            Some(growth) if wait || growth.finished() => {
                // One that failed leaves the length: its zeroes are written again when needed.
                if let Ok(len) = growth.wait() {
                    self.len = self.len.max(len);
                }
            }
            running => self.growing = running,
        }
    }

    /// Where the next record goes: how much of the file records use since its start.
    pub fn used(&self) -> u64 {
        self.pos
    }

    /// The records after `applied`, in order. Records numbered `applied` or lower were
    /// written before the database was last made durable and are skipped; a gap after
    /// `applied` means records were lost, and is an error.
    #[cfg(test)]
    pub fn records_after(&self, applied: u64) -> Result<Vec<Record>, JournalError> {
        continuing(applied, self.chain_after(applied)?)
    }

    /// The records numbered after `applied` in the chain from the file's start: each
    /// record the next number after its predecessor, up to the first that is not, or does
    /// not check. The first may be later than `applied + 1`: the pair's other journal may
    /// hold those before it (`journals.rs`).
    pub fn chain_after(&self, applied: u64) -> Result<Vec<Record>, JournalError> {
        let mut out = Vec::new();
        let mut pos = START;
        let mut previous: Option<u64> = None;
        while let Some((record, next)) = self.read_at(pos)? {
            if previous.is_some_and(|p| record.seq != p + 1) {
                break;
            }
            previous = Some(record.seq);
            pos = next;
            if record.seq > applied {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// The record at `pos` and where the next one starts, if a whole record is there.
    fn read_at(&self, pos: u64) -> Result<Option<(Record, u64)>, JournalError> {
        let mut header = [0u8; HEADER];
        if pos + HEADER as u64 > self.len {
            return Ok(None);
        }
        self.file.read_exact_at(&mut header, pos)?;
        let (len, rest) = header.split_at(4);
        let (seq, check) = rest.split_at(8);
        let len = u32::from_le_bytes(len.try_into().unwrap_or_default());
        let seq = u64::from_le_bytes(seq.try_into().unwrap_or_default());
        let end = pos + HEADER as u64 + u64::from(len);
        if len == 0 || end > self.len {
            return Ok(None);
        }
        let mut payload = vec![0u8; len as usize];
        self.file.read_exact_at(&mut payload, pos + HEADER as u64)?;
        if check != checksum(seq, &payload) {
            return Ok(None);
        }
        Ok(Some((Record { seq, payload }, end)))
    }

    /// Whether a record of `len` payload bytes fits after those written since the last
    /// reset, growing the file if need be.
    pub fn fits(&self, len: usize) -> bool {
        self.pos + (HEADER + len) as u64 <= self.max
    }

    /// Appends a record and starts writing it to disk; [`Journal::sync`] waits until it is
    /// there. The caller checked that it fits.
    pub fn write(&mut self, seq: u64, payload: &[u8]) -> Result<(), JournalError> {
        let len = u32::try_from(payload.len()).map_err(|_| JournalError::RecordTooLarge)?;
        let mut record = Vec::with_capacity(HEADER + payload.len());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&seq.to_le_bytes());
        record.extend_from_slice(&checksum(seq, payload));
        record.extend_from_slice(payload);
        let end = self.pos + record.len() as u64;
        if end > self.len {
            self.settle(true);
        }
        if end > self.len {
            self.grow_to(end)?;
        }
        self.file.write_all_at(&record, self.pos)?;
        self.file.start_writeback(self.pos, record.len());
        self.pos = end;
        Ok(())
    }

    /// Waits until every record written is on disk.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        Ok(self.file.sync_data()?)
    }

    /// Starts making every record written durable, on `syncer`'s thread; waiting for the
    /// result is the caller's.
    pub fn start_sync(&self, syncer: &Syncer) -> JournalSync {
        syncer.start(&self.file)
    }

    /// Appends a record and waits until it is on disk.
    #[cfg(test)]
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> Result<(), JournalError> {
        self.write(seq, payload)?;
        self.sync()
    }

    /// Takes back the last record appended, of `len` payload bytes: its transaction did not
    /// commit. The next record goes in its place; before that, its header is zeroed on disk
    /// and synced, so that the store opened after a crash does not apply a change whose
    /// caller was told it failed. An error here means the record may still be applied then.
    pub fn retract(&mut self, len: usize) -> Result<(), JournalError> {
        // Moved back first: whatever happens below, the next record takes this one's place
        // and number, so the journal never holds the same number twice.
        self.pos = self.pos.saturating_sub((HEADER + len) as u64).max(START);
        self.file.write_all_at(&[0; HEADER], self.pos)?;
        self.sync()
    }

    /// Swaps the file for one that refuses writes, as a failing disk would.
    #[cfg(test)]
    pub fn break_file(&mut self) {
        self.file = Arc::new(super::file::Broken);
    }

    /// Starts again from the beginning: everything written so far is in the durable
    /// database.
    pub fn reset(&mut self) {
        self.pos = START;
    }
}

/// `records`, in order, if they are numbered one after another from `applied + 1`.
pub(super) fn continuing(applied: u64, records: Vec<Record>) -> Result<Vec<Record>, JournalError> {
    let follows = records
        .iter()
        .zip(applied + 1..)
        .all(|(record, expected)| record.seq == expected);
    match follows {
        true => Ok(records),
        false => Err(JournalError::RecordsMissing),
    }
}

fn checksum(seq: u64, payload: &[u8]) -> [u8; 8] {
    let mut hash = Sha256::new();
    hash.update(seq.to_le_bytes());
    hash.update((payload.len() as u64).to_le_bytes());
    hash.update(payload);
    let mut out = [0u8; 8];
    out.iter_mut()
        .zip(hash.finalize())
        .for_each(|(o, d)| *o = d);
    out
}

impl Drop for Journal {
    /// Waits for a growth still running, so that nothing writes to the file once it is
    /// closed (the store may open it again at once).
    fn drop(&mut self) {
        if let Some(growth) = self.growing.take() {
            growth.join_if_running();
        }
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
