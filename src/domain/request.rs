//! Access requests and grants.

use super::catalog::duration_days;
use super::formats;
use super::review::{Approval, Closure};
use super::{DecisionRecord, DomainError, Email, GrantId, IssueKey, Outcome, RequestId, ToolId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A tool that is not in the catalog, named by the requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTool {
    /// The tool's name.
    #[schema(value_type = crate::domain::formats::NewToolNameText)]
    pub name: String,
    /// Where it lives.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::ProseText>)]
    pub url: Option<String>,
}

/// The body of `POST /v1/requests`, as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// Jira issue key; the idempotency key.
    #[schema(value_type = crate::domain::formats::IssueKeyText)]
    pub issue_key: String,
    /// Requester email.
    #[schema(value_type = crate::domain::formats::EmailText)]
    pub requester: String,
    /// Catalog id; exactly one of `tool` and `new_tool`.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::SlugText>)]
    pub tool: Option<String>,
    /// A tool not in the catalog.
    #[serde(default, deserialize_with = "super::shape::optional_object")]
    pub new_tool: Option<NewTool>,
    /// Why the requester needs it.
    #[schema(value_type = crate::domain::formats::ProseText)]
    pub purpose: String,
    /// Days of access (1 to 365).
    #[serde(deserialize_with = "crate::domain::number::whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub duration_days: i64,
    /// JSM project key.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::LabelText>)]
    pub project: Option<String>,
    /// JSM request type.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::LabelText>)]
    pub request_type: Option<String>,
}

/// A parsed request, ready to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRequest {
    /// Jira issue key.
    pub issue_key: IssueKey,
    /// Requester.
    pub requester: Email,
    /// The tool (`unknown:<slug>` for `new_tool`).
    pub tool: ToolId,
    /// The tool named by the requester, when not from the catalog.
    pub new_tool: Option<NewTool>,
    /// Stated purpose.
    pub purpose: String,
    /// Days of access.
    pub duration_days: u32,
    /// JSM project key or empty.
    pub project: String,
    /// JSM request type or empty.
    pub request_type: String,
}

impl SubmitRequest {
    /// Checks every field; the first problem is the error.
    pub fn parse(self) -> Result<NewRequest, DomainError> {
        let issue_key = IssueKey::parse("issue_key", &self.issue_key)?;
        let requester = Email::parse("requester", &self.requester)?;
        let (tool, new_tool) = match (self.tool, self.new_tool) {
            (Some(tool), None) => (ToolId::parse("tool", &tool)?, None),
            (None, Some(new)) => {
                let name = formats::text(&formats::NEW_TOOL_NAME, "new_tool.name", &new.name)?;
                let url = match new.url {
                    Some(url) => Some(formats::text(&formats::PROSE, "new_tool.url", &url)?),
                    None => None,
                };
                let id = ToolId::unknown_from_name("new_tool.name", &name)?;
                (id, Some(NewTool { name, url }))
            }
            _ => {
                return Err(DomainError::new(
                    "tool",
                    "exactly one of tool and new_tool must be given",
                ));
            }
        };
        let purpose = formats::text(&formats::PROSE, "purpose", &self.purpose)?;
        let duration_days = duration_days("duration_days", self.duration_days)?;
        Ok(NewRequest {
            issue_key,
            requester,
            tool,
            new_tool,
            purpose,
            duration_days,
            project: optional_label("project", self.project)?,
            request_type: optional_label("request_type", self.request_type)?,
        })
    }
}

fn optional_label(field: &str, raw: Option<String>) -> Result<String, DomainError> {
    Ok(formats::optional_text(&formats::LABEL, field, raw)?.unwrap_or_default())
}

impl NewRequest {
    /// A digest of the parsed request: equal for retries of the same request.
    pub fn fingerprint(&self) -> String {
        // Serialising a struct of plain fields is deterministic (declaration order).
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

/// Where a request is in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for review.
    Pending,
    /// Approved; a grant exists.
    Approved,
    /// Refused.
    Denied,
    /// Pending for longer than the maximum age; can no longer be approved.
    Expired,
}

impl RequestStatus {
    /// The status a fresh decision leaves the request in.
    pub fn after(outcome: Outcome) -> Self {
        match outcome {
            Outcome::AutoApproved => Self::Approved,
            Outcome::NeedsReview => Self::Pending,
            Outcome::Denied => Self::Denied,
        }
    }

