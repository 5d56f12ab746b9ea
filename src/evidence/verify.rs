//! Verifying a run of audit entries and checkpoints, one at a time, in constant memory.
//!
//! Each entry must recompute to its `entry_hash`, carry a valid `entry_mac` (when the key is
//! given), have the next `seq`, and name the previous entry's hash as `prev_hash`. Each
//! checkpoint (with the public key) must be signed and name the hash of the entry before
//! it; checkpoints the log must reach (an export's closing one, a pinned one) show a cut-off
//! tail or a rollback. The first fault stops the walk; the entry after it is looked at once
//! to tell a move or an insertion from a plain change or deletion.

use super::checkpoint::{Checkpoint, PublicKey};
use super::entry::{AuditRecord, GENESIS};
use super::key::MacKey;
use super::report::{Fault, FaultKind, Head, Unanchored, VerifyReport};

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
        }
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
        if let Some(fault) = &mut self.fault {
            if std::mem::take(&mut self.refine_next) {
                refine(fault, record);
            }
            return;
        }
        if let Err(fault) = self.check(record) {
            self.fault = Some(fault);
            self.refine_next = true;
            return;
        }
        self.entries += 1;
        self.first.get_or_insert(record.seq);
        self.head = Some(Head {
            seq: record.seq,
            hash: record.entry_hash.clone(),
        });
        let reached: Vec<bool> = self
            .expected
            .iter()
            .filter(|c| c.seq == record.seq)
            .map(|c| c.head_hash == record.entry_hash)
            .collect();
        if reached.contains(&false) {
            self.fail(record.seq, FaultKind::Forked);
        } else if !reached.is_empty() && self.public_key.is_some() {
            self.anchored = Some(record.seq);
        }
    }

    /// A checkpoint, which follows the entry it covers.
    pub fn push_checkpoint(&mut self, checkpoint: &Checkpoint) {
        if self.fault.is_some() || self.public_key.is_none() || !self.signed(checkpoint) {
            return;
        }
        match &self.head {
            Some(head) if head.seq == checkpoint.seq && head.hash == checkpoint.head_hash => {
                self.anchored = Some(checkpoint.seq);
            }
            Some(head) if head.seq == checkpoint.seq => self.fail(head.seq, FaultKind::Forked),
            _ if checkpoint.seq >= self.next_seq() => {
                self.fail(self.next_seq(), FaultKind::Truncated);
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
        let next = self.next_seq();
        if self.expected.iter().any(|c| c.seq >= next) {
            self.fail(next, FaultKind::Truncated);
        }
        let unanchored = self.first.zip(self.head.as_ref()).and_then(|(first, head)| {
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

    fn check(&self, r: &AuditRecord) -> Result<(), Fault> {
        let sealed = r.computed_hash() == r.entry_hash
            && self
                .key
                .as_ref()
                .is_none_or(|k| k.verify(&r.entry_hash, &r.entry_mac));
        let fault = |seq, kind| Err(Fault { seq, kind });
        let Some(head) = &self.head else {
            // The first entry of a window anchors the walk; only seq 1 has a known parent.
            return match (sealed, r.seq == 1 && r.prev_hash != GENESIS) {
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
            std::cmp::Ordering::Equal if Some(r.prev_hash.as_str()) != prev_hash => {
                fault(expected, FaultKind::Forked)
            }
            std::cmp::Ordering::Equal => Ok(()),
        }
    }
}

/// The entry after a fault tells a move from a deletion, and an insertion from a change.
fn refine(fault: &mut Fault, next: &AuditRecord) {
    if next.seq == fault.seq {
        fault.kind = match fault.kind {
            FaultKind::Deleted => FaultKind::Reordered,
            FaultKind::Changed => FaultKind::Inserted,
            kind => kind,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use serde_json::json;

    fn chain(n: u64, key: &MacKey) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS.to_owned(), |r| r.entry_hash.clone());
            let at = DateTime::from_timestamp_millis(1_700_000_000_000 + seq as i64).unwrap();
            out.push(AuditRecord::seal(
                seq,
                at,
                "request.decided".into(),
                "tok_1".into(),
                format!("req_{seq}"),
                json!({"n": seq}),
                prev,
                key,
            ));
        }
        out
    }

    fn verify(records: &[AuditRecord], key: &MacKey) -> VerifyReport {
        let mut v = Verifier::new(Some(key.clone()));
        records.iter().for_each(|r| v.push(r));
        v.finish()
    }

    fn fault(records: &[AuditRecord], key: &MacKey) -> Option<(u64, FaultKind)> {
        verify(records, key).fault.map(|f| (f.seq, f.kind))
    }

    #[test]
    fn an_untouched_chain_verifies_to_its_head() {
        let key = MacKey::from_bytes([1; 32]);
        let records = chain(10, &key);
        let report = verify(&records, &key);
        assert!(report.ok);
        assert_eq!(report.entries, 10);
        assert_eq!(report.head.unwrap().hash, records[9].entry_hash);
    }

    #[test]
    fn each_mutation_is_found_at_its_first_bad_seq() {
        let key = MacKey::from_bytes([1; 32]);
        let good = chain(10, &key);
        let mut flips: Vec<Vec<AuditRecord>> = Vec::new();
        for field in 0..9 {
            let mut r = good.clone();
            let e = &mut r[4];
            match field {
                0 => e.seq = 50,
                1 => e.at += chrono::Duration::milliseconds(1),
                2 => e.kind.push('x'),
                3 => e.actor.push('x'),
                4 => e.subject.push('x'),
                5 => e.data = json!({"n": 6}),
                6 => e.prev_hash.replace_range(0..1, "f"),
                7 => e.entry_hash.replace_range(0..1, "f"),
                _ => e.entry_mac.replace_range(0..1, "f"),
            }
            flips.push(r);
        }
        for (i, r) in flips.iter().enumerate() {
            assert_eq!(fault(r, &key), Some((5, FaultKind::Changed)), "field {i}");
        }

        let mut deleted = good.clone();
        deleted.remove(4);
        assert_eq!(fault(&deleted, &key), Some((5, FaultKind::Deleted)));

        let mut swapped = good.clone();
        swapped.swap(4, 5);
        assert_eq!(fault(&swapped, &key), Some((5, FaultKind::Reordered)));

        // A forger without the key: the entry is well formed but not sealed by the service.
        let forged = chain(10, &MacKey::from_bytes([2; 32]));
        let mut inserted = good.clone();
        let mut fake = forged[4].clone();
        fake.prev_hash = good[3].entry_hash.clone();
        fake.entry_hash = fake.computed_hash();
        inserted.insert(4, fake);
        assert_eq!(fault(&inserted, &key), Some((5, FaultKind::Inserted)));

        // Sealed by the service, but after a different entry 4: another history.
        let mut other_history = good.clone();
        let e = &good[4];
        other_history[4] = AuditRecord::seal(
            5,
            e.at,
            e.kind.clone(),
            e.actor.clone(),
            e.subject.clone(),
            e.data.clone(),
            good[2].entry_hash.clone(),
            &key,
        );
        assert_eq!(fault(&other_history, &key), Some((5, FaultKind::Forked)));
    }
}
