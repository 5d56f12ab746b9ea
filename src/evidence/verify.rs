//! Verifying a run of audit entries, one at a time, in constant memory.
//!
//! Each entry must recompute to its `entry_hash`, carry a valid `entry_mac` (when the key is
//! given), have the next `seq`, and name the previous entry's hash as `prev_hash`. The first
//! fault stops the walk; the entry after it is looked at once to tell a move or an insertion
//! from a plain change or deletion.

use super::entry::{AuditRecord, GENESIS};
use super::key::MacKey;
use serde::Serialize;

/// What is wrong at the first bad `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The entry's content, hash or MAC is not what the service wrote.
    Changed,
    /// An entry is missing: the next one has a later `seq`.
    Deleted,
    /// An entry the service did not write sits at this `seq`.
    Inserted,
    /// Entries are out of order.
    Reordered,
    /// A well-formed entry that does not follow its predecessor: another history.
    Forked,
    /// The line is not an audit entry at all.
    Malformed,
}

/// The first fault found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Fault {
    /// The first `seq` that does not verify.
    pub seq: u64,
    /// What is wrong there.
    pub kind: FaultKind,
}

/// The last verified entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Head {
    /// Its `seq`.
    pub seq: u64,
    /// Its `entry_hash`.
    pub hash: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// True when every entry verified.
    pub ok: bool,
    /// Entries verified before the first fault.
    pub entries: u64,
    /// The last verified entry.
    pub head: Option<Head>,
    /// The first fault, if any.
    pub fault: Option<Fault>,
}

/// Walks entries in order; see the module documentation.
#[derive(Debug)]
pub struct Verifier {
    key: Option<MacKey>,
    head: Option<Head>,
    entries: u64,
    fault: Option<Fault>,
    refine_next: bool,
}

impl Verifier {
    /// A verifier that checks MACs when `key` is given.
    pub fn new(key: Option<MacKey>) -> Self {
        Self {
            key,
            head: None,
            entries: 0,
            fault: None,
            refine_next: false,
        }
    }

    /// The `seq` the next entry must have, when known.
    fn expected(&self) -> Option<u64> {
        self.head.as_ref().map(|h| h.seq + 1)
    }

    /// Takes the next entry.
    pub fn push(&mut self, record: &AuditRecord) {
        if let Some(fault) = &mut self.fault {
            if std::mem::take(&mut self.refine_next) {
                refine(fault, record);
            }
            return;
        }
        match self.check(record) {
            Ok(()) => {
                self.entries += 1;
                self.head = Some(Head {
                    seq: record.seq,
                    hash: record.entry_hash.clone(),
                });
            }
            Err(fault) => {
                self.fault = Some(fault);
                self.refine_next = true;
            }
        }
    }

    /// Takes a line that is not an entry.
    pub fn push_malformed(&mut self) {
        if self.fault.is_none() {
            let seq = self.expected().unwrap_or(1);
            self.fault = Some(Fault {
                seq,
                kind: FaultKind::Malformed,
            });
        }
        self.refine_next = false;
    }

    /// The outcome.
    pub fn finish(self) -> VerifyReport {
        VerifyReport {
            ok: self.fault.is_none(),
            entries: self.entries,
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
        let Some(expected) = self.expected() else {
            // The first entry of a window anchors the walk; only seq 1 has a known parent.
            return match (sealed, r.seq == 1 && r.prev_hash != GENESIS) {
                (false, _) => fault(r.seq, FaultKind::Changed),
                (true, true) => fault(r.seq, FaultKind::Forked),
                (true, false) => Ok(()),
            };
        };
        let prev_hash = self.head.as_ref().map(|h| h.hash.as_str());
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
