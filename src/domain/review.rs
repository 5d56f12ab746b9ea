//! Reviews and the records around grants: approvals, closures, jobs, recertifications and
//! escalations.

use super::{Connector, Email, GrantId, PolicyVersionId, RequestId, ToolId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One stage signed off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    /// The stage.
    pub stage: String,
    /// Who signed it off.
    #[schema(value_type = String)]
    pub approver: Email,
    /// When.
    pub at: DateTime<Utc>,
    /// Their comment.
    pub comment: Option<String>,
    /// The policy version active at approval (it re-asked `request` and `approve`).
    #[schema(value_type = String)]
    pub policy_version: PolicyVersionId,
    /// That version's sequence number.
    pub policy_seq: u64,
    /// The `approve` policies that permitted it.
    pub determining_policies: Vec<String>,
}

/// How a request was closed without approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Closure {
    /// Who closed it: an approver's email, or `system` for expiry.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: Option<String>,
}

/// What a job asks a person or connector to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Give the user access.
    Fulfil,
    /// Take access away.
    Deprovision,
}

impl JobKind {
    /// The name used in the API and indexes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fulfil => "fulfil",
            Self::Deprovision => "deprovision",
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Access was given.
    Fulfilled,
    /// Access was removed.
    Deprovisioned,
    /// Someone checked that access is really gone (or there).
    Verified,
    /// No longer needed: the grant ended, or came back, before the job was done.
    Cancelled,
}

/// Who carries a job out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobMode {
    /// A person does it and completes the job.
    #[default]
    Manual,
    /// clearance's worker does it through the tool's connector.
    Connector,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting to be done.
    Open,
    /// A connector attempt failed in a way that may pass; it runs again at `next_attempt_at`.
    Retrying,
    /// Completed (see `outcome`).
    Done,
    /// Out of attempts, or refused for good; waits for a person (retry or complete by hand).
    Failed,
}

/// The IdP's answer to the last call a job made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderCall {
    /// The HTTP status.
    pub status: u16,
    /// The provider's request id (Okta `X-Okta-Request-Id`, Graph `request-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A fulfilment or deprovisioning task for one grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(from = "StoredJob")]
pub struct Job {
    /// Job id.
    pub job_id: String,
    /// What to do.
    pub kind: JobKind,
    /// For which grant.
    #[schema(value_type = String)]
    pub grant_id: GrantId,
    /// The user.
    #[schema(value_type = String)]
    pub user: Email,
    /// The tool.
    #[schema(value_type = String)]
    pub tool: ToolId,
    /// How the tool is fulfilled.
    pub connector: Connector,
    /// Who carries it out.
    pub mode: JobMode,
    /// Where it stands.
    pub state: JobState,
    /// Connector attempts made so far.
    pub attempts: u32,
    /// When the worker tries next (connector jobs that are open or retrying).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, sanitised.
    pub last_error: Option<String>,
    /// The IdP's answer to the last call.
    pub provider: Option<ProviderCall>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was completed; open while `None`.
    pub completed_at: Option<DateTime<Utc>>,
    /// Who completed it.
    pub completed_by: Option<String>,
    /// How it ended.
    pub outcome: Option<JobOutcome>,
    /// When someone verified the completed job.
    pub verified_at: Option<DateTime<Utc>>,
    /// Who verified it.
    pub verified_by: Option<String>,
}

/// A job as stored; records written before connected mode have no mode, state or attempts.
#[derive(Deserialize)]
struct StoredJob {
    job_id: String,
    kind: JobKind,
    grant_id: GrantId,
    user: Email,
    tool: ToolId,
    connector: Connector,
    #[serde(default)]
    mode: JobMode,
    #[serde(default)]
    state: Option<JobState>,
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    provider: Option<ProviderCall>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    completed_by: Option<String>,
    outcome: Option<JobOutcome>,
    #[serde(default)]
    verified_at: Option<DateTime<Utc>>,
    #[serde(default)]
    verified_by: Option<String>,
}

