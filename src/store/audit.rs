//! The audit log: an append-only table written in the same transaction as each change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An entry to append; the store assigns `seq`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAuditEntry {
    /// What happened, such as `request.decided`.
    pub kind: &'static str,
    /// Who did it: a token id, `system`, or a user.
    pub actor: String,
    /// What it happened to: a request, grant, tool, user, … id.
    pub subject: String,
    /// Details, including the policy version where one applies.
    pub data: serde_json::Value,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Dense sequence number, from 1.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: String,
    /// Who did it.
    pub actor: String,
    /// To what.
    pub subject: String,
    /// Details.
    pub data: serde_json::Value,
}
