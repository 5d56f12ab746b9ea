//! Verifying a run of audit entries and checkpoints, one at a time, in constant memory.
//!
//! Each entry must recompute to its `entry_hash`, carry a valid `entry_mac` (when the key is
//! given), have the next `seq`, and name the previous entry's hash as `prev_hash`. Each
//! checkpoint (with the public key) must be signed and name the hash of the entry before
//! it; checkpoints the log must reach (an export's closing one, a pinned one) show a cut-off
//! tail or a rollback. The first fault stops the walk; the entry after it is looked at once
//! to tell a move or an insertion from a plain change or deletion.

use super::checkpoint::{Checkpoint, PublicKey};
use super::entry::{AuditRecord, GENESIS, RawEntry};
use super::key::MacKey;
use super::report::{Fault, FaultKind, Head, Unanchored, VerifyReport};

/// What the walk needs of one entry.
struct Seen<'a> {
    seq: u64,
    prev_hash: &'a str,
    entry_hash: &'a str,
    entry_mac: &'a str,
    /// Whether its content hashes to `entry_hash`.
    hash_matches: bool,
}

/// Checks entries in `seq` order; see the module documentation.
#[derive(Debug)]
pub struct Verifier {
    key: Option<MacKey>,
    public_key: Option<PublicKey>,
    head: Option<Head>,
    entries: u64,
    fault: Option<Fault>,
    refine_next: bool,
    anchored: Option<u64>,
    /// The first entry verified.
    first: Option<u64>,
    /// Checkpoints the log must reach with the same hash.
    expected: Vec<Checkpoint>,
    /// The last `seq` the input may hold (an export's closing checkpoint).
    last_allowed: Option<u64>,
    /// Whether an export's header line was read (an export must start with one).
    pub(super) header_seen: bool,
    /// Whether the input must be an export (see [`Verifier::export`]).
    header_required: bool,
    /// Whether the walk must start at `seq` 1 (an export whose header has no `start`).
    pub(super) from_genesis: bool,
    /// Whether the closing checkpoint (see [`Verifier::end_at`]) was read on its own line.
    closed: bool,
    /// The `seq` of the last checkpoint pushed; each must cover a later one.
    last_checkpoint: Option<u64>,
}

impl Verifier {
    /// A verifier that checks MACs when `key` is given.
    pub fn new(key: Option<MacKey>) -> Self {
        Self {
            key,
            public_key: None,
            head: None,
            entries: 0,
            fault: None,
            refine_next: false,
            anchored: None,
            first: None,
            expected: Vec::new(),
            last_allowed: None,
            header_seen: false,
            header_required: false,
            from_genesis: false,
            closed: false,
            last_checkpoint: None,
        }
    }

    /// A verifier of an export (see [`Verifier::push_line`]): input without the export's
    /// header line, even empty input, does not verify.
    pub fn export(key: Option<MacKey>, public_key: Option<PublicKey>) -> Self {
        let mut verifier = Self::new(key).with_public_key(public_key);
        verifier.header_required = true;
        verifier
    }

    /// Checks checkpoints under `key`; without one they are skipped and nothing is anchored.
    pub fn with_public_key(mut self, key: Option<PublicKey>) -> Self {
        self.public_key = key;
        self
    }

    /// Starts after `anchor` instead of at the genesis: the next entry must follow it.
    pub fn start_after(&mut self, anchor: &Checkpoint) {
        if self.signed(anchor) {
            self.head = Some(Head {
                seq: anchor.seq,
                hash: anchor.head_hash.clone(),
            });
            self.anchored = self.public_key.as_ref().map(|_| anchor.seq);
        }
    }

    /// The log must reach `checkpoint` (an export's closing one, or one pinned by an auditor)
    /// with the same hash.
    pub fn expect(&mut self, checkpoint: Checkpoint) {
        if self.signed(&checkpoint) {
            self.expected.push(checkpoint);
        }
    }

