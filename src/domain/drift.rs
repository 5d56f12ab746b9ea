//! Drift: how a connected group differs from the grants clearance believes in.

use super::{ConnectorId, Email, ExternalId, GrantId, ToolId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a finding says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// In the group without an active grant.
    UnmanagedMember,
    /// An active grant whose user is not in the group.
    MissingMember,
    /// A member clearance cannot map to a user.
    UnknownIdentity,
}

/// One difference between a group and the grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// What it is.
    pub kind: FindingKind,
    /// The user, when known.
    #[schema(value_type = Option<String>)]
    pub user: Option<Email>,
    /// The IdP user id, when known.
    #[schema(value_type = Option<String>)]
    pub external_id: Option<ExternalId>,
    /// The grant, for missing members.
    #[schema(value_type = Option<String>)]
    pub grant_id: Option<GrantId>,
}

/// One tool's group compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolDrift {
    /// The tool.
    #[schema(value_type = String)]
    pub tool: ToolId,
    /// Its connector.
    #[schema(value_type = String)]
    pub connector_id: ConnectorId,
    /// The group.
    pub group: String,
    /// Members listed.
    pub members: usize,
    /// Differences found.
    pub findings: Vec<Finding>,
    /// Why the group could not be compared, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Jobs opened to remediate, when remediation is on.
    #[serde(default)]
    pub remediation_jobs: usize,
    /// Why remediation held back, if it did (the removal cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_held: Option<String>,
}

/// One drift run over every connected tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DriftRun {
    /// Run id.
    pub run_id: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Each connected tool.
    pub tools: Vec<ToolDrift>,
}
