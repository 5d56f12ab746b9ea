//! API tokens and the roles they carry.

use super::Email;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages catalog, directory, tokens and policies; may do everything.
    Admin,
    /// Approves and denies requests, confirms fulfilment.
    Approver,
    /// Reads only.
    Auditor,
    /// JSM automation: submits requests and relays approvals.
    Automation,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Approver => "approver",
            Self::Auditor => "auditor",
            Self::Automation => "automation",
        }
    }
}

/// A stored token: only the SHA-256 of the secret is kept, as its key; the record never
/// holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRecord {
    /// Short public id, for logs and audit.
    pub id: String,
    /// The role.
    pub role: Role,
    /// The user the token acts as, if bound to one.
    #[schema(value_type = Option<String>)]
    pub subject: Option<Email>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// When it stops being accepted; never when absent.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last accepted, as last recorded.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Whether the token is accepted at `now`.
    pub fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }
}
