//! Grant transitions inside one write transaction, each with its audit entry. Use cases and
//! sweeps share them, so a grant moves the same way whoever moves it.

use super::ServiceError;
use super::jira::{Step, write_back};
use crate::domain::{
    Connector, Grant, GrantState, Job, JobKind, JobOutcome, PolicyVersionId, RecertState,
};
use crate::store::{LifecycleQueries, NewAuditEntry, Queries, WriteView};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// Who moves a grant, as the audit log names them.
pub(super) type By<'a> = &'a str;

fn connector(w: &WriteView, grant: &Grant) -> Result<Connector, ServiceError> {
    Ok(w.tool(&grant.tool)?
        .map(|t| t.connector)
        .unwrap_or_default())
}

fn open_job(
    w: &mut WriteView,
    grant: &Grant,
    kind: JobKind,
    at: DateTime<Utc>,
) -> Result<Job, ServiceError> {
    let job = Job::open(kind, grant, connector(w, grant)?, at);
    w.put_job(&job)?;
    Ok(job)
}

/// Cancels the grant's open jobs of `kind`; returns how many there were.
fn cancel_jobs(
    w: &mut WriteView,
    grant: &Grant,
    kind: JobKind,
    by: By,
    at: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let open = w.open_jobs_for_grant(&grant.grant_id, kind)?;
    for job in &open {
        w.put_job(&job.completed(JobOutcome::Cancelled, by, at))?;
    }
    Ok(open.len())
}

fn audit(
    w: &mut WriteView,
    kind: &'static str,
    by: By,
    grant: &Grant,
    at: DateTime<Utc>,
    data: serde_json::Value,
) -> Result<(), ServiceError> {
    let mut data = data;
    if let Some(fields) = data.as_object_mut() {
        fields.insert("user".into(), json!(grant.user));
        fields.insert("tool".into(), json!(grant.tool));
        fields.insert("state".into(), json!(grant.state));
        fields.insert("expires_at".into(), json!(grant.expires_at));
    }
    w.audit(
        NewAuditEntry {
            kind,
            actor: by.to_owned(),
            subject: grant.grant_id.to_string(),
            data,
        },
        at,
    )?;
    Ok(())
}

/// Records a grant just approved, and its fulfilment job.
pub(super) fn record_new_grant(
    w: &mut WriteView,
    by: By,
    grant: &Grant,
    version: &PolicyVersionId,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    w.insert_grant(grant)?;
    let job = open_job(w, grant, JobKind::Fulfil, at)?;
    let data =
        json!({"request_id": grant.request_id, "job_id": job.job_id, "policy_version": version});
    audit(w, "grant.created", by, grant, at, data)?;
    write_back(w, Step::GrantCreated(grant), at)
}

/// Fulfilment done: the grant becomes active for its duration from `at`.
pub(super) fn activate(
    w: &mut WriteView,
    by: By,
    job: &Job,
    grant: &Grant,
    at: DateTime<Utc>,
) -> Result<Grant, ServiceError> {
    if grant.state != GrantState::PendingProvision {
        return Err(ServiceError::InvalidTransition(format!(
            "grant {} is {}, not pending_provision",
            grant.grant_id,
            grant.state.as_str()
        )));
    }
    let active = Grant {
        state: GrantState::Active,
        starts_at: Some(at),
        expires_at: Some(at + Duration::days(i64::from(grant.duration_days))),
        ..grant.clone()
    };
    w.update_grant(grant, &active)?;
    w.put_job(&job.completed(JobOutcome::Fulfilled, by, at))?;
    let data = match &job.provider {
        Some(call) => json!({"job_id": job.job_id, "mode": job.mode, "provider": call}),
        None => json!({"job_id": job.job_id, "mode": job.mode}),
    };
    audit(w, "grant.fulfilled", by, &active, at, data)?;
    write_back(w, Step::Active(&active, job), at)?;
    Ok(active)
}

/// Ends an open grant (`expired` or `revoked`): cancels its pending fulfilment, opens a
/// deprovision job and settles an open recertification.
pub(super) fn end(
    w: &mut WriteView,
    by: By,
    grant: &Grant,
    state: GrantState,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> Result<Grant, ServiceError> {
    if !grant.is_open() {
        return Err(ServiceError::InvalidTransition(format!(
            "grant {} has already ended ({})",
            grant.grant_id,
            grant.state.as_str()
        )));
    }
    let ended = Grant {
        state,
        ended_at: Some(at),
        end_reason: reason,
        ..grant.clone()
    };
    w.update_grant(grant, &ended)?;
    // Activation completes the fulfilment job, so only a grant still pending has one open.
    if grant.state == GrantState::PendingProvision {
        cancel_jobs(w, grant, JobKind::Fulfil, by, at)?;
    }
    let job = open_job(w, &ended, JobKind::Deprovision, at)?;
    let recert = match state {
        GrantState::Revoked => RecertState::Revoked,
        _ => RecertState::Lapsed,
    };
    settle_recert(w, grant, recert, by, at)?;
    let kind = match state {
        GrantState::Expired => "grant.expired",
        _ => "grant.revoked",
    };
    let data = json!({"reason": ended.end_reason, "deprovision_job": job.job_id});
    audit(w, kind, by, &ended, at, data)?;
    let step = match state {
        GrantState::Expired => Step::Expired(&ended),
        _ => Step::Revoked(&ended),
    };
    write_back(w, step, at)?;
    Ok(ended)
}

/// Extends a grant (already permitted by the `extend` policies) to `extended`. An expired
/// grant comes back: its open deprovision job is cancelled, or, if access was already
/// removed, a new fulfilment job is opened.
pub(super) fn extend(
    w: &mut WriteView,
    by: By,
    grant: &Grant,
    extended: &Grant,
    version: &PolicyVersionId,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    w.update_grant(grant, extended)?;
    if grant.state == GrantState::Expired
        && cancel_jobs(w, grant, JobKind::Deprovision, by, at)? == 0
    {
        open_job(w, extended, JobKind::Fulfil, at)?;
    }
    settle_recert(w, grant, RecertState::Kept, by, at)?;
    let data = json!({
        "previous_expires_at": grant.expires_at,
        "extended_days": extended.extended_days,
        "policy_version": version,
    });
    audit(w, "grant.extended", by, extended, at, data)?;
    write_back(w, Step::Extended(extended), at)
}

/// Closes the open recertification of `grant`'s current expiry, if there is one.
fn settle_recert(
    w: &mut WriteView,
    grant: &Grant,
    state: RecertState,
    by: By,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(expires_at) = grant.expires_at else {
        return Ok(());
    };
    let Some(mut recert) = w.recert_for(&grant.grant_id, expires_at)? else {
        return Ok(());
    };
    if recert.state != RecertState::Open {
        return Ok(());
    }
    recert.state = state;
    recert.decided_by = Some(by.to_owned());
    recert.decided_at = Some(at);
    w.put_recert(&recert)?;
    write_back(w, Step::RecertClosed(&recert), at)?;
    w.audit(
        NewAuditEntry {
            kind: "recertification.closed",
            actor: by.to_owned(),
            subject: recert.recert_id.clone(),
            data: json!({"grant_id": recert.grant_id, "state": recert.state}),
        },
        at,
    )?;
    Ok(())
}
