//! Retention: dropping the oldest audit entries while keeping the rest verifiable.
//!
//! A pruned prefix leaves a signed anchor: a checkpoint over the last entry removed. The
//! entry after it links to the anchor's hash, so verification (in the server and of exports)
//! starts after the anchor instead of at the genesis.

use super::audit::AuditQueries;
use super::codec::{Tables, decode, encode};
use super::tables::{AUDIT, CHECKPOINTS};
use super::{StoreError, WriteView};
use crate::evidence::{AuditRecord, Checkpoint};
use chrono::{DateTime, Utc};
use redb::ReadableTable;

/// What one pruning removed.
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The first `seq` removed.
    pub from_seq: u64,
    /// The last `seq` removed; the anchor covers it.
    pub through_seq: u64,
    /// The checkpoint the remaining log starts after.
    pub anchor: Checkpoint,
}

impl Pruned {
    /// How many entries were removed.
    pub fn entries(&self) -> u64 {
        self.through_seq + 1 - self.from_seq
    }
}

impl WriteView<'_> {
    /// Removes up to `max` of the oldest entries made before `before`, never the newest
    /// entry, and the checkpoints before them; signs the anchor at `at` unless a checkpoint
    /// covers the last removed entry already. `None` when nothing is due.
    pub fn prune_audit(
        &mut self,
        before: DateTime<Utc>,
        at: DateTime<Utc>,
        max: u64,
    ) -> Result<Option<Pruned>, StoreError> {
        let (first, newest) = {
            let audit = self.open(AUDIT)?;
            let first = audit.first()?.map(|(seq, _)| seq.value());
            let newest = audit.last()?.map(|(seq, _)| seq.value());
            match (first, newest) {
                (Some(first), Some(newest)) => (first, newest),
                _ => return Ok(None),
            }
        };
        let last_due = self.audit_seq_at(before)?.saturating_sub(1);
        let through = last_due.min(newest - 1).min(first + max.max(1) - 1);
        if through < first {
            return Ok(None);
        }
        let anchor = self.anchor_at(through, at)?;
        self.table(AUDIT)?.remove_range(first..=through)?;
        self.table(CHECKPOINTS)?.remove_range(..through)?;
        Ok(Some(Pruned {
            from_seq: first,
            through_seq: through,
            anchor,
        }))
    }

    /// The checkpoint over entry `seq`, signed now if there is none.
    fn anchor_at(&mut self, seq: u64, at: DateTime<Utc>) -> Result<Checkpoint, StoreError> {
        if let Some(existing) = self.open(CHECKPOINTS)?.get(seq)? {
            return decode("checkpoints", existing.value());
        }
        let hash = match self.open(AUDIT)?.get(seq)? {
            Some(bytes) => decode::<AuditRecord>("audit", bytes.value())?.entry_hash,
            None => return Err(StoreError::Missing("audit entry to anchor")),
        };
        let anchor = self.sealing.signer.sign(seq, &hash, at);
        self.table(CHECKPOINTS)?
            .insert(seq, encode(&anchor)?.as_slice())?;
        // The anchor may be newer than the last checkpoint this transaction knows of.
        self.last_checkpoint = None;
        Ok(anchor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::evidence::Verifier;
    use crate::store::{AuditQueries, CheckpointPolicy, NewAuditEntry, Store, StoreOptions};
    use chrono::{Duration, TimeZone};

    fn entry(n: u64) -> NewAuditEntry {
        NewAuditEntry {
            kind: "test.entry",
            actor: "test".into(),
            subject: format!("e{n}"),
            data: serde_json::json!({ "n": n }),
        }
    }

    fn verifies(store: &Store) -> bool {
        let mut verifier = Verifier::new(Some(store.audit_key().clone()))
            .with_public_key(Some(store.public_key().clone()));
        store.read().unwrap().verify_audit(&mut verifier).unwrap();
        let report = verifier.finish();
        report.ok && report.fault.is_none()
    }

    #[test]
    fn pruning_in_batches_keeps_the_newest_entry_and_a_verifiable_rest() {
        let dir = tempfile::tempdir().unwrap();
        let policy = CheckpointPolicy {
            every: 7,
            interval: Duration::days(1),
        };
        let options = StoreOptions {
            checkpoints: policy,
            ..StoreOptions::default()
        };
        let store = Store::open_with(dir.path(), options).unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        store
            .write(|w| {
                for n in 0..30 {
                    w.audit(entry(n), t0 + Duration::minutes(n as i64))?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let later = t0 + Duration::days(1);
        let mut pruned = Vec::new();
        while let Some(p) = store.write(|w| w.prune_audit(later, later, 8)).unwrap() {
            assert!(verifies(&store), "after pruning through {}", p.through_seq);
            pruned.push((p.from_seq, p.through_seq, p.anchor.seq));
        }
        // Batches of 8; the newest entry (30) stays; anchors over the last entry removed.
        assert_eq!(pruned, [(1, 8, 8), (9, 16, 16), (17, 24, 24), (25, 29, 29)]);
        let read = store.read().unwrap();
        assert_eq!(read.audit_head().unwrap().map(|h| h.0), Some(30));
        assert_eq!(read.checkpoints(0, 10).unwrap()[0].seq, 29);
        // Once a newer entry follows, the last old one goes too; entries not yet due stay.
        store
            .write(|w| w.audit(entry(30), later).map(|_| ()))
            .unwrap();
        let last = store.write(|w| w.prune_audit(later, later, 8)).unwrap();
        assert_eq!(last.map(|p| (p.from_seq, p.through_seq)), Some((30, 30)));
        assert!(
            store
                .write(|w| w.prune_audit(later, later, 8))
                .unwrap()
                .is_none()
        );
        assert!(verifies(&store));
    }
}
