//! Deciding requests: the decision endpoint's use case, and reading requests back.

use super::auth::ANY_ROLE;
use super::facts::request_facts;
use super::grants::record_new_grant;
use super::jira::{Step, write_back};
use super::{Actor, Service, ServiceError};
use crate::domain::{
    ContendedFacts, Decision, DecisionRecord, Grant, GrantId, Outcome, RequestId, RequestRecord,
    RequestRef, RequestStatus, Role, SubmitRequest,
};
use crate::store::{NewAuditEntry, Queries, RequestFilter};
use std::time::Instant;

/// How often a decision is re-made when concurrent requests changed its facts.
const MAX_ATTEMPTS: usize = 16;
/// The most requests one listing returns.
pub const MAX_LIST: usize = 500;

/// The result of submitting a request.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The request as recorded.
    pub request: RequestRecord,
    /// True when this call recorded it; false for a retry of the same request.
    pub created: bool,
}

enum Commit {
    Recorded,
    Existing(Box<RequestRecord>),
    Stale(ContendedFacts),
}

impl Service {
    /// Decides a request and records request, decision and grant in one durable transaction.
    ///
    /// Decisions are made outside the write transaction on a snapshot; if a concurrent commit
    /// changed the contended facts (open requests, open grants, grant count) meanwhile, the
    /// request is decided again on the fresh facts, under the same policy version.
    ///
    /// Async only to wait for the writer without holding a thread; the decision itself (a
    /// snapshot read and the Cedar calls, tens of microseconds) runs on the caller's task.
    pub async fn submit(
        &self,
        actor: &Actor,
        body: SubmitRequest,
    ) -> Result<Submitted, ServiceError> {
        actor.require(&[Role::Automation], "submit requests")?;
        let started = Instant::now();
        let input = body.parse()?;
        let fingerprint = input.fingerprint();
        let policy = self.policies.current();
        let read = self.store.read()?;
        if let Some(existing) = read.request_by_issue(&input.issue_key)? {
            return replay(existing, &fingerprint);
        }
        let mut facts = request_facts(&read, &self.facts, &input, self.clock.now())?;
        drop(read);

        for _ in 0..MAX_ATTEMPTS {
            let decision = policy.engine.decide_request(&facts)?;
            let now = self.clock.now();
            let status = RequestStatus::after(decision.outcome);
            let request_id = RequestId::generate(now);
            let grant = (decision.outcome == Outcome::AutoApproved).then(|| {
                Grant::pending(
                    request_id.clone(),
                    input.requester.clone(),
                    facts.tool.id.clone(),
                    input.duration_days,
                    now,
                )
            });
            let record = RequestRecord {
                id: request_id,
                issue_key: input.issue_key.clone(),
                requester: input.requester.clone(),
                tool: facts.tool.id.clone(),
                new_tool: input.new_tool.clone(),
                purpose: input.purpose.clone(),
                duration_days: input.duration_days,
                project: input.project.clone(),
                request_type: input.request_type.clone(),
                status,
                submitted_at: now,
                fingerprint: fingerprint.clone(),
                grant_id: grant.as_ref().map(|g| g.grant_id.clone()),
                approvals: Vec::new(),
                closed: None,
                decision: DecisionRecord {
                    decision,
                    policy_version: policy.engine.version().clone(),
                    policy_seq: policy.seq(),
                    decided_at: now,
                    facts: facts.clone(),
                },
            };
            let expected = facts.contended();
            let (entry, by) = (decided_entry(actor, &record), actor.audit_name());
            let stored = record.clone();
            // Through the writer: committed with whatever else is queued, in order.
            let commit = self
                .writer
                .write_async(move |w| {
                    if let Some(existing) = w.request_by_issue(&stored.issue_key)? {
                        return Ok(Commit::Existing(Box::new(existing)));
                    }
                    let fresh = w.contended(&stored.requester, &stored.tool, now)?;
                    if fresh != expected {
                        return Ok(Commit::Stale(fresh));
                    }
                    w.insert_request(&stored)?;
                    w.audit(entry.clone(), now)?;
                    write_back(w, Step::Decided(&stored), now)?;
                    if let Some(grant) = &grant {
                        let version = &stored.decision.policy_version;
                        record_new_grant(w, &by, grant, version, now)?;
                    }
                    Ok(Commit::Recorded)
                })
                .await?;
            match commit {
                Commit::Recorded => {
                    self.metrics
                        .decision(record.decision.decision.outcome, started.elapsed());
                    return Ok(Submitted {
                        request: record,
                        created: true,
                    });
                }
                Commit::Existing(existing) => return replay(*existing, &fingerprint),
                Commit::Stale(fresh) => facts.refresh(fresh),
            }
        }
        tracing::warn!(issue_key = %input.issue_key, "decision facts kept changing; gave up");
        Err(ServiceError::Unavailable)
    }

