//! The audit log: an append-only table written in the same transaction as each change, and
//! the signed checkpoints over it.

use super::codec::{Tables, decode, encode};
use super::tables::{AUDIT, CHECKPOINTS};
use super::{StoreError, WriteView};
use crate::evidence::{AuditRecord, Checkpoint, GENESIS, MacKey, Signer, Verifier};
use chrono::{DateTime, Duration, Utc};
use redb::ReadableTable;
use serde::Serialize;

/// An entry to append; the store assigns `seq`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAuditEntry {
    /// What happened, such as `request.decided`.
    pub kind: &'static str,
    /// Who did it: a token id, `system`, or a user.
    pub actor: String,
    /// What it happened to: a request, grant, tool, user, … id.
    pub subject: String,
    /// Details, including the policy version where one applies.
    pub data: serde_json::Value,
}

/// When the store signs a checkpoint while entries arrive.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    /// After this many entries since the last checkpoint (default 1,000).
    pub every: u64,
    /// Or when the last checkpoint is this old (default 60 s).
    pub interval: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every: 1_000,
            interval: Duration::seconds(60),
        }
    }
}

/// The keys that seal entries and sign checkpoints, and when to sign.
#[derive(Debug)]
pub struct Sealing {
    pub(super) key: MacKey,
    pub(super) signer: Signer,
    pub(super) policy: CheckpointPolicy,
}

/// Reading the audit log back.
pub trait AuditQueries: Tables + Sized {
    /// Entries after `after_seq`, oldest first, of `kind` if given; at most `limit`, looking
    /// at no more than `scan` entries. Returns the entries and the last `seq` looked at, from
    /// which a next page continues.
    fn audit_events(
        &self,
        after_seq: u64,
        kind: Option<&str>,
        limit: usize,
        scan: usize,
    ) -> Result<(Vec<AuditRecord>, u64), StoreError> {
        let table = self.open(AUDIT)?;
        let mut out = Vec::new();
        let mut last = after_seq;
        for entry in table.range(after_seq.saturating_add(1)..)?.take(scan) {
            let (seq, bytes) = entry?;
            last = seq.value();
            let record: AuditRecord = decode("audit", bytes.value())?;
            if kind.is_none_or(|k| record.kind == k) {
                out.push(record);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok((out, last))
    }

    /// The last entry's `(seq, entry_hash)`, if any.
    fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        match self.open(AUDIT)?.last()? {
            Some((seq, bytes)) => {
                // Only the hash: the rest of the entry (its details above all) is skipped
                // rather than built, on every transaction that appends to the log.
                #[derive(serde::Deserialize)]
                struct Head {
                    entry_hash: String,
                }
                let last: Head = decode("audit", bytes.value())?;
                Ok(Some((seq.value(), last.entry_hash)))
            }
            None => Ok(None),
        }
    }

    /// When the oldest entry kept was made.
    fn audit_oldest_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.open(AUDIT)?.first()? {
            Some((_, bytes)) => Ok(Some(decode::<AuditRecord>("audit", bytes.value())?.at)),
            None => Ok(None),
        }
    }

