//! The outbox worker: delivers due write-backs in order per issue, exactly once. A comment
//! carries its delivery's id (a comment property, and in its text); after an answer that
//! may have been lost after Jira stored the comment (a timeout, a dropped connection, a 5xx),
//! the next attempt looks for that mark before it posts again. What an attempt achieved (the
//! comment posted, its mark) is recorded even when a later step fails, so it is not redone.

use super::super::{Actor, Service, ServiceError, backoff};
use crate::connect::{CallError, JiraTarget, Moved};
use crate::domain::{CommentKind, Delivery, DeliveryState, JiraRecord, TransitionGoal};
use crate::store::{JiraQueries, LifecycleQueries, NewAuditEntry, WriteView};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Deliveries taken per round.
const ROUND: usize = 256;
/// How long a delivery waits while no Jira site is configured, or its credentials are
/// refused.
pub(super) const HOLD: Duration = Duration::seconds(60);
/// Who the audit log names for deliveries.
const SYSTEM: &str = "system:jira";

/// What one run of the due deliveries did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeliveriesRun {
    /// Delivered.
    pub done: usize,
    /// Failed in a way that may pass; tried again later.
    pub retrying: usize,
    /// Failed for good (visible with `GET /v1/deliveries?state=failed`).
    pub failed: usize,
}

/// What an attempt achieved, whatever its end.
#[derive(Debug, Clone, Default)]
struct Progress {
    created_key: Option<String>,
    comment_id: Option<String>,
    marked: bool,
    transition_note: Option<String>,
    provider: Option<crate::domain::ProviderCall>,
}

