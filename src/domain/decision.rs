//! Decisions: the facts a request was decided on and what the policies said.

use super::{Email, GroupId, PolicyVersionId, ToolId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The outcome of deciding a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Approved without a human.
    AutoApproved,
    /// Waiting for the review stages in `required_reviews`.
    NeedsReview,
    /// Refused by policy.
    Denied,
}

impl Outcome {
    /// The name used in the API and indexes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoApproved => "auto_approved",
            Self::NeedsReview => "needs_review",
            Self::Denied => "denied",
        }
    }
}

/// One reason for a decision, from the annotations of a determining policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// The policy's `@id`.
    pub policy: String,
    /// The policy's `@code`.
    pub code: String,
    /// The policy's `@reason`.
    pub message: String,
}

/// What the policies decided, before it is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The outcome.
    pub outcome: Outcome,
    /// Ids of the policies that determined the outcome.
    pub determining_policies: Vec<String>,
    /// Reasons from those policies' annotations.
    pub reasons: Vec<Reason>,
    /// Review stages that must sign off, in stage order.
    pub required_reviews: Vec<String>,
}

/// The requester as the decision saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFacts {
    /// The requester's email.
    pub email: Email,
    /// Department, if known.
    pub department: Option<String>,
    /// Manager, if known.
    pub manager: Option<Email>,
    /// Direct groups.
    pub groups: Vec<GroupId>,
    /// Every group reachable from `groups`, with its direct parents.
    pub group_parents: Vec<(GroupId, Vec<GroupId>)>,
}

/// The tool as the decision saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolFacts {
    /// Catalog slug or `unknown:<slug>`.
    pub id: ToolId,
    /// Display name.
    pub name: String,
    /// Vendor.
    pub provider: String,
    /// `approved`, `blocked`, `denied` or `unknown`.
    pub status: String,
    /// `low`, `medium`, `high`, `critical` or `unrated`.
    pub risk: String,
    /// Catalog default duration (0 when not in the catalog).
    pub default_duration_days: u32,
    /// Whether the tool is in the catalog.
    pub in_catalog: bool,
}

/// The request context facts (see the Cedar vocabulary in DESIGN.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContextFacts {
    /// Requested days.
    pub duration_days: u32,
    /// Stated purpose.
    pub purpose: String,
    /// Characters in `purpose`.
    pub purpose_length: u32,
    /// JSM project key, or empty.
    pub project: String,
    /// JSM request type, or empty.
    pub request_type: String,
    /// The same user has a pending request for the same tool.
    pub has_open_request: bool,
    /// The same user has a grant for the same tool pending provision or active.
    pub has_open_grant: bool,
    /// Organisation-wide grants for the tool pending provision or active.
    pub active_grants_for_tool: u64,
}

/// Everything a request was decided on; enough to decide it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionFacts {
    /// The requester.
    pub user: UserFacts,
    /// The tool.
    pub tool: ToolFacts,
    /// The context.
    pub context: RequestContextFacts,
}

/// The part of the facts that other requests can change while one is being decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContendedFacts {
    /// See [`RequestContextFacts::has_open_request`].
    pub has_open_request: bool,
    /// See [`RequestContextFacts::has_open_grant`].
    pub has_open_grant: bool,
    /// See [`RequestContextFacts::active_grants_for_tool`].
    pub active_grants_for_tool: u64,
}

impl DecisionFacts {
    /// The facts that must still hold when the decision is committed.
    pub fn contended(&self) -> ContendedFacts {
        ContendedFacts {
            has_open_request: self.context.has_open_request,
            has_open_grant: self.context.has_open_grant,
            active_grants_for_tool: self.context.active_grants_for_tool,
        }
    }

    /// Replaces the contended facts with fresher ones.
    pub fn refresh(&mut self, fresh: ContendedFacts) {
        self.context.has_open_request = fresh.has_open_request;
        self.context.has_open_grant = fresh.has_open_grant;
        self.context.active_grants_for_tool = fresh.active_grants_for_tool;
    }
}

/// A decision as recorded: outcome, the policy version that made it, and its facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// What was decided.
    #[serde(flatten)]
    pub decision: Decision,
    /// The policy version that decided.
    pub policy_version: PolicyVersionId,
    /// That version's sequence number.
    pub policy_seq: u64,
    /// When.
    pub decided_at: DateTime<Utc>,
    /// On what.
    pub facts: DecisionFacts,
}
