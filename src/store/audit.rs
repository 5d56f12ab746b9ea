//! The audit log: an append-only table written in the same transaction as each change.

use super::StoreError;
use super::codec::{Tables, decode};
use super::tables::AUDIT;
use crate::evidence::{AuditRecord, Verifier};
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

    /// Walks the whole log through `verifier`.
    fn verify_audit(&self, verifier: &mut Verifier) -> Result<(), StoreError> {
        for entry in self.open(AUDIT)?.iter()? {
            let (_, bytes) = entry?;
            match decode::<AuditRecord>("audit", bytes.value()) {
                Ok(record) => verifier.push(&record),
                Err(_) => verifier.push_malformed(),
            }
        }
        Ok(())
    }
}

impl<T: Tables> AuditQueries for T {}
