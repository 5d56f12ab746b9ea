//! Write-back: each step of a request's life queues a delivery to its Jira issue in the
//! transaction of the change, so the issue learns of every committed step and of nothing
//! that was not committed. Nothing is queued while no Jira site is configured.

use super::super::ServiceError;
use crate::domain::{
    CommentKind, CommentVisibility, Delivery, Grant, Job, Outcome, RequestRecord, RequestStatus,
    TransitionGoal,
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
    /// In the review window before expiry.
    ExpiringSoon(&'a Grant),
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
            Self::ExpiringSoon(_) => "recertification.opened",
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
            Self::ExpiringSoon(g) => format!(
                "Access to {} expires on {}; it is up for review until then.",
                g.tool,
                day(g.expires_at)
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
        | Step::ExpiringSoon(g)
        | Step::Expired(g)
        | Step::Revoked(g) => w.request(&g.request_id)?,
        Step::JobFailed(job, _) => match w.grant(&job.grant_id)? {
            Some(g) => w.request(&g.request_id)?,
            None => None,
        },
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
        request.issue_key,
        step.name(),
        comment,
        kind,
        transition,
        at,
    );
    w.put_delivery(&delivery)?;
    Ok(())
}
