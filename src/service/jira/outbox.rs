//! Write-back: each step of a request's life queues a delivery to its Jira issue in the
//! transaction of the change, so the issue learns of every committed step and of nothing
//! that was not committed. Nothing is queued while no Jira site is configured.

use super::super::ServiceError;
use crate::domain::{
    CommentKind, CommentVisibility, Delivery, Grant, IssueKey, Job, NewIssue, Outcome,
    RecertProject, RecertState, Recertification, RequestRecord, RequestStatus, TransitionGoal,
};
use crate::store::{JiraQueries, Queries, WriteView};
use chrono::{DateTime, Utc};

/// A step of a request's life that the issue hears of.
#[derive(Debug, Clone, Copy)]
pub(in crate::service) enum Step<'a> {
    /// Decided on submission.
    Decided(&'a RequestRecord),
    /// One review stage signed (the last one approves it).
    Approved(&'a RequestRecord),
    /// Denied.
    Denied(&'a RequestRecord),
    /// Access granted and waiting to be fulfilled.
    GrantCreated(&'a Grant),
    /// Access active.
    Active(&'a Grant, &'a Job),
    /// Extended.
    Extended(&'a Grant),
    /// In the review window before expiry: a recertification opened.
    ExpiringSoon(&'a Grant, &'a Recertification),
    /// A recertification kept or revoked (told on its own issue, if it has one).
    RecertClosed(&'a Recertification),
    /// Expired.
    Expired(&'a Grant),
    /// Revoked.
    Revoked(&'a Grant),
    /// A connector job failed for good.
    JobFailed(&'a Job, &'a str),
}

fn day(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "—".into(), |a| a.format("%Y-%m-%d").to_string())
}

impl Step<'_> {
    /// The audit name of the step.
    fn name(&self) -> &'static str {
        match self {
            Self::Decided(_) => "request.decided",
            Self::Approved(_) => "request.approved",
            Self::Denied(_) => "request.denied",
            Self::GrantCreated(_) => "grant.created",
            Self::Active(..) => "grant.fulfilled",
            Self::Extended(_) => "grant.extended",
            Self::ExpiringSoon(..) => "recertification.opened",
            Self::RecertClosed(_) => "recertification.closed",
            Self::Expired(_) => "grant.expired",
            Self::Revoked(_) => "grant.revoked",
            Self::JobFailed(..) => "job.failed",
        }
    }

    /// Whether the requester should see it (a public comment when comments are public).
    fn for_requester(&self) -> bool {
        !matches!(self, Self::JobFailed(..) | Self::GrantCreated(_))
    }

    fn transition(&self) -> Option<TransitionGoal> {
        match self {
            Self::Decided(r) | Self::Approved(r) if r.status == RequestStatus::Approved => {
                Some(TransitionGoal::Approved)
            }
            Self::Decided(r) | Self::Denied(r) if r.status == RequestStatus::Denied => {
                Some(TransitionGoal::Denied)
            }
            _ => None,
        }
    }

    /// The comment's text.
    fn text(&self) -> String {
        match self {
            Self::Decided(r) => decided(r),
            Self::Approved(r) => {
                let a = r.approvals.last();
                let who = a.map_or("", |a| a.approver.as_str());
                let stage = a.map_or("", |a| a.stage.as_str());
                match r.remaining_stages().as_slice() {
                    [] => format!("Approved: {who} signed the {stage} review, the last one."),
                    rest => format!(
                        "{who} signed the {stage} review. Still to review: {}.",
                        rest.join(", ")
                    ),
                }
            }
            Self::Denied(r) => {
                let c = r.closed.as_ref();
                let reason = c
                    .and_then(|c| c.reason.as_deref())
                    .unwrap_or("no reason given");
                format!("Denied by {}: {reason}.", c.map_or("", |c| c.by.as_str()))
            }
            Self::GrantCreated(g) => format!(
                "Access to {} is granted for {} days and waits to be set up ({}).",
                g.tool, g.duration_days, g.grant_id
            ),
            Self::Active(g, job) => {
                let through = match job.connector.managed_by() {
                    Some(c) => format!(" by clearance through connector {c}"),
                    None => " by hand".into(),
                };
                format!(
                    "Access to {} is active{through}, until {}.",
                    g.tool,
                    day(g.expires_at)
                )
            }
            Self::Extended(g) => format!(
                "Access to {} is extended until {}.",
                g.tool,
                day(g.expires_at)
            ),
            Self::ExpiringSoon(g, _) => format!(
                "Access to {} expires on {}; it is up for review until then.",
                g.tool,
                day(g.expires_at)
            ),
            Self::RecertClosed(r) => format!(
                "Recertification of {}'s access to {}: {} by {}.",
                r.user,
                r.tool,
                match r.state {
                    RecertState::Kept => "kept",
                    RecertState::Revoked => "revoked",
                    RecertState::Lapsed => "lapsed (the access ended first)",
                    RecertState::Open => "open",
                },
                r.decided_by.as_deref().unwrap_or("nobody")
            ),
            Self::Expired(g) => format!("Access to {} expired and is being removed.", g.tool),
            Self::Revoked(g) => format!(
                "Access to {} was revoked: {}.",
                g.tool,
                g.end_reason.as_deref().unwrap_or("no reason given")
            ),
            Self::JobFailed(job, reason) => format!(
                "The {} of {}'s access to {} failed and needs a person: {reason} (job {}).",
                match job.kind {
                    crate::domain::JobKind::Fulfil => "set-up",
                    crate::domain::JobKind::Deprovision => "removal",
                },
                job.user,
                job.tool,
                job.job_id
            ),
        }
    }
}

fn decided(r: &RequestRecord) -> String {
    let d = &r.decision;
    let outcome = match d.decision.outcome {
        Outcome::AutoApproved => "approved automatically".to_owned(),
        Outcome::Denied => "denied".to_owned(),
        Outcome::NeedsReview => format!(
            "waiting for review by {}",
            d.decision.required_reviews.join(", ")
        ),
    };
    let reasons: Vec<String> = d
        .decision
        .reasons
        .iter()
        .map(|reason| format!("- {} ({})", reason.message, reason.code))
        .collect();
    format!(
        "Request for {} for {} days: {outcome}.\n\n{}\n\nPolicy version {} (#{}).",
        r.tool,
        r.duration_days,
        reasons.join("\n"),
        d.policy_version,
        d.policy_seq
    )
}

/// Queues the delivery of `step` to its issue, if a Jira site is configured.
pub(in crate::service) fn write_back(
    w: &mut WriteView,
    step: Step,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(site) = w.jira_site()? else {
        return Ok(());
    };
    let request = match step {
        Step::Decided(r) | Step::Approved(r) | Step::Denied(r) => Some(r.clone()),
        Step::GrantCreated(g)
        | Step::Active(g, _)
        | Step::Extended(g)
        | Step::ExpiringSoon(g, _)
        | Step::Expired(g)
        | Step::Revoked(g) => w.request(&g.request_id)?,
        Step::JobFailed(job, _) => match w.grant(&job.grant_id)? {
            Some(g) => w.request(&g.request_id)?,
            None => None,
        },
        Step::RecertClosed(r) => return recert_comment(w, &site, r, step, at),
    };
    let Some(request) = request else {
        return Ok(());
    };
    let comment = (site.comments != CommentVisibility::Off).then(|| step.text());
    let transition = step.transition();
    if comment.is_none() && transition.is_none() {
        return Ok(());
    }
    let kind = match site.comments {
        CommentVisibility::Public if step.for_requester() => CommentKind::Public,
        _ => CommentKind::Internal,
    };
    let delivery = Delivery::new(
        request.issue_key.clone(),
        step.name(),
        comment,
        kind,
        transition,
        at,
    );
    w.put_delivery(&delivery)?;
    if let (Step::ExpiringSoon(g, recert), Some(project)) = (step, &site.recertification) {
        w.put_delivery(&recert_issue(request.issue_key, g, recert, project, at))?;
    }
    Ok(())
}

/// The delivery that creates a recertification's own issue, ordered after the request's.
fn recert_issue(
    key: IssueKey,
    g: &Grant,
    recert: &Recertification,
    project: &RecertProject,
    at: DateTime<Utc>,
) -> Delivery {
    let mut create = Delivery::new(
        key,
        "recertification.issue",
        None,
        CommentKind::Internal,
        None,
        at,
    );
    create.create_issue = Some(NewIssue {
        project: project.project.clone(),
        issue_type_id: project.issue_type_id.clone(),
        summary: format!("Recertify {}'s access to {}", g.user, g.tool),
        description: format!(
            "{}'s access to {} expires on {}. Keep it (POST /v1/recertifications/{}/keep) or \
             revoke it (POST /v1/recertifications/{}/revoke) before then. Grant {}.",
            g.user,
            g.tool,
            day(g.expires_at),
            recert.recert_id,
            recert.recert_id,
            g.grant_id
        ),
        recert_id: recert.recert_id.clone(),
    });
    create
}

/// A recertification's outcome, told on its own issue when it has one.
fn recert_comment(
    w: &mut WriteView,
    site: &crate::domain::JiraRecord,
    r: &Recertification,
    step: Step,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let issue = r
        .jira_issue
        .as_deref()
        .and_then(|k| IssueKey::parse("jira_issue", k).ok());
    let Some(issue) = issue.filter(|_| site.comments != CommentVisibility::Off) else {
        return Ok(());
    };
    let delivery = Delivery::new(
        issue,
        step.name(),
        Some(step.text()),
        CommentKind::Internal,
        None,
        at,
    );
    w.put_delivery(&delivery)?;
    Ok(())
}
