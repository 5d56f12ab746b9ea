//! Recording what an attempt came to: the job, the grant and the audit entry change together
//! in one transaction, with the IdP's status and request id.

use super::super::backoff;
use super::super::jobs::resolve_escalation;
use super::super::{ServiceError, transitions};
use super::attempt::{Attempt, system_name};
use crate::domain::{
    ConnectorId, GrantState, Job, JobEscalation, JobKind, JobOutcome, JobState, ProviderCall,
};
use crate::store::{ConnectedQueries, LifecycleQueries, NewAuditEntry, Queries, WriteView};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// How long a job of a held connector (disabled, or its credentials refused) waits before
/// the worker looks again.
pub const HOLD: Duration = Duration::seconds(60);

/// Where a job stands after its outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settled {
    Done,
    Retrying,
    Failed,
    Held,
    /// The job had been completed or cancelled meanwhile; only the call was recorded.
    Superseded,
}

/// Records `attempt` of the job `job_id` at `at`.
pub(super) fn record(
    w: &mut WriteView,
    job_id: &str,
    connector: &ConnectorId,
    max_attempts: u32,
    attempt: &Attempt,
    at: DateTime<Utc>,
) -> Result<Settled, ServiceError> {
    let by = system_name(connector);
    let Some(job) = w.job(job_id)? else {
        return Err(ServiceError::NotFound("job"));
    };
    if !job.is_open() || job.state == JobState::Failed {
        if let Attempt::Done { call, .. } = attempt {
            audit(
                w,
                "job.superseded_call",
                &by,
                &job,
                at,
                json!({"provider": call}),
            )?;
        }
        return Ok(Settled::Superseded);
    }
    match attempt {
        Attempt::Done {
            call,
            already,
            note,
        } => {
            done(w, &by, &job, call, *already, note.as_deref(), at)?;
            Ok(Settled::Done)
        }
        Attempt::Held { reason } => {
            let held = Job {
                next_attempt_at: Some(at + HOLD),
                last_error: Some(reason.clone()),
                ..job
            };
            w.put_job(&held)?;
            Ok(Settled::Held)
        }
        Attempt::Retry {
            reason,
            retry_after,
            call,
        } => {
            let attempts = job.attempts.saturating_add(1);
            if attempts >= max_attempts {
                let reason = format!("gave up after {attempts} attempts: {reason}");
                fail(w, &by, &job, &reason, call.as_ref(), at)?;
                return Ok(Settled::Failed);
            }
            let wait = backoff::delay(&job.job_id, attempts, *retry_after);
            let retrying = Job {
                state: JobState::Retrying,
                attempts,
                next_attempt_at: Some(at + wait),
                last_error: Some(reason.clone()),
                provider: call.clone().or(job.provider.clone()),
                ..job
            };
            w.put_job(&retrying)?;
            let data = json!({
                "attempts": attempts, "next_attempt_at": retrying.next_attempt_at,
                "reason": reason, "provider": call,
            });
            audit(w, "job.retrying", &by, &retrying, at, data)?;
            Ok(Settled::Retrying)
        }
        Attempt::CredentialsRefused { reason, call } => {
            refuse_connector(w, &by, connector, reason, at)?;
            fail(w, &by, &job, reason, call.as_ref(), at)?;
            Ok(Settled::Failed)
        }
        Attempt::Failed { reason, call } => {
            fail(w, &by, &job, reason, call.as_ref(), at)?;
            Ok(Settled::Failed)
        }
    }
}

