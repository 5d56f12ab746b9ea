//! Reviewing requests: approve and deny, one request or many.

use super::facts::{recorded_tool_facts, user_facts};
use super::grants::record_new_grant;
use super::jira::{Step, write_back};
use super::{Actor, Service, ServiceError};
use crate::domain::formats;
use crate::domain::{
    Approval, ApprovalFacts, Closure, ContendedFacts, DecisionFacts, DomainError, Email, Grant,
    RequestContextFacts, RequestId, RequestRecord, RequestStatus, Role,
};
use crate::store::{LifecycleQueries, NewAuditEntry, Queries, ReadView};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// How often an approval is re-made when a concurrent one changed the request meanwhile.
const MAX_ATTEMPTS: usize = 16;
/// The roles that review requests.
pub(super) const REVIEWERS: &[Role] = &[Role::Approver, Role::Automation];

/// The body of `POST /v1/requests/{id}/approve`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Who signs off; required unless the token is bound to a person.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub approver: Option<String>,
    /// A comment for the record.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::NoteText>)]
    pub comment: Option<String>,
}

/// The body of `POST /v1/requests/{id}/deny`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DenyBody {
    /// Who denies; required unless the token is bound to a person.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub approver: Option<String>,
    /// Why, for the record.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::NoteText>)]
    pub reason: Option<String>,
}

/// A request after a review step, with the grant when the last stage was signed off.
#[derive(Debug, Clone)]
pub struct Reviewed {
    /// The request as now recorded.
    pub request: RequestRecord,
    /// The grant the approval created.
    pub grant: Option<Grant>,
}

/// The person a review acts as: the token's subject, or for unbound tokens the one named in
/// the body's `field`.
impl Service {
    /// The person acting: a token bound to a person always acts as that person (naming
    /// someone else is refused); any other token must name a person in the directory, who is
    /// then recorded beside the token.
    pub(super) fn acting_person(
        &self,
        actor: &Actor,
        field: &str,
        named: Option<&str>,
    ) -> Result<Email, ServiceError> {
        let named = named.map(|n| Email::parse(field, n)).transpose()?;
        match (&actor.subject, named) {
            (Some(subject), Some(named)) if *subject != named => {
                Err(ServiceError::Forbidden("act for another person"))
            }
            (Some(subject), _) => Ok(subject.clone()),
            (None, Some(named)) => self.known_user(field, named.as_str()),
            (None, None) => {
                let message = "required: this token is not bound to a person";
                Err(DomainError::new(field, message).into())
            }
        }
    }
}

fn optional_text(field: &str, text: Option<String>) -> Result<Option<String>, ServiceError> {
    Ok(formats::optional_text(&formats::NOTE, field, text)?)
}

impl Service {
    /// Signs off the first remaining stage the policies permit `approver` to approve. The last
    /// stage creates the grant and its fulfilment job. `request` is asked again under the
    /// version active now; both versions stay on the record.
    pub fn approve(
        &self,
        actor: &Actor,
        id: &str,
        body: ApproveBody,
    ) -> Result<Reviewed, ServiceError> {
        actor.require(REVIEWERS, "approve requests")?;
        let id = self.request_id(id)?;
        let approver = self.acting_person(actor, "approver", body.approver.as_deref())?;
        let comment = optional_text("comment", body.comment)?;
        for _ in 0..MAX_ATTEMPTS {
            if let Some(reviewed) = self.try_approve(actor, &id, &approver, comment.clone())? {
                return Ok(reviewed);
            }
        }
        tracing::warn!(request = %id, "approvals kept racing; gave up");
        Err(ServiceError::Unavailable)
    }

    /// One attempt; `None` when a concurrent review changed the request meanwhile.
    fn try_approve(
        &self,
        actor: &Actor,
        id: &RequestId,
        approver: &Email,
        comment: Option<String>,
    ) -> Result<Option<Reviewed>, ServiceError> {
        let policy = self.policies.current();
        let now = self.clock.now();
        let read = self.store.read()?;
        let request = pending_request(&read, id)?;
        ensure_no_open_grant(&read, &request, now)?;
        let facts = approval_facts(&read, &request, approver)?;
        let again = reasked_facts(&read, &request, now)?;
        drop(read);

        let engine = &policy.engine;
        let verdict = engine.approvable_stage(&facts, &request.remaining_stages())?;
        let Some(stage) = verdict.stage else {
            return Err(not_permitted(verdict.verdict.reasons));
        };
        if let Some(refused) = engine.request_refused(&again)? {
            return Err(not_permitted(refused.reasons));
        }
        let mut updated = request.clone();
        updated.approvals.push(Approval {
            stage,
            approver: approver.clone(),
            at: now,
            comment,
            policy_version: engine.version().clone(),
            policy_seq: policy.seq(),
            determining_policies: verdict.verdict.determining_policies,
        });
        let grant = updated.remaining_stages().is_empty().then(|| {
            let grant = Grant::pending(
                request.id.clone(),
                request.requester.clone(),
                request.tool.clone(),
                request.duration_days,
                now,
            );
            updated.status = RequestStatus::Approved;
            updated.grant_id = Some(grant.grant_id.clone());
            grant
        });
        self.store.write(|w| {
            match w.request(id)? {
                Some(fresh) if fresh == request => {}
                Some(fresh) if fresh.status != RequestStatus::Pending => {
                    return Err(ServiceError::RequestNotPending(fresh.status.as_str()));
                }
                _ => return Ok(None),
            }
            if grant.is_some() {
                ensure_no_open_grant(w, &request, now)?;
            }
            w.update_request(&request, &updated)?;
            w.audit(approved_entry(actor, &updated), now)?;
            write_back(w, Step::Approved(&updated), now)?;
            if let Some(grant) = &grant {
                record_new_grant(w, &actor.audit_name(), grant, engine.version(), now)?;
            }
            Ok(Some(Reviewed {
                request: updated.clone(),
                grant: grant.clone(),
            }))
        })
    }