impl From<StoredJob> for Job {
    fn from(s: StoredJob) -> Self {
        let state = s.state.unwrap_or(match s.completed_at {
            Some(_) => JobState::Done,
            None => JobState::Open,
        });
        Self {
            job_id: s.job_id,
            kind: s.kind,
            grant_id: s.grant_id,
            user: s.user,
            tool: s.tool,
            connector: s.connector,
            mode: s.mode,
            state,
            attempts: s.attempts,
            next_attempt_at: s.next_attempt_at,
            last_error: s.last_error,
            provider: s.provider,
            created_at: s.created_at,
            completed_at: s.completed_at,
            completed_by: s.completed_by,
            outcome: s.outcome,
            verified_at: s.verified_at,
            verified_by: s.verified_by,
        }
    }
}

impl Job {
    /// A new open job; a connected tool's job is due at once.
    pub fn open(
        kind: JobKind,
        grant: &super::Grant,
        connector: Connector,
        at: DateTime<Utc>,
    ) -> Self {
        Self::open_for(
            kind,
            &grant.grant_id,
            &grant.user,
            &grant.tool,
            connector,
            at,
        )
    }

    /// A new open job for `user`'s access to `tool`, filed under `grant_id`.
    pub fn open_for(
        kind: JobKind,
        grant_id: &GrantId,
        user: &Email,
        tool: &ToolId,
        connector: Connector,
        at: DateTime<Utc>,
    ) -> Self {
        let mode = match connector.managed_by() {
            Some(_) => JobMode::Connector,
            None => JobMode::Manual,
        };
        Self {
            job_id: super::time_ordered_id("job", at),
            kind,
            grant_id: grant_id.clone(),
            user: user.clone(),
            tool: tool.clone(),
            connector,
            mode,
            state: JobState::Open,
            attempts: 0,
            next_attempt_at: (mode == JobMode::Connector).then_some(at),
            last_error: None,
            provider: None,
            created_at: at,
            completed_at: None,
            completed_by: None,
            outcome: None,
            verified_at: None,
            verified_by: None,
        }
    }

    /// Whether it still waits to be done (by the worker or by a person).
    pub fn is_open(&self) -> bool {
        self.completed_at.is_none()
    }

    /// When the worker should run it: connector jobs that are open or retrying.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        match (self.mode, self.state) {
            (JobMode::Connector, JobState::Open | JobState::Retrying) => self.next_attempt_at,
            _ => None,
        }
    }

    /// The job, completed by `by` at `at` with `outcome`.
    pub fn completed(&self, outcome: JobOutcome, by: &str, at: DateTime<Utc>) -> Self {
        Self {
            state: JobState::Done,
            next_attempt_at: None,
            completed_at: Some(at),
            completed_by: Some(by.to_owned()),
            outcome: Some(outcome),
            ..self.clone()
        }
    }
}

/// Where a recertification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecertState {
    /// Waiting for a reviewer.
    Open,
    /// Kept: the grant was extended.
    Kept,
    /// Revoked.
    Revoked,
    /// The grant ended before anyone decided.
    Lapsed,
}

/// A review of a grant that is about to expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recertification {
    /// Recertification id.
    pub recert_id: String,
    /// The grant.
    #[schema(value_type = String)]
    pub grant_id: GrantId,
    /// The grant's holder.
    #[schema(value_type = String)]
    pub user: Email,
    /// The tool.
    #[schema(value_type = String)]
    pub tool: ToolId,
    /// The expiry this review is for.
    pub expires_at: DateTime<Utc>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub state: RecertState,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// The Jira issue created for it, when a recertification project is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_issue: Option<String>,
}

/// A request pending past the approval SLA, flagged to someone who can move it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Escalation {
    /// The request.
    #[schema(value_type = String)]
    pub request_id: RequestId,
    /// 1 for the first SLA period missed, 2 for the second, …
    pub breach: u32,
    /// Who it is escalated to.
    pub target: String,
    /// The stages still waiting.
    pub remaining_stages: Vec<String>,
    /// When the request was submitted.
    pub pending_since: DateTime<Utc>,
    /// When the escalation was recorded.
    pub created_at: DateTime<Utc>,
}

/// A connector job that failed for good, flagged to someone who can retry it or do it by
/// hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobEscalation {
    /// The job.
    pub job_id: String,
    /// What it was to do.
    pub kind: JobKind,
    /// The grant.
    #[schema(value_type = String)]
    pub grant_id: GrantId,
    /// The user.
    #[schema(value_type = String)]
    pub user: Email,
    /// The tool.
    #[schema(value_type = String)]
    pub tool: ToolId,
    /// Why it failed, sanitised.
    pub reason: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it was settled (retried or completed); open while `None`.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}
