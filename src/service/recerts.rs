//! Recertification: keep (extend through the `extend` policies) or revoke a grant that is
//! about to expire; and the review queues.

use super::approvals::approval_facts;
use super::auth::ANY_ROLE;
use super::grants::{OPERATORS, RevokeBody, parse_days};
use super::{Actor, Service, ServiceError};
use crate::domain::page::{Page, PageRequest};
use crate::domain::{
    Email, Escalation, Grant, RecertState, Recertification, RequestId, RequestRecord,
};
use crate::store::{InsightQueries, LifecycleQueries, Queries};
use serde::{Deserialize, Serialize};

/// The most items one queue returns.
const MAX_LIST: usize = 500;
/// The most requests one page of the approval queue holds, and its default.
pub const QUEUE_PAGE: usize = MAX_LIST;
/// Who may read an approver's queue: reviewers, and auditors checking who waits on whom.
const QUEUE_READERS: &[crate::domain::Role] = &[
    crate::domain::Role::Approver,
    crate::domain::Role::Automation,
    crate::domain::Role::Auditor,
];
/// How many pending requests one page of the approval queue may ask the policies about, per
/// item the page may hold (2,000 for a page of 500): a page ends there even if short, so
/// that a long queue of other approvers' requests costs a bounded time per page.
const SCAN_PER_ITEM: usize = 4;

/// The body of `POST /v1/recertifications/{id}/keep`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeepBody {
    /// Days to extend by; defaults to the grant's original duration.
    #[serde(default, deserialize_with = "crate::domain::number::optional_whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub days: Option<i64>,
    /// Who reviews; required unless the token is bound to a person.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub reviewer: Option<String>,
}

/// A request waiting for this approver, with the stage they may sign off.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    /// The request.
    #[schema(value_type = Object)]
    pub request: RequestRecord,
    /// The stage this approver would sign off.
    pub stage: String,
}

/// One page of an approver's queue.
#[derive(Debug, Clone, Default)]
pub struct QueuePage {
    /// The requests, oldest first.
    pub items: Vec<QueueItem>,
    /// Where the next page starts (its `after`), if the queue may go on.
    pub next: Option<String>,
}

impl Service {
    /// Open recertifications.
    pub fn open_recerts(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> Result<Page<Recertification>, ServiceError> {
        actor.require(ANY_ROLE, "read recertifications")?;
        Ok(self
            .store
            .read()?
            .open_recerts(page.after.as_ref(), page.limit)?)
    }

    /// The grant under an open recertification.
    fn recertified_grant(&self, id: &str) -> Result<Grant, ServiceError> {
        let read = self.store.read()?;
        let recert = read
            .recert(id)?
            .ok_or(ServiceError::NotFound("recertification"))?;
        if recert.state != RecertState::Open {
            return Err(ServiceError::InvalidTransition(format!(
                "recertification {id} is already closed"
            )));
        }
        read.grant(&recert.grant_id)?
            .ok_or(ServiceError::NotFound("grant"))
    }

    /// Keeps the grant: extends it (by `days`, default its original duration) as `reviewer`.
    pub fn keep(&self, actor: &Actor, id: &str, body: KeepBody) -> Result<Grant, ServiceError> {
        actor.require(OPERATORS, "recertify grants")?;
        let reviewer = self.acting_person(actor, "reviewer", body.reviewer.as_deref())?;
        let grant = self.recertified_grant(id)?;
        let days = match body.days {
            Some(days) => parse_days("days", days)?,
            None => grant.duration_days,
        };
        self.extend_as(actor, &grant, &reviewer, days)
    }

    /// Revokes the grant under review.
    pub fn recert_revoke(
        &self,
        actor: &Actor,
        id: &str,
        body: RevokeBody,
    ) -> Result<Grant, ServiceError> {
        actor.require(OPERATORS, "recertify grants")?;
        let grant = self.recertified_grant(id)?;
        self.revoke(actor, grant.grant_id.as_str(), body)
    }

    /// Pending requests `approver` may sign off now, oldest first, each with its stage,
    /// from after the pending request `after` (the `next` of the previous page). A page ends
    /// at `limit` items (at most [`QUEUE_PAGE`]) or after asking the policies about
    /// [`SCAN_PER_ITEM`] times that many pending requests, whichever comes first; `next` then
    /// says where the next page starts.
    pub fn approval_queue(
        &self,
        actor: &Actor,
        approver: Option<&str>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<QueuePage, ServiceError> {
        actor.require(QUEUE_READERS, "read approval queues")?;
        let approver: Email = self.acting_person(actor, "approver", approver)?;
        let after = after
            .map(|raw| RequestId::parse("after", raw))
            .transpose()?;
        let policy = self.policies.current();
        let read = self.store.read()?;
        let limit = crate::domain::page::page_limit(limit, QUEUE_PAGE, QUEUE_PAGE)?;
        let scan = limit * SCAN_PER_ITEM;
        let after = after.as_ref().map(RequestId::as_str);
        let pending = read.pending_since(after, self.clock.now(), scan)?;
        let mut page = QueuePage::default();
        for (_, id) in &pending {
            let Some(request) = RequestId::parse("id", id)
                .ok()
                .map(|id| read.request(&id))
                .transpose()?
                .flatten()
            else {
                continue;
            };
            let facts = approval_facts(&read, &request, &approver)?;
            let verdict = policy
                .engine
                .approvable_stage(&facts, &request.remaining_stages())?;
            if let Some(stage) = verdict.stage {
                page.items.push(QueueItem { request, stage });
                if page.items.len() >= limit {
                    page.next = Some(id.clone());
                    return Ok(page);
                }
            }
        }
        if pending.len() >= scan {
            page.next = pending.last().map(|(_, id)| id.clone());
        }
        Ok(page)
    }

    /// Escalations of requests that are still pending.
    pub fn open_escalations(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> Result<Page<Escalation>, ServiceError> {
        actor.require(ANY_ROLE, "read escalations")?;
        Ok(self
            .store
            .read()?
            .open_escalations(page.after.as_ref(), page.limit)?)
    }
}