    /// Denies a pending request; the denier must be permitted to approve one of its remaining
    /// stages.
    pub fn deny(&self, actor: &Actor, id: &str, body: DenyBody) -> Result<Reviewed, ServiceError> {
        actor.require(REVIEWERS, "deny requests")?;
        let id = self.request_id(id)?;
        let approver = self.acting_person(actor, "approver", body.approver.as_deref())?;
        let reason = optional_text("reason", body.reason)?;
        let policy = self.policies.current();
        let read = self.store.read()?;
        let request = pending_request(&read, &id)?;
        let facts = approval_facts(&read, &request, &approver)?;
        drop(read);
        let verdict = policy
            .engine
            .approvable_stage(&facts, &request.remaining_stages())?;
        if verdict.stage.is_none() {
            return Err(not_permitted(verdict.verdict.reasons));
        }
        let now = self.clock.now();
        self.store.write(|w| {
            let fresh = pending_request(w, &id)?;
            let mut updated = fresh.clone();
            updated.status = RequestStatus::Denied;
            updated.closed = Some(Closure {
                by: approver.to_string(),
                at: now,
                reason: reason.clone(),
            });
            w.update_request(&fresh, &updated)?;
            w.audit(denied_entry(actor, &updated, &policy.engine), now)?;
            write_back(w, Step::Denied(&updated), now)?;
            Ok(Reviewed {
                request: updated,
                grant: None,
            })
        })
    }
}

fn not_permitted(reasons: Vec<crate::domain::Reason>) -> ServiceError {
    ServiceError::NotPermitted {
        code: "approval_not_permitted",
        message: "the policies do not permit this approver to sign off any remaining stage",
        reasons,
    }
}

/// The request, if it exists and is still pending.
pub(super) fn pending_request(
    read: &impl Queries,
    id: &RequestId,
) -> Result<RequestRecord, ServiceError> {
    let request = read.request(id)?.ok_or(ServiceError::NotFound("request"))?;
    if request.status == RequestStatus::Pending {
        Ok(request)
    } else {
        Err(ServiceError::RequestNotPending(request.status.as_str()))
    }
}

// One open grant per user and tool is an invariant of the grant lifecycle, not a policy.
fn ensure_no_open_grant(
    read: &impl LifecycleQueries,
    request: &RequestRecord,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    match read.open_grant(&request.requester, &request.tool, now)? {
        Some(grant) => Err(ServiceError::DuplicateGrant {
            user: request.requester.to_string(),
            tool: request.tool.to_string(),
            grant: grant.to_string(),
        }),
        None => Ok(()),
    }
}

/// What `approve` is asked on: the approver, the requester and tool as they are now.
pub(super) fn approval_facts(
    read: &ReadView,
    request: &RequestRecord,
    approver: &Email,
) -> Result<ApprovalFacts, ServiceError> {
    Ok(ApprovalFacts {
        approver: user_facts(read, approver)?,
        requester: user_facts(read, &request.requester)?,
        tool: recorded_tool_facts(read, &request.tool, Some(&request.decision.facts.tool))?,
        request_id: request.id.to_string(),
        duration_days: request.duration_days,
        purpose: request.purpose.clone(),
        issue_key: request.issue_key.to_string(),
        prior_approvers: request
            .approvals
            .iter()
            .map(|a| a.approver.clone())
            .collect(),
    })
}

/// The request's facts as they are now, for asking `request` again (this request itself
/// does not count as a duplicate of itself).
fn reasked_facts(
    read: &ReadView,
    request: &RequestRecord,
    now: DateTime<Utc>,
) -> Result<DecisionFacts, ServiceError> {
    let (user, tool) = (&request.requester, &request.tool);
    let ContendedFacts {
        has_open_grant,
        active_grants_for_tool,
        ..
    } = read.contended(user, tool, now)?;
    let recorded = &request.decision.facts;
    Ok(DecisionFacts {
        user: user_facts(read, user)?,
        tool: recorded_tool_facts(read, tool, Some(&recorded.tool))?,
        context: RequestContextFacts {
            has_open_request: read.has_other_open_request(user, tool, &request.id)?,
            has_open_grant,
            active_grants_for_tool,
            ..recorded.context.clone()
        },
    })
}

fn approved_entry(actor: &Actor, request: &RequestRecord) -> NewAuditEntry {
    let approval = request.approvals.last();
    NewAuditEntry {
        kind: "request.approved",
        actor: actor.audit_name(),
        subject: request.id.to_string(),
        data: serde_json::json!({
            "stage": approval.map(|a| &a.stage),
            "approver": approval.map(|a| &a.approver),
            "status": request.status,
            "remaining_reviews": request.remaining_stages(),
            "policy_version": approval.map(|a| &a.policy_version),
            "decided_under": request.decision.policy_version,
        }),
    }
}

fn denied_entry(
    actor: &Actor,
    request: &RequestRecord,
    engine: &crate::policy::PolicyEngine,
) -> NewAuditEntry {
    NewAuditEntry {
        kind: "request.denied",
        actor: actor.audit_name(),
        subject: request.id.to_string(),
        data: serde_json::json!({
            "by": request.closed.as_ref().map(|c| &c.by),
            "reason": request.closed.as_ref().and_then(|c| c.reason.as_ref()),
            "policy_version": engine.version(),
            "decided_under": request.decision.policy_version,
        }),
    }
}
