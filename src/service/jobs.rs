//! Fulfilment and deprovisioning jobs: the queue people and connectors work from.

use super::auth::ANY_ROLE;
use super::grants::OPERATORS;
use super::{Actor, Service, ServiceError, transitions};
use crate::domain::{Job, JobEscalation, JobKind, JobOutcome, JobState};
use crate::store::{ConnectedQueries, LifecycleQueries, NewAuditEntry, Queries, WriteView};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The body of `POST /v1/jobs/{id}/complete`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteJob {
    /// `fulfilled` (fulfilment done), `deprovisioned` (access removed) or `verified` (a
    /// completed job checked).
    pub outcome: JobOutcome,
}

/// Completes `job` with `outcome`. A fulfilment makes its grant active; `verified` marks a
/// job that was already completed.
pub(super) fn complete_job(
    w: &mut WriteView,
    by: &str,
    job: &Job,
    outcome: JobOutcome,
    at: DateTime<Utc>,
) -> Result<Job, ServiceError> {
    let by = by.to_owned();
    if job.state == JobState::Failed {
        resolve_escalation(w, &job.job_id, at)?;
    }
    let refused = || {
        ServiceError::InvalidTransition(format!(
            "a {} job that is {} cannot be marked {}",
            job.kind.as_str(),
            if job.is_open() { "open" } else { "completed" },
            serde_json::to_value(outcome).unwrap_or_default()
        ))
    };
    let done = match (job.kind, outcome, job.is_open()) {
        (JobKind::Fulfil, JobOutcome::Fulfilled, true) => {
            let grant = w
                .grant(&job.grant_id)?
                .ok_or(ServiceError::NotFound("grant"))?;
            transitions::activate(w, &by, job, &grant, at)?;
            return Ok(job.completed(outcome, &by, at));
        }
        (JobKind::Deprovision, JobOutcome::Deprovisioned, true) => job.completed(outcome, &by, at),
        (_, JobOutcome::Verified, false)
            if job.outcome != Some(JobOutcome::Cancelled) && job.verified_at.is_none() =>
        {
            Job {
                verified_at: Some(at),
                verified_by: Some(by.clone()),
                ..job.clone()
            }
        }
        _ => return Err(refused()),
    };
    w.put_job(&done)?;
    w.audit(
        NewAuditEntry {
            kind: "job.completed",
            actor: by,
            subject: done.job_id.clone(),
            data: serde_json::json!({
                "kind": done.kind,
                "grant_id": done.grant_id,
                "outcome": outcome,
            }),
        },
        at,
    )?;
    Ok(done)
}

impl Service {
    /// Open jobs, of one kind or of all.
    pub fn open_jobs(
        &self,
        actor: &Actor,
        kind: Option<JobKind>,
        page: crate::domain::page::PageRequest,
    ) -> Result<crate::domain::page::Page<Job>, ServiceError> {
        actor.require(ANY_ROLE, "read jobs")?;
        Ok(self
            .store
            .read()?
            .open_jobs(kind, page.after.as_ref(), page.limit)?)
    }

    /// One job.
    pub fn job(&self, actor: &Actor, id: &str) -> Result<Job, ServiceError> {
        actor.require(ANY_ROLE, "read jobs")?;
        self.store
            .read()?
            .job(id)?
            .ok_or(ServiceError::NotFound("job"))
    }

    /// Connector jobs that failed for good and wait for a person.
    pub fn job_escalations(&self, actor: &Actor) -> Result<Vec<JobEscalation>, ServiceError> {
        actor.require(ANY_ROLE, "read jobs")?;
        Ok(self.store.read()?.open_job_escalations()?)
    }

    /// Marks a job done.
    pub fn complete_job(
        &self,
        actor: &Actor,
        id: &str,
        body: CompleteJob,
    ) -> Result<Job, ServiceError> {
        actor.require(OPERATORS, "complete jobs")?;
        let now = self.clock.now();
        self.store.write(|w| {
            let job = w.job(id)?.ok_or(ServiceError::NotFound("job"))?;
            complete_job(w, &actor.audit_name(), &job, body.outcome, now)
        })
    }
}

/// Settles the escalation of a failed job that a person retried or completed.
pub(super) fn resolve_escalation(
    w: &mut WriteView,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if let Some(escalation) = w.job_escalation(job_id)?
        && escalation.resolved_at.is_none()
    {
        w.put_job_escalation(&JobEscalation {
            resolved_at: Some(at),
            ..escalation
        })?;
    }
    Ok(())
}