impl Service {
    /// Runs every delivery due at the clock's now, each issue's in the order queued.
    pub async fn run_due_deliveries(self: &Arc<Self>) -> Result<DeliveriesRun, ServiceError> {
        let now = self.clock.now();
        let mut run = DeliveriesRun::default();
        let mut seen = std::collections::HashSet::new();
        loop {
            let read = self.store.read()?;
            let mut tasks = JoinSet::new();
            for delivery in read.due_deliveries(now, ROUND)? {
                let first = read.first_open_delivery(&delivery.issue_key)?;
                if first.as_deref() != Some(delivery.delivery_id.as_str())
                    || !seen.insert(delivery.delivery_id.clone())
                {
                    continue;
                }
                let Some(claim) = self.jira.in_flight.claim(&delivery.issue_key.to_string()) else {
                    continue;
                };
                let service = Arc::clone(self);
                tasks.spawn(async move {
                    let state = service.deliver(&delivery.delivery_id).await;
                    drop(claim);
                    state
                });
            }
            drop(read);
            if tasks.is_empty() {
                return Ok(run);
            }
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(Ok(Some(DeliveryState::Done))) => run.done += 1,
                    Ok(Ok(Some(DeliveryState::Retrying))) => run.retrying += 1,
                    Ok(Ok(Some(DeliveryState::Failed))) => run.failed += 1,
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "a delivery could not be recorded"),
                    Err(e) => tracing::error!(error = %e, "a delivery task failed"),
                }
            }
        }
    }

    /// Runs the due deliveries now (admin; the worker runs them by itself).
    pub async fn run_deliveries_now(
        self: &Arc<Self>,
        actor: &Actor,
    ) -> Result<DeliveriesRun, ServiceError> {
        actor.require(&[], "run deliveries")?;
        self.run_due_deliveries().await
    }

    /// Carries out one delivery if it is still due; records what it achieved.
    async fn deliver(&self, id: &str) -> Result<Option<DeliveryState>, ServiceError> {
        let now = self.clock.now();
        let read = self.store.read()?;
        let (Some(delivery), site) = (read.delivery(id)?, read.jira_site()?) else {
            return Ok(None);
        };
        drop(read);
        if delivery.due_at().is_none_or(|at| at > now) {
            return Ok(None);
        }
        let held = match &site {
            None => Some("no Jira site is configured".to_owned()),
            Some(s) => s
                .refused_reason
                .as_ref()
                .map(|r| format!("waiting until the Jira credentials are replaced: {r}")),
        };
        let (Some(site), None) = (site, held.clone()) else {
            let waiting = Delivery {
                next_attempt_at: Some(now + HOLD),
                last_error: held,
                ..delivery
            };
            self.writer
                .write_async(move |w| Ok(w.put_delivery(&waiting)?))
                .await?;
            return Ok(Some(DeliveryState::Pending));
        };
        let target = self.jira_target(&site)?;
        let mut progress = Progress {
            created_key: delivery.created_key.clone(),
            comment_id: delivery.comment_id.clone(),
            marked: delivery.marked,
            ..Progress::default()
        };
        let result = self
            .attempt_delivery(&delivery, &site, &target, &mut progress)
            .await;
        let (id, at, max) = (
            delivery.delivery_id.clone(),
            self.clock.now(),
            site.max_attempts,
        );
        let state = self
            .writer
            .write_async(move |w| record(w, &id, &progress, &result, max, at))
            .await?;
        Ok(Some(state))
    }

    async fn attempt_delivery(
        &self,
        d: &Delivery,
        site: &JiraRecord,
        target: &JiraTarget,
        progress: &mut Progress,
    ) -> Result<(), CallError> {
        let jira = &self.jira.client;
        let key = d.issue_key.as_str();
        let mark = d.delivery_id.as_str();
        if let (Some(new), None) = (&d.create_issue, &progress.created_key) {
            // Jira can find no issue by its property here: creation is at least once.
            let created = jira
                .create_issue(
                    target,
                    &new.project,
                    &new.issue_type_id,
                    &new.summary,
                    &new.description,
                    mark,
                )
                .await?;
            progress.created_key = Some(created.value);
            progress.provider = Some(created.call);
        }
        if let (Some(text), None) = (&d.comment, &progress.comment_id) {
            if d.ambiguous {
                let found = jira.find_marked(target, key, mark).await?;
                progress.provider = Some(found.call);
                if let Some(id) = found.value {
                    progress.comment_id = Some(id);
                    progress.marked = true;
                }
            }
            if progress.comment_id.is_none() {
                if !d.ambiguous {
                    self.note_posting(&d.delivery_id)
                        .await
                        .map_err(|e| CallError::Retryable {
                            reason: format!("the attempt could not be noted first: {e}"),
                            retry_after: None,
                            call: None,
                        })?;
                }
                let text = format!("{text}\n\n(clearance {mark})");
                let posted = match d.comment_kind {
                    CommentKind::Public => jira.post_public(target, key, &text).await?,
                    CommentKind::Internal => jira.post_internal(target, key, &text, mark).await?,
                };
                progress.marked = d.comment_kind == CommentKind::Internal;
                progress.comment_id = Some(posted.value);
                progress.provider = Some(posted.call);
            }
        }
        if let (Some(id), false) = (progress.comment_id.clone(), progress.marked) {
            let marked = jira.mark(target, &id, mark).await?;
            progress.marked = true;
            progress.provider = Some(marked.call);
        }
        if let Some(goal) = d.transition {
            let candidates = match goal {
                TransitionGoal::Approved => &site.transitions.approved,
                TransitionGoal::Denied => &site.transitions.denied,
            };
            let moved = jira.transition(target, key, candidates).await?;
            progress.transition_note = Some(match moved.value {
                Moved::Through(name) => format!("moved through \"{name}\""),
                Moved::AlreadyThere(status) => format!("already in \"{status}\""),
                Moved::NoMatch => "no transition matched; comment only".into(),
            });
            progress.provider = Some(moved.call);
        }
        Ok(())
    }

    /// Notes durably that a comment is about to be posted: if the process dies before the
    /// answer is recorded, the next attempt looks for the comment before posting again.
    async fn note_posting(&self, id: &str) -> Result<(), ServiceError> {
        let id = id.to_owned();
        self.writer
            .write_async(move |w| {
                if let Some(d) = w.delivery(&id)?
                    && d.comment_id.is_none()
                {
                    w.put_delivery(&Delivery {
                        ambiguous: true,
                        ..d
                    })?;
                }
                Ok(())
            })
            .await
    }

    /// Deliveries in `state`, oldest first, a page at a time (after the id `after`).
    pub fn deliveries(
        &self,
        actor: &Actor,
        state: DeliveryState,
        page: crate::domain::page::PageRequest,
    ) -> Result<Vec<Delivery>, ServiceError> {
        actor.require(super::super::auth::ANY_ROLE, "read deliveries")?;
        let after = page.after.as_ref().map(|c| c.part(0));
        Ok(self
            .store
            .read()?
            .deliveries_in_state(state, after, page.limit)?)
    }

    /// Puts a failed delivery back in the queue, due now with its attempts from zero.
    pub fn retry_delivery(&self, actor: &Actor, id: &str) -> Result<Delivery, ServiceError> {
        actor.require(&[], "retry deliveries")?;
        let now = self.clock.now();
        self.store.write(|w| {
            let d = w.delivery(id)?.ok_or(ServiceError::NotFound("delivery"))?;
            if d.state != DeliveryState::Failed {
                return Err(ServiceError::InvalidTransition(format!(
                    "delivery {id} is {}, not failed",
                    d.state.as_str()
                )));
            }
            let reopened = Delivery {
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: Some(now),
                ..d
            };
            w.put_delivery(&reopened)?;
            Ok(reopened)
        })
    }
}

