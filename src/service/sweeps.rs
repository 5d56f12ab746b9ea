//! Lifecycle sweeps: stale requests, approval escalation, grant expiry and
//! review-before-expiry. Each walks a time index from its start to the due point, so its cost
//! follows the number of due items; each is idempotent.

use super::{Service, ServiceError, transitions};
use crate::domain::{
    Closure, Escalation, GrantId, GrantState, RecertState, Recertification, RequestId,
    RequestStatus,
};
use crate::store::{LifecycleQueries, NewAuditEntry, Queries, TimeKey, WriteView};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Items handled per write transaction.
const BATCH: usize = 1000;
/// Who the audit log names for sweep transitions.
const SYSTEM: &str = "system:sweep";

/// The timing of the lifecycle.
#[derive(Debug, Clone)]
pub struct LifecycleConfig {
    /// How long before expiry a grant gets a recertification (default 14 days).
    pub recert_window: Duration,
    /// How long a request may wait for review before it is escalated (default 3 days).
    pub approval_sla: Duration,
    /// Who escalations are addressed to (default `group:approvers`).
    pub escalation_target: String,
    /// How long a request may stay pending before it expires (default 30 days).
    pub max_request_age: Duration,
    /// How long audit entries are kept before the sweep prunes them (default 365 days;
    /// `None` keeps them forever).
    pub audit_retention: Option<Duration>,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            recert_window: Duration::days(14),
            approval_sla: Duration::days(3),
            escalation_target: "group:approvers".into(),
            max_request_age: Duration::days(30),
            audit_retention: Some(Duration::days(365)),
        }
    }
}

/// What one run of the sweeps changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SweepReport {
    /// When the sweeps ran (the clock's now).
    pub at: DateTime<Utc>,
    /// Pending requests that passed the maximum age and expired.
    pub requests_expired: usize,
    /// Escalations recorded.
    pub escalations: usize,
    /// Active grants that expired.
    pub grants_expired: usize,
    /// Recertifications opened.
    pub recertifications: usize,
    /// Audit entries pruned past the retention period.
    pub audit_entries_pruned: u64,
    /// Delivered Jira write-backs and drift runs removed past the retention period.
    pub records_pruned: usize,
    /// Connector jobs that were due, run after the sweeps (which may have made some due).
    pub jobs: super::JobsRun,
    /// Jira write-backs that were due, delivered after the jobs.
    pub deliveries: super::DeliveriesRun,
}

/// One due item: changed in the write transaction, or left as it is.
type Step = fn(&Service, &mut WriteView, &str, DateTime<Utc>) -> Result<bool, ServiceError>;

impl Service {
    /// Runs every sweep once, then the connector jobs due; on an admin's request, or for
    /// `clearance sweep`.
    pub async fn sweep_now(
        self: &std::sync::Arc<Self>,
        actor: &super::Actor,
    ) -> Result<SweepReport, ServiceError> {
        actor.require(&[], "run sweeps")?;
        self.sweep_and_run_jobs().await
    }

    /// Runs every sweep once, then the connector jobs due.
    pub async fn sweep_and_run_jobs(
        self: &std::sync::Arc<Self>,
    ) -> Result<SweepReport, ServiceError> {
        let service = std::sync::Arc::clone(self);
        let mut report = tokio::task::spawn_blocking(move || service.run_sweeps())
            .await
            .map_err(|_| ServiceError::Unavailable)??;
        report.jobs = self.run_due_jobs().await?;
        report.deliveries = self.run_due_deliveries().await?;
        Ok(report)
    }