    /// The first `seq` whose entry is at or after `at` (entries are appended in time order),
    /// or one past the last entry.
    fn audit_seq_at(&self, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let table = self.open(AUDIT)?;
        let Some((last, _)) = table.last()? else {
            return Ok(1);
        };
        let (mut low, mut high) = (1, last.value() + 1);
        while low < high {
            let mid = low + (high - low) / 2;
            let before = match table.get(mid)? {
                Some(bytes) => decode::<AuditRecord>("audit", bytes.value())?.at < at,
                None => true,
            };
            if before {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        Ok(low)
    }

    /// Checkpoints after `after_seq`, oldest first, at most `limit`.
    fn checkpoints(&self, after_seq: u64, limit: usize) -> Result<Vec<Checkpoint>, StoreError> {
        let mut out = Vec::new();
        for entry in self
            .open(CHECKPOINTS)?
            .range(after_seq.saturating_add(1)..)?
            .take(limit)
        {
            out.push(decode("checkpoints", entry?.1.value())?);
        }
        Ok(out)
    }

    /// The last checkpoint before `seq`.
    fn checkpoint_before(&self, seq: u64) -> Result<Option<Checkpoint>, StoreError> {
        match self.open(CHECKPOINTS)?.range(..seq)?.next_back() {
            Some(entry) => Ok(Some(decode("checkpoints", entry?.1.value())?)),
            None => Ok(None),
        }
    }

    /// Walks the whole log and its checkpoints through `verifier`. A log whose oldest entries
    /// were pruned starts after the anchor: the checkpoint over the last entry removed.
    fn verify_audit(&self, verifier: &mut Verifier) -> Result<(), StoreError> {
        let audit = self.open(AUDIT)?;
        let first = audit.first()?.map_or(1, |(seq, _)| seq.value());
        let anchor = self
            .checkpoint_before(first)?
            .filter(|c| c.seq + 1 == first);
        if let Some(anchor) = &anchor {
            verifier.start_after(anchor);
        }
        let checkpoints = self.open(CHECKPOINTS)?;
        let after_anchor = anchor.map_or(0, |a| a.seq) + 1;
        let mut pending = checkpoints.range(after_anchor..)?.peekable();
        for entry in audit.iter()? {
            let (seq, bytes) = entry?;
            match decode::<AuditRecord>("audit", bytes.value()) {
                Ok(record) => verifier.push(&record),
                Err(_) => verifier.push_malformed(),
            }
            // Each checkpoint follows the entry it covers; a read error is passed on.
            while let Some(next) =
                pending.next_if(|c| c.as_ref().map_or(true, |(k, _)| k.value() <= seq.value()))
            {
                verifier.push_checkpoint(&decode("checkpoints", next?.1.value())?);
            }
        }
        Ok(())
    }
}

impl<T: Tables> AuditQueries for T {}

impl WriteView<'_> {
    /// Appends an audit entry at `at`, chained to the one before and sealed with the audit
    /// key, and signs a checkpoint over it when the checkpoint policy says so; returns its
    /// seq.
    pub fn audit(&mut self, entry: NewAuditEntry, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let (last_seq, prev_hash) = match self.audit_head.take() {
            Some(head) => head,
            None => self.audit_head()?.unwrap_or((0, GENESIS.to_owned())),
        };
        let seq = last_seq + 1;
        let sealed = AuditRecord::seal(
            seq,
            at,
            entry.kind.to_owned(),
            entry.actor,
            entry.subject,
            entry.data,
            prev_hash,
            &self.sealing.key,
        );
        self.table(AUDIT)?
            .insert(seq, encode(&sealed)?.as_slice())?;
        self.audit_head = Some((seq, sealed.entry_hash));
        let (checkpointed, when) = self.last_checkpoint()?;
        let policy = self.sealing.policy;
        if seq - checkpointed >= policy.every || when.is_none_or(|w| at - w >= policy.interval) {
            self.checkpoint(at)?;
        }
        Ok(seq)
    }

    /// Signs a checkpoint over the current head at `at`, unless the head has one already;
    /// returns the checkpoint covering the head (none for an empty log).
    pub fn checkpoint(&mut self, at: DateTime<Utc>) -> Result<Option<Checkpoint>, StoreError> {
        let head = match self.audit_head.clone() {
            Some(head) => Some(head),
            None => self.audit_head()?,
        };
        let Some((seq, hash)) = head else {
            return Ok(None);
        };
        if self.last_checkpoint()?.0 == seq {
            return self.checkpoint_before(seq + 1);
        }
        let checkpoint = self.sealing.signer.sign(seq, &hash, at);
        self.table(CHECKPOINTS)?
            .insert(seq, encode(&checkpoint)?.as_slice())?;
        self.last_checkpoint = Some((seq, Some(checkpoint.at)));
        Ok(Some(checkpoint))
    }

    fn last_checkpoint(&mut self) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
        if let Some(last) = self.last_checkpoint {
            return Ok(last);
        }
        let last = self
            .checkpoint_before(u64::MAX)?
            .map_or((0, None), |c| (c.seq, Some(c.at)));
        self.last_checkpoint = Some(last);
        Ok(last)
    }
}