/// Records an attempt: what it achieved, and how it ended.
fn record(
    w: &mut WriteView,
    id: &str,
    progress: &Progress,
    result: &Result<(), CallError>,
    max_attempts: u32,
    at: DateTime<Utc>,
) -> Result<DeliveryState, ServiceError> {
    let Some(old) = w.delivery(id)? else {
        return Err(ServiceError::NotFound("delivery"));
    };
    let attempts = old.attempts.saturating_add(1);
    let mut d = Delivery {
        attempts,
        created_key: progress.created_key.clone(),
        comment_id: progress.comment_id.clone(),
        marked: progress.marked,
        transition_note: progress
            .transition_note
            .clone()
            .or(old.transition_note.clone()),
        provider: progress.provider.clone().or(old.provider.clone()),
        ..old
    };
    match result {
        Ok(()) => {
            link_recert_issue(w, &d)?;
            d.state = DeliveryState::Done;
            d.next_attempt_at = None;
            d.last_error = None;
            d.ambiguous = false;
            d.delivered_at = Some(at);
        }
        Err(CallError::CredentialsRefused { reason, .. }) => {
            // Not this delivery's fault: it waits, its attempt uncounted, and the site stops
            // calling until the credentials are replaced.
            d.attempts = attempts.saturating_sub(1);
            d.state = DeliveryState::Retrying;
            d.next_attempt_at = Some(at + HOLD);
            d.last_error = Some(reason.clone());
            refuse_site(w, reason, at)?;
        }
        Err(CallError::Retryable {
            reason,
            retry_after,
            call,
        }) if attempts < max_attempts => {
            // An answer lost after a write may mean the comment exists: look before posting.
            d.ambiguous = d.comment_id.is_none() && call.as_ref().is_none_or(|c| c.status != 429);
            d.state = DeliveryState::Retrying;
            d.next_attempt_at = Some(at + backoff::delay(&d.delivery_id, attempts, *retry_after));
            d.last_error = Some(reason.clone());
        }
        Err(e) => {
            d.ambiguous = d.comment_id.is_none();
            d.state = DeliveryState::Failed;
            d.next_attempt_at = None;
            d.last_error = Some(e.to_string());
            w.audit(
                NewAuditEntry {
                    kind: "delivery.failed",
                    actor: SYSTEM.into(),
                    subject: d.delivery_id.clone(),
                    data: serde_json::json!({"issue_key": d.issue_key, "step": d.step,
                        "attempts": attempts, "reason": d.last_error, "provider": d.provider}),
                },
                at,
            )?;
        }
    }
    w.put_delivery(&d)?;
    Ok(d.state)
}

/// Records the issue created for a recertification on it.
fn link_recert_issue(w: &mut WriteView, d: &Delivery) -> Result<(), ServiceError> {
    let (Some(new), Some(key)) = (&d.create_issue, &d.created_key) else {
        return Ok(());
    };
    if let Some(recert) = w.recert(&new.recert_id)?
        && recert.jira_issue.is_none()
    {
        w.put_recert(&crate::domain::Recertification {
            jira_issue: Some(key.clone()),
            ..recert
        })?;
    }
    Ok(())
}

/// Stops deliveries until the Jira credentials are replaced; audited once.
fn refuse_site(w: &mut WriteView, reason: &str, at: DateTime<Utc>) -> Result<(), ServiceError> {
    let Some(site) = w.jira_site()? else {
        return Ok(());
    };
    if site.refused_reason.is_some() {
        return Ok(());
    }
    w.put_jira_site(&JiraRecord {
        refused_reason: Some(reason.to_owned()),
        ..site
    })?;
    w.audit(
        NewAuditEntry {
            kind: "jira.credentials_refused",
            actor: SYSTEM.into(),
            subject: "jira".into(),
            data: serde_json::json!({"reason": reason}),
        },
        at,
    )?;
    Ok(())
}