    /// True before any line was pushed.
    pub(super) fn is_fresh(&self) -> bool {
        self.head.is_none() && self.fault.is_none()
    }

    /// The input ends at `checkpoint`: entries after it were added to it.
    pub fn end_at(&mut self, checkpoint: Checkpoint) {
        self.last_allowed = Some(checkpoint.seq);
        self.expect(checkpoint);
    }

    fn next_seq(&self) -> u64 {
        self.head.as_ref().map_or(1, |h| h.seq + 1)
    }

    fn fail(&mut self, seq: u64, kind: FaultKind) {
        if self.fault.is_none() {
            self.fault = Some(Fault { seq, kind });
        }
    }

    /// Whether `checkpoint` is signed under the public key (true without one); records a
    /// fault when it is not.
    fn signed(&mut self, checkpoint: &Checkpoint) -> bool {
        match &self.public_key {
            Some(key) if !checkpoint.verify(key) => {
                self.fail(checkpoint.seq, FaultKind::BadCheckpoint);
                false
            }
            _ => true,
        }
    }

    /// The next entry.
    pub fn push(&mut self, record: &AuditRecord) {
        self.push_seen(&Seen {
            seq: record.seq,
            prev_hash: &record.prev_hash,
            entry_hash: &record.entry_hash,
            entry_mac: &record.entry_mac,
            // After a fault only the next entry's seq matters; skip hashing.
            hash_matches: self.fault.is_none() && record.computed_hash() == record.entry_hash,
        });
    }

    /// The next entry, as read from an export line.
    pub(super) fn push_raw(&mut self, entry: &RawEntry<'_>) {
        // After a fault only the next entry's seq matters; skip hashing.
        let hash_matches = self.fault.is_none() && entry.hash_matches();
        self.push_seen(&Seen {
            seq: entry.seq,
            prev_hash: &entry.prev_hash,
            entry_hash: &entry.entry_hash,
            entry_mac: &entry.entry_mac,
            hash_matches,
        });
    }

    fn push_seen(&mut self, record: &Seen<'_>) {
        if let Some(fault) = &mut self.fault {
            if std::mem::take(&mut self.refine_next) {
                refine(fault, record);
            }
            return;
        }
        let beyond_end = |seq| self.last_allowed.is_some_and(|last| seq > last);
        match self.check(record) {
            Err(mut fault) => {
                if beyond_end(fault.seq) {
                    fault.kind = FaultKind::Inserted;
                }
                self.fault = Some(fault);
                self.refine_next = true;
                return;
            }
            Ok(()) if beyond_end(record.seq) => {
                self.fail(record.seq, FaultKind::Inserted);
                return;
            }
            Ok(()) => {}
        }
        self.entries += 1;
        self.first.get_or_insert(record.seq);
        self.head = Some(Head {
            seq: record.seq,
            hash: record.entry_hash.to_owned(),
        });
        // Whether every checkpoint expected at this seq names this hash (none: no such one).
        let reached = self
            .expected
            .iter()
            .filter(|c| c.seq == record.seq)
            .map(|c| c.head_hash == record.entry_hash)
            .reduce(|a, b| a && b);
        match reached {
            Some(false) => self.fail(record.seq, FaultKind::Forked),
            Some(true) if self.public_key.is_some() => self.anchored = Some(record.seq),
            _ => {}
        }
    }

    /// A checkpoint, which follows the entry it covers.
    pub fn push_checkpoint(&mut self, checkpoint: &Checkpoint) {
        if self.fault.is_some() || self.public_key.is_none() || !self.signed(checkpoint) {
            return;
        }
        if self
            .last_checkpoint
            .is_some_and(|last| checkpoint.seq <= last)
        {
            return self.fail(checkpoint.seq, FaultKind::Inserted);
        }
        self.last_checkpoint = Some(checkpoint.seq);
        match &self.head {
            Some(head) if head.seq == checkpoint.seq && head.hash == checkpoint.head_hash => {
                self.anchored = Some(checkpoint.seq);
                self.closed |= self.last_allowed == Some(checkpoint.seq);
            }
            Some(head) if head.seq == checkpoint.seq => self.fail(head.seq, FaultKind::Forked),
            _ if checkpoint.seq >= self.next_seq() => {
                self.fail(self.next_seq(), FaultKind::Truncated);
                self.refine_next = true;
            }
            _ => self.fail(checkpoint.seq, FaultKind::Reordered),
        }
    }

