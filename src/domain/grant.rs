//! Grants: access to one tool for one user, through its lifecycle.

use super::{Email, GrantId, RequestId, ToolId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a grant is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Approved, waiting for fulfilment.
    PendingProvision,
    /// Fulfilled and in force.
    Active,
    /// Ran out.
    Expired,
    /// Taken away.
    Revoked,
}

impl GrantState {
    /// Every state, in lifecycle order.
    pub const ALL: [Self; 4] = [
        Self::PendingProvision,
        Self::Active,
        Self::Expired,
        Self::Revoked,
    ];

    /// The name policies and the API see.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingProvision => "pending_provision",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// A grant of access to one tool for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grant {
    /// Grant id.
    #[schema(value_type = String)]
    pub grant_id: GrantId,
    /// The request that created it.
    #[schema(value_type = String)]
    pub request_id: RequestId,
    /// Who holds it.
    #[schema(value_type = String)]
    pub user: Email,
    /// For which tool.
    #[schema(value_type = String)]
    pub tool: ToolId,
    /// Lifecycle state.
    pub state: GrantState,
    /// Days granted.
    pub duration_days: u32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When fulfilment made it active.
    pub starts_at: Option<DateTime<Utc>>,
    /// When it ends (set once active).
    pub expires_at: Option<DateTime<Utc>>,
    /// Days added by extensions.
    #[serde(default)]
    pub extended_days: u32,
    /// When it expired or was revoked.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    #[serde(default)]
    pub end_reason: Option<String>,
}

impl Grant {
    /// A new grant, pending provision, created when `request` is approved.
    pub fn pending(
        request_id: RequestId,
        user: Email,
        tool: ToolId,
        duration_days: u32,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            grant_id: GrantId::generate(at),
            request_id,
            user,
            tool,
            state: GrantState::PendingProvision,
            duration_days,
            created_at: at,
            starts_at: None,
            expires_at: None,
            extended_days: 0,
            ended_at: None,
            end_reason: None,
        }
    }

    /// Pending provision or active: the user holds or is about to hold access.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            GrantState::PendingProvision | GrantState::Active
        )
    }
}

/// How long a grant has left, as people say it: `expired`, `expires today`,
/// `expires tomorrow` or `N days remaining` (calendar days in UTC). `None` before fulfilment.
pub fn expiry_label(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<String> {
    let expires_at = expires_at?;
    if expires_at <= now {
        return Some("expired".into());
    }
    let days = (expires_at.date_naive() - now.date_naive()).num_days();
    Some(match days {
        0 => "expires today".into(),
        1 => "expires tomorrow".into(),
        n => format!("{n} days remaining"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn expiry_labels_count_calendar_days() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 22, 0, 0).unwrap();
        let at = |d, h| Some(Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap());
        assert_eq!(expiry_label(None, now), None);
        assert_eq!(expiry_label(at(23, 21), now).as_deref(), Some("expired"));
        assert_eq!(
            expiry_label(at(23, 23), now).as_deref(),
            Some("expires today")
        );
        assert_eq!(
            expiry_label(at(24, 1), now).as_deref(),
            Some("expires tomorrow")
        );
        assert_eq!(
            expiry_label(at(30, 1), now).as_deref(),
            Some("7 days remaining")
        );
    }
}