fn done(
    w: &mut WriteView,
    by: &str,
    job: &Job,
    call: &ProviderCall,
    already: bool,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let job = Job {
        attempts: job.attempts.saturating_add(1),
        provider: Some(call.clone()),
        last_error: None,
        ..job.clone()
    };
    let grant = w.grant(&job.grant_id)?;
    match (job.kind, grant) {
        (JobKind::Fulfil, Some(grant)) if grant.state == GrantState::PendingProvision => {
            transitions::activate(w, by, &job, &grant, at)?;
        }
        (kind, _) => {
            let outcome = match kind {
                JobKind::Fulfil => JobOutcome::Fulfilled,
                JobKind::Deprovision => JobOutcome::Deprovisioned,
            };
            w.put_job(&job.completed(outcome, by, at))?;
            let data = json!({
                "kind": job.kind, "grant_id": job.grant_id, "outcome": outcome,
                "provider": call, "already": already, "note": note,
            });
            audit(w, "job.completed", by, &job, at, data)?;
        }
    }
    Ok(())
}

/// The job fails for good: a person retries it or does it by hand; an escalation names it.
fn fail(
    w: &mut WriteView,
    by: &str,
    job: &Job,
    reason: &str,
    call: Option<&ProviderCall>,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let failed = Job {
        state: JobState::Failed,
        attempts: job.attempts.saturating_add(1),
        next_attempt_at: None,
        last_error: Some(reason.to_owned()),
        provider: call.cloned().or(job.provider.clone()),
        ..job.clone()
    };
    w.put_job(&failed)?;
    w.put_job_escalation(&JobEscalation {
        job_id: failed.job_id.clone(),
        kind: failed.kind,
        grant_id: failed.grant_id.clone(),
        user: failed.user.clone(),
        tool: failed.tool.clone(),
        reason: reason.to_owned(),
        attempts: failed.attempts,
        created_at: at,
        resolved_at: None,
    })?;
    let data = json!({"attempts": failed.attempts, "reason": reason, "provider": call});
    audit(w, "job.failed", by, &failed, at, data)?;
    super::super::jira::write_back(w, super::super::jira::Step::JobFailed(&failed, reason), at)
}

/// Stops `connector` until its credentials are replaced.
fn refuse_connector(
    w: &mut WriteView,
    by: &str,
    connector: &ConnectorId,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(mut record) = w.connector(connector)? else {
        return Ok(());
    };
    if record.refused_at.is_some() {
        return Ok(());
    }
    record.refused_at = Some(at);
    record.refused_reason = Some(reason.to_owned());
    w.put_connector(&record)?;
    w.audit(
        NewAuditEntry {
            kind: "connector.credentials_refused",
            actor: by.to_owned(),
            subject: connector.to_string(),
            data: json!({"reason": reason}),
        },
        at,
    )?;
    Ok(())
}

/// A human put a failed job back in the queue: due now, attempts from zero.
pub(super) fn reopen(
    w: &mut WriteView,
    by: &str,
    job: &Job,
    at: DateTime<Utc>,
) -> Result<Job, ServiceError> {
    if job.state != JobState::Failed {
        return Err(ServiceError::InvalidTransition(format!(
            "job {} is {}, not failed",
            job.job_id,
            serde_json::to_value(job.state).unwrap_or_default()
        )));
    }
    let reopened = Job {
        state: JobState::Open,
        attempts: 0,
        next_attempt_at: Some(at),
        ..job.clone()
    };
    w.put_job(&reopened)?;
    resolve_escalation(w, &job.job_id, at)?;
    audit(
        w,
        "job.retried",
        by,
        &reopened,
        at,
        json!({"previous_error": job.last_error}),
    )?;
    Ok(reopened)
}

fn audit(
    w: &mut WriteView,
    kind: &'static str,
    by: &str,
    job: &Job,
    at: DateTime<Utc>,
    data: serde_json::Value,
) -> Result<(), ServiceError> {
    let mut data = data;
    if let Some(fields) = data.as_object_mut() {
        fields.insert("kind".into(), json!(job.kind));
        fields.insert("grant_id".into(), json!(job.grant_id));
        fields.insert("user".into(), json!(job.user));
        fields.insert("tool".into(), json!(job.tool));
    }
    w.audit(
        NewAuditEntry {
            kind,
            actor: by.to_owned(),
            subject: job.job_id.clone(),
            data,
        },
        at,
    )?;
    Ok(())
}