    /// Runs every sweep once at the clock's now.
    pub fn run_sweeps(&self) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let c = &self.config.lifecycle;
        let report = SweepReport {
            at: now,
            requests_expired: self.sweep(
                Index::Pending,
                now - c.max_request_age,
                now,
                expire_request,
            )?,
            escalations: self.sweep(Index::Pending, now - c.approval_sla, now, escalate)?,
            grants_expired: self.sweep(Index::Expiry, now, now, expire_grant)?,
            recertifications: self.sweep(Index::Expiry, now + c.recert_window, now, open_recert)?,
            audit_entries_pruned: self.prune_audit(now)?,
            records_pruned: {
                let (deliveries, runs) = self.prune_outbound(now)?;
                deliveries + runs
            },
            jobs: super::JobsRun::default(),
            deliveries: super::DeliveriesRun::default(),
        };
        if report
            != (SweepReport {
                at: now,
                ..SweepReport::default()
            })
        {
            tracing::info!(?report, "sweeps changed the lifecycle");
        }
        Ok(report)
    }

    /// Applies `step` to every item of `index` due at `until`, in batches; counts the changes.
    fn sweep(
        &self,
        index: Index,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        step: Step,
    ) -> Result<usize, ServiceError> {
        let mut cursor: Option<TimeKey> = None;
        let mut changed = 0;
        loop {
            let read = self.store.read()?;
            let due = match index {
                Index::Pending => {
                    let after = cursor.as_ref().map(|(_, id)| id.as_str());
                    read.pending_since(after, until, BATCH)?
                }
                Index::Expiry => read.grants_expiring(cursor.as_ref(), until, BATCH)?,
            };
            drop(read);
            let Some(last) = due.last().cloned() else {
                return Ok(changed);
            };
            changed += self.store.write(|w| {
                let mut n = 0;
                for (_, id) in &due {
                    n += usize::from(step(self, w, id, now)?);
                }
                Ok::<_, ServiceError>(n)
            })?;
            if due.len() < BATCH {
                return Ok(changed);
            }
            cursor = Some(last);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Index {
    Pending,
    Expiry,
}

fn pending(w: &WriteView, id: &str) -> Result<Option<crate::domain::RequestRecord>, ServiceError> {
    let Ok(id) = RequestId::parse("id", id) else {
        return Ok(None);
    };
    Ok(w.request(&id)?
        .filter(|r| r.status == RequestStatus::Pending))
}

fn expire_request(
    s: &Service,
    w: &mut WriteView,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let Some(request) = pending(w, id)? else {
        return Ok(false);
    };
    let days = s.config.lifecycle.max_request_age.num_days();
    let mut expired = request.clone();
    expired.status = RequestStatus::Expired;
    expired.closed = Some(Closure {
        by: SYSTEM.into(),
        at: now,
        reason: Some(format!("pending for more than {days} days")),
    });
    w.update_request(&request, &expired)?;
    w.audit(
        NewAuditEntry {
            kind: "request.expired",
            actor: SYSTEM.into(),
            subject: request.id.to_string(),
            data: serde_json::json!({"remaining_reviews": request.remaining_stages()}),
        },
        now,
    )?;
    Ok(true)
}

fn escalate(
    s: &Service,
    w: &mut WriteView,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let Some(request) = pending(w, id)? else {
        return Ok(false);
    };
    let sla = s.config.lifecycle.approval_sla.num_milliseconds().max(1);
    let waited = (now - request.submitted_at).num_milliseconds();
    let breach = u32::try_from(waited / sla).unwrap_or(u32::MAX);
    if breach == 0 || w.has_escalation(&request.id, breach)? {
        return Ok(false);
    }
    let escalation = Escalation {
        request_id: request.id.clone(),
        breach,
        target: s.config.lifecycle.escalation_target.clone(),
        remaining_stages: request.remaining_stages(),
        pending_since: request.submitted_at,
        created_at: now,
    };
    w.put_escalation(&escalation)?;
    w.audit(
        NewAuditEntry {
            kind: "request.escalated",
            actor: SYSTEM.into(),
            subject: request.id.to_string(),
            data: serde_json::json!({
                "breach": breach,
                "target": escalation.target,
                "remaining_reviews": escalation.remaining_stages,
            }),
        },
        now,
    )?;
    Ok(true)
}

fn active_grant(w: &WriteView, id: &str) -> Result<Option<crate::domain::Grant>, ServiceError> {
    let Ok(id) = GrantId::parse("id", id) else {
        return Ok(None);
    };
    Ok(w.grant(&id)?.filter(|g| g.state == GrantState::Active))
}

fn expire_grant(
    _: &Service,
    w: &mut WriteView,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let Some(grant) = active_grant(w, id)? else {
        return Ok(false);
    };
    if grant.expires_at.is_none_or(|e| e > now) {
        return Ok(false);
    }
    transitions::end(
        w,
        SYSTEM,
        &grant,
        GrantState::Expired,
        Some("expired".into()),
        now,
    )?;
    Ok(true)
}

fn open_recert(
    _: &Service,
    w: &mut WriteView,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let Some(grant) = active_grant(w, id)? else {
        return Ok(false);
    };
    let Some(expires_at) = grant.expires_at.filter(|e| *e > now) else {
        return Ok(false);
    };
    if w.recert_for(&grant.grant_id, expires_at)?.is_some() {
        return Ok(false);
    }
    let recert = Recertification {
        recert_id: crate::domain::time_ordered_id("rct", now),
        grant_id: grant.grant_id.clone(),
        user: grant.user.clone(),
        tool: grant.tool.clone(),
        expires_at,
        created_at: now,
        state: RecertState::Open,
        decided_by: None,
        decided_at: None,
        jira_issue: None,
    };
    w.put_recert(&recert)?;
    super::jira::write_back(w, super::jira::Step::ExpiringSoon(&grant, &recert), now)?;
    w.audit(
        NewAuditEntry {
            kind: "recertification.opened",
            actor: SYSTEM.into(),
            subject: recert.recert_id.clone(),
            data: serde_json::json!({"grant_id": grant.grant_id, "expires_at": expires_at}),
        },
        now,
    )?;
    Ok(true)
}