    /// The name used in the API and indexes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Request id.
    pub id: RequestId,
    /// Jira issue key.
    pub issue_key: IssueKey,
    /// Requester.
    pub requester: Email,
    /// Tool.
    pub tool: ToolId,
    /// Tool named by the requester, when not from the catalog.
    pub new_tool: Option<NewTool>,
    /// Stated purpose.
    pub purpose: String,
    /// Days of access.
    pub duration_days: u32,
    /// JSM project.
    pub project: String,
    /// JSM request type.
    pub request_type: String,
    /// Current status.
    pub status: RequestStatus,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// [`NewRequest::fingerprint`] of the submitted body.
    pub fingerprint: String,
    /// The decision on submission.
    pub decision: DecisionRecord,
    /// The grant, once approved.
    pub grant_id: Option<GrantId>,
    /// Sign-offs so far, in order.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// How the request left `pending` other than by approval: denial or expiry.
    #[serde(default)]
    pub closed: Option<Closure>,
}

impl RequestRecord {
    /// Required stages not yet signed off, in stage order.
    pub fn remaining_stages(&self) -> Vec<String> {
        self.decision
            .decision
            .required_reviews
            .iter()
            .filter(|stage| !self.approvals.iter().any(|a| &a.stage == *stage))
            .cloned()
            .collect()
    }

    /// When a person concluded the review: the last approval, or the denial.
    pub fn concluded_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            RequestStatus::Approved => self.approvals.last().map(|a| a.at),
            RequestStatus::Denied => self.closed.as_ref().map(|c| c.at),
            RequestStatus::Pending | RequestStatus::Expired => None,
        }
    }
}

/// The body of JSM's "Send web request" automation template (`../shared/fixtures/`), which
/// teams start from: the tool by its display name, the purpose as `justification`, the
/// requester by email or, when Jira hides it, by Atlassian account id.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutomationRequest {
    /// Jira issue key; the idempotency key.
    #[schema(value_type = crate::domain::formats::IssueKeyText)]
    pub issue_key: String,
    /// Jira's issue id (not used).
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::LabelText>)]
    pub issue_id: Option<String>,
    /// The reporter's Atlassian account id, used when the email is hidden.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::LabelText>)]
    pub reporter_account_id: Option<String>,
    /// The reporter's email.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub reporter_email: Option<String>,
    /// The tool as the form names it: matched by id, the slug of the name, name or alias.
    #[schema(value_type = crate::domain::formats::NameText)]
    pub tool: String,
    /// Why the requester needs it.
    #[schema(value_type = crate::domain::formats::ProseText)]
    pub justification: String,
    /// The issue's status (not used).
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::LabelText>)]
    pub status: Option<String>,
    /// Days of access (1 to 365); the tool's default when absent.
    #[serde(default, deserialize_with = "crate::domain::number::optional_whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub duration_days: Option<i64>,
}

/// The body of `POST /v1/requests`: clearance's own shape, or the JSM automation template's
/// (told apart by its `issueKey`).
#[derive(Debug, Clone)]
pub enum SubmitBody {
    /// `issue_key`, `requester`, `tool` or `new_tool`, `purpose`, `duration_days`.
    Request(SubmitRequest),
    /// The automation template's `issueKey`, `reporterEmail`, `tool`, `justification`.
    Automation(AutomationRequest),
}

impl<'de> Deserialize<'de> for SubmitBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.get("issueKey").is_some() {
            AutomationRequest::deserialize(value)
                .map(Self::Automation)
                .map_err(D::Error::custom)
        } else {
            SubmitRequest::deserialize(value)
                .map(Self::Request)
                .map_err(D::Error::custom)
        }
    }
}

impl utoipa::PartialSchema for SubmitBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::ToSchema;
        use utoipa::openapi::schema::{OneOf, Ref};
        let mut one_of = OneOf::new();
        one_of.items = vec![
            Ref::from_schema_name(SubmitRequest::name()).into(),
            Ref::from_schema_name(AutomationRequest::name()).into(),
        ];
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::OneOf(one_of))
    }
}

impl utoipa::ToSchema for SubmitBody {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::{PartialSchema, ToSchema};
        schemas.push((SubmitRequest::name().into(), SubmitRequest::schema()));
        <SubmitRequest as ToSchema>::schemas(schemas);
        schemas.push((
            AutomationRequest::name().into(),
            AutomationRequest::schema(),
        ));
        <AutomationRequest as ToSchema>::schemas(schemas);
    }
}
