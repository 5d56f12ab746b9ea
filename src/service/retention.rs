//! Audit retention: the sweep prunes entries older than the retention period, leaving a
//! signed anchor, and logs each pruning in the chain itself.

use super::{Service, ServiceError};
use crate::store::{AuditQueries, NewAuditEntry};
use chrono::{DateTime, Utc};

/// Entries removed per write transaction.
const PRUNE_BATCH: u64 = 10_000;

impl Service {
    /// Prunes every entry older than the retention period, in batches; returns how many
    /// were removed.
    pub(super) fn prune_audit(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        let Some(retention) = self.config.lifecycle.audit_retention else {
            return Ok(0);
        };
        let before = now - retention;
        // Most sweeps find nothing due: ask a snapshot before opening a write transaction.
        if self
            .store
            .read()?
            .audit_oldest_at()?
            .is_none_or(|at| at >= before)
        {
            return Ok(0);
        }
        let mut removed = 0;
        loop {
            let pruned = self.store.write(|w| {
                let Some(pruned) = w.prune_audit(before, now, PRUNE_BATCH)? else {
                    return Ok::<_, ServiceError>(None);
                };
                w.audit(
                    NewAuditEntry {
                        kind: "audit.pruned",
                        actor: "system".into(),
                        subject: format!("audit:{}-{}", pruned.from_seq, pruned.through_seq),
                        data: serde_json::json!({
                            "from_seq": pruned.from_seq,
                            "through_seq": pruned.through_seq,
                            "entries": pruned.entries(),
                            "before": before,
                            "retention_days": retention.num_days(),
                            "anchor": pruned.anchor,
                        }),
                    },
                    now,
                )?;
                Ok(Some(pruned))
            })?;
            let Some(pruned) = pruned else {
                return Ok(removed);
            };
            tracing::info!(
                from_seq = pruned.from_seq,
                through_seq = pruned.through_seq,
                anchor_seq = pruned.anchor.seq,
                "pruned audit entries past retention"
            );
            removed += pruned.entries();
            if pruned.entries() < PRUNE_BATCH {
                return Ok(removed);
            }
        }
    }
}
