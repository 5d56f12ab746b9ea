//! Reading and verifying the audit log (auditors and admins).

use super::{Actor, Service, ServiceError};
use crate::domain::Role;
use crate::evidence::{AuditRecord, Verifier, VerifyReport};
use crate::store::AuditQueries;
use serde::Serialize;

/// The most entries one page of events returns.
pub const MAX_EVENTS: usize = 1_000;
/// The most entries one page looks at when filtering by type.
const MAX_SCAN: usize = 10_000;

/// One page of the audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Entries, oldest first.
    pub events: Vec<AuditRecord>,
    /// Pass as `after_seq` for the next page; equal to the request's when nothing followed.
    pub next_after_seq: u64,
}

impl Service {
    /// Entries after `after_seq`, of type `kind` if given, at most `limit` (≤ 1,000).
    pub fn audit_events(
        &self,
        actor: &Actor,
        after_seq: u64,
        kind: Option<String>,
        limit: Option<usize>,
    ) -> Result<AuditPage, ServiceError> {
        actor.require(&[Role::Auditor], "read the audit log")?;
        let limit = crate::domain::page::page_limit(limit, 100, MAX_EVENTS)?;
        if let Some(kind) = &kind {
            crate::domain::formats::AUDIT_TYPE.check(
                "type",
                kind,
                "must be an entry type such as grant.expired",
            )?;
        }
        let read = self.store.read()?;
        let (events, last) = read.audit_events(after_seq, kind.as_deref(), limit, MAX_SCAN)?;
        Ok(AuditPage {
            events,
            next_after_seq: last,
        })
    }

    /// Verifies the whole log: hashes, MACs, `seq`, chain links and checkpoint signatures.
    pub fn verify_audit(&self, actor: &Actor) -> Result<VerifyReport, ServiceError> {
        actor.require(&[Role::Auditor], "verify the audit log")?;
        let mut verifier = Verifier::new(Some(self.store.audit_key().clone()))
            .with_public_key(Some(self.store.public_key().clone()));
        self.store.read()?.verify_audit(&mut verifier)?;
        let report = verifier.finish();
        if let Some(fault) = &report.fault {
            tracing::error!(seq = fault.seq, kind = ?fault.kind, "audit log does not verify");
        }
        Ok(report)
    }
}
