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

/// A fulfilment or deprovisioning task for one grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was completed; open while `None`.
    pub completed_at: Option<DateTime<Utc>>,
    /// Who completed it.
    pub completed_by: Option<String>,
    /// How it ended.
    pub outcome: Option<JobOutcome>,
    /// When someone verified the completed job.
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    /// Who verified it.
    #[serde(default)]
    pub verified_by: Option<String>,
}

impl Job {
    /// A new open job.
    pub fn open(
        kind: JobKind,
        grant: &super::Grant,
        connector: Connector,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            job_id: super::time_ordered_id("job", at),
            kind,
            grant_id: grant.grant_id.clone(),
            user: grant.user.clone(),
            tool: grant.tool.clone(),
            connector,
            created_at: at,
            completed_at: None,
            completed_by: None,
            outcome: None,
            verified_at: None,
            verified_by: None,
        }
    }

    /// Whether it still waits to be done.
    pub fn is_open(&self) -> bool {
        self.completed_at.is_none()
    }

    /// The job, completed by `by` at `at` with `outcome`.
    pub fn completed(&self, outcome: JobOutcome, by: &str, at: DateTime<Utc>) -> Self {
        Self {
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