    /// A line that is neither an entry nor a checkpoint.
    pub fn push_malformed(&mut self) {
        self.fail(self.next_seq(), FaultKind::Malformed);
        self.refine_next = false;
    }

    /// The report, once every line was pushed.
    pub fn finish(mut self) -> VerifyReport {
        if self.header_required && !self.header_seen {
            self.fail(1, FaultKind::Malformed);
        }
        let next = self.next_seq();
        // An export ends with its closing checkpoint's own line; without it the tail was cut.
        let unclosed = self.last_allowed.is_some() && !self.closed && self.public_key.is_some();
        if unclosed || self.expected.iter().any(|c| c.seq >= next) {
            self.fail(next, FaultKind::Truncated);
        }
        let unanchored = self
            .first
            .zip(self.head.as_ref())
            .and_then(|(first, head)| {
                let from_seq = self.anchored.map_or(first, |a| (a + 1).max(first));
                (from_seq <= head.seq).then_some(Unanchored {
                    from_seq,
                    to_seq: head.seq,
                })
            });
        VerifyReport {
            ok: self.fault.is_none(),
            entries: self.entries,
            unanchored,
            anchored_seq: self.anchored,
            head: self.head,
            fault: self.fault,
        }
    }

    fn check(&self, r: &Seen<'_>) -> Result<(), Fault> {
        let sealed = r.hash_matches
            && self
                .key
                .as_ref()
                .is_none_or(|k| k.verify(r.entry_hash, r.entry_mac));
        let fault = |seq, kind| Err(Fault { seq, kind });
        let Some(head) = &self.head else {
            // The first entry of a window anchors the walk; only seq 1 has a known parent.
            return match (sealed, r.seq == 1 && r.prev_hash != GENESIS) {
                (true, _) if self.from_genesis && r.seq > 1 => fault(1, FaultKind::Deleted),
                (false, _) => fault(r.seq, FaultKind::Changed),
                (true, true) => fault(r.seq, FaultKind::Forked),
                (true, false) => Ok(()),
            };
        };
        let (expected, prev_hash) = (head.seq + 1, Some(head.hash.as_str()));
        match r.seq.cmp(&expected) {
            std::cmp::Ordering::Greater if sealed => fault(expected, FaultKind::Deleted),
            std::cmp::Ordering::Greater => fault(expected, FaultKind::Changed),
            std::cmp::Ordering::Less if r.seq + 1 == expected => fault(r.seq, FaultKind::Inserted),
            std::cmp::Ordering::Less => fault(expected, FaultKind::Reordered),
            std::cmp::Ordering::Equal if !sealed => fault(expected, FaultKind::Changed),
            std::cmp::Ordering::Equal if Some(r.prev_hash) != prev_hash => {
                fault(expected, FaultKind::Forked)
            }
            std::cmp::Ordering::Equal => Ok(()),
        }
    }
}

/// The entry after a fault tells a move from a deletion, and an insertion from a change.
fn refine(fault: &mut Fault, next: &Seen<'_>) {
    // Entries a checkpoint covers are missing, but later ones follow: a gap, not a cut.
    if fault.kind == FaultKind::Truncated && next.seq > fault.seq {
        fault.kind = FaultKind::Deleted;
    }
    if next.seq == fault.seq {
        fault.kind = match fault.kind {
            FaultKind::Deleted => FaultKind::Reordered,
            FaultKind::Changed => FaultKind::Inserted,
            kind => kind,
        };
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
