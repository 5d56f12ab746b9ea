//! Facts for the review actions: `approve` and `extend`.

use super::{Email, GrantId, Reason, ToolFacts, UserFacts};
use serde::{Deserialize, Serialize};

/// What `approve` is decided on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalFacts {
    /// The person signing off.
    pub approver: UserFacts,
    /// The requester, as the directory knows them now.
    pub requester: UserFacts,
    /// The tool.
    pub tool: ToolFacts,
    /// The request id (the `AccessRequest` entity id).
    pub request_id: String,
    /// Requested days.
    pub duration_days: u32,
    /// Stated purpose.
    pub purpose: String,
    /// Jira issue key.
    pub issue_key: String,
    /// Who signed off earlier stages.
    pub prior_approvers: Vec<Email>,
}

/// What `extend` is decided on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendFacts {
    /// Who asks for the extension.
    pub actor: UserFacts,
    /// The grant.
    pub grant_id: GrantId,
    /// Its holder.
    pub holder: Email,
    /// The tool.
    pub tool: ToolFacts,
    /// The grant's state (`active`, `expired`, …).
    pub state: String,
    /// Days asked for.
    pub requested_days: u32,
    /// Days from the original start to the new expiry.
    pub total_days_after: i64,
    /// Whole days since expiry; 0 while not expired.
    pub days_since_expiry: i64,
}

/// A yes or no from the policies, with the reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Permitted?
    pub allowed: bool,
    /// The determining policies.
    pub determining_policies: Vec<String>,
    /// Their reasons.
    pub reasons: Vec<Reason>,
}

/// Which review stage an approver may sign off, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageVerdict {
    /// The first remaining stage the approver may sign off.
    pub stage: Option<String>,
    /// The policies that permitted it, or that forbade every stage.
    pub verdict: Verdict,
}