    /// Decides a request on the current facts without recording anything (a dry run).
    pub fn evaluate(&self, actor: &Actor, body: SubmitRequest) -> Result<Decision, ServiceError> {
        actor.require(&[Role::Automation], "evaluate requests")?;
        let input = body.parse()?;
        let policy = self.policies.current();
        let now = self.clock.now();
        let facts = request_facts(&self.store.read()?, &self.facts, &input, now)?;
        Ok(policy.engine.decide_request(&facts)?)
    }

    /// A request by id or by issue key.
    pub fn request(&self, actor: &Actor, id_or_key: &str) -> Result<RequestRecord, ServiceError> {
        actor.require(ANY_ROLE, "read requests")?;
        let reference = RequestRef::parse("id", id_or_key)?;
        find_request(&self.store.read()?, &reference)
    }

    /// The id of the request `raw` names: a request id as it is, an issue key looked up.
    pub(super) fn request_id(&self, raw: &str) -> Result<RequestId, ServiceError> {
        match RequestRef::parse("id", raw)? {
            RequestRef::Id(id) => Ok(id),
            key => Ok(find_request(&self.store.read()?, &key)?.id),
        }
    }

    /// Requests matching `filter`.
    pub fn requests(
        &self,
        actor: &Actor,
        mut filter: RequestFilter,
    ) -> Result<crate::domain::page::Page<RequestRecord>, ServiceError> {
        actor.require(ANY_ROLE, "read requests")?;
        filter.limit = filter.limit.clamp(1, MAX_LIST);
        Ok(self.store.read()?.requests(&filter)?)
    }

    /// A grant by id.
    pub fn grant(&self, actor: &Actor, id: &str) -> Result<Grant, ServiceError> {
        actor.require(ANY_ROLE, "read grants")?;
        let id = GrantId::parse("id", id)?;
        self.store
            .read()?
            .grant(&id)?
            .ok_or(ServiceError::NotFound("grant"))
    }
}

/// The request `reference` names.
pub(super) fn find_request(
    read: &impl Queries,
    reference: &RequestRef,
) -> Result<RequestRecord, ServiceError> {
    let found = match reference {
        RequestRef::Id(id) => read.request(id)?,
        RequestRef::Key(key) => read.request_by_issue(key)?,
    };
    found.ok_or(ServiceError::NotFound("request"))
}

/// A retry: the same body gets the stored request; a different body is a conflict.
fn replay(existing: RequestRecord, fingerprint: &str) -> Result<Submitted, ServiceError> {
    if existing.fingerprint == fingerprint {
        Ok(Submitted {
            request: existing,
            created: false,
        })
    } else {
        Err(ServiceError::IssueKeyConflict(
            existing.issue_key.to_string(),
        ))
    }
}

fn decided_entry(actor: &Actor, record: &RequestRecord) -> NewAuditEntry {
    let d = &record.decision;
    NewAuditEntry {
        kind: "request.decided",
        actor: actor.audit_name(),
        subject: record.id.to_string(),
        data: serde_json::json!({
            "issue_key": record.issue_key,
            "requester": record.requester,
            "tool": record.tool,
            "duration_days": record.duration_days,
            "outcome": d.decision.outcome,
            "determining_policies": d.decision.determining_policies,
            "required_reviews": d.decision.required_reviews,
            "policy_version": d.policy_version,
            "policy_seq": d.policy_seq,
        }),
    }
}
