//! A write-back to a Jira issue, queued in the transaction of the change it reports and
//! delivered by the outbox worker, in order per issue, exactly once.

use super::{IssueKey, ProviderCall};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a comment is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentKind {
    /// A public JSM comment the requester sees.
    Public,
    /// An internal note (Jira's comment endpoint, ADF body).
    Internal,
}

/// The status an issue is moved towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransitionGoal {
    /// The request was approved.
    Approved,
    /// The request was denied.
    Denied,
}

/// An issue to create (a recertification's), instead of commenting on one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewIssue {
    /// The project key.
    pub project: String,
    /// The issue type's id.
    pub issue_type_id: String,
    /// The summary.
    pub summary: String,
    /// The description.
    pub description: String,
    /// The recertification it is for.
    pub recert_id: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its turn.
    Pending,
    /// An attempt failed in a way that may pass; it runs again at `next_attempt_at`.
    Retrying,
    /// Delivered.
    Done,
    /// Out of attempts, or refused for good; waits for `POST /v1/deliveries/{id}/retry`.
    Failed,
}

impl DeliveryState {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// One write-back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Delivery id; also the mark on the comment it posts.
    pub delivery_id: String,
    /// The issue.
    #[schema(value_type = String)]
    pub issue_key: IssueKey,
    /// What it reports, such as `request.decided` or `grant.revoked`.
    pub step: String,
    /// The comment, if one is posted.
    pub comment: Option<String>,
    /// How the comment is posted.
    pub comment_kind: CommentKind,
    /// The transition, for approvals and denials.
    pub transition: Option<TransitionGoal>,
    /// An issue to create; `issue_key` is then the request's, which orders it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_issue: Option<NewIssue>,
    /// The issue created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_key: Option<String>,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When it may run.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The last attempt may have posted the comment without an answer: look for its mark
    /// before posting again.
    #[serde(default)]
    pub ambiguous: bool,
    /// The comment posted, once it is.
    pub comment_id: Option<String>,
    /// Whether the posted comment carries its mark (public comments are marked by a second
    /// call).
    #[serde(default)]
    pub marked: bool,
    /// What the transition step found or did.
    pub transition_note: Option<String>,
    /// Jira's answer to the last call.
    pub provider: Option<ProviderCall>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// A new pending delivery, due at once.
    pub fn new(
        issue_key: IssueKey,
        step: &str,
        comment: Option<String>,
        comment_kind: CommentKind,
        transition: Option<TransitionGoal>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            delivery_id: super::time_ordered_id("dlv", at),
            issue_key,
            step: step.to_owned(),
            comment,
            comment_kind,
            transition,
            create_issue: None,
            created_key: None,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: Some(at),
            last_error: None,
            ambiguous: false,
            comment_id: None,
            marked: false,
            transition_note: None,
            provider: None,
            created_at: at,
            delivered_at: None,
        }
    }

    /// Whether the worker still has to carry it out (pending or retrying).
    pub fn is_open(&self) -> bool {
        matches!(self.state, DeliveryState::Pending | DeliveryState::Retrying)
    }

    /// When the worker should run it.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.next_attempt_at.filter(|_| self.is_open())
    }
}
