//! Audit retention: the sweep prunes entries older than the retention period, leaving a
//! signed anchor, and logs each pruning in the chain itself.

use super::{Service, ServiceError};
use crate::domain::DeliveryState;
use crate::store::{AuditQueries, ConnectedQueries, JiraQueries, NewAuditEntry};

/// Delivered write-backs and drift runs removed per write transaction.
const RECORDS_BATCH: usize = 10_000;
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

    /// Removes delivered write-backs and drift runs older than the audit retention period
    /// (their steps stay in the audit log until it prunes them); returns how many of each.
    pub(super) fn prune_outbound(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), ServiceError> {
        let Some(retention) = self.config.lifecycle.audit_retention else {
            return Ok((0, 0));
        };
        let before = now - retention;
        // Most sweeps find nothing due: ask a snapshot before opening a write transaction.
        let read = self.store.read()?;
        let oldest_delivery = read.deliveries_in_state(DeliveryState::Done, None, 1)?;
        let due = oldest_delivery
            .first()
            .is_some_and(|d| d.created_at < before)
            || read
                .oldest_drift_run_finished()?
                .is_some_and(|at| at < before);
        drop(read);
        if !due {
            return Ok((0, 0));
        }
        let mut removed = (0, 0);
        loop {
            let (deliveries, runs) = self.store.write(|w| {
                let deliveries = w.prune_done_deliveries(before, RECORDS_BATCH)?;
                let runs = w.prune_drift_runs(before, RECORDS_BATCH)?;
                Ok::<_, ServiceError>((deliveries, runs))
            })?;
            removed = (removed.0 + deliveries, removed.1 + runs);
            if deliveries < RECORDS_BATCH && runs < RECORDS_BATCH {
                return Ok(removed);
            }
        }
    }
}
