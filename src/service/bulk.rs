//! Bulk review: many requests approved or denied in one call, each on its own.

use super::approvals::{ApproveBody, DenyBody, REVIEWERS};
use super::{Actor, Service, ServiceError};
use crate::domain::{DomainError, RequestStatus};
use serde::{Deserialize, Serialize};

/// The most ids one bulk call takes.
pub const MAX_BULK_IDS: usize = 50;

/// What a bulk call does to each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Approve each.
    Approve,
    /// Deny each.
    Deny,
}

/// The body of `POST /v1/requests/bulk`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    /// Approve or deny.
    pub action: BulkAction,
    /// Request ids, at most 50.
    #[schema(value_type = Vec<crate::domain::formats::RequestRefText>, min_items = 1, max_items = 50)]
    pub ids: Vec<String>,
    /// Who acts; required unless the token is bound to a person.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub approver: Option<String>,
    /// Comment (approve) or reason (deny).
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::NoteText>)]
    pub comment: Option<String>,
}

/// The error of one id in a bulk call.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkError {
    /// The error code, as the single-request endpoint would answer.
    pub code: &'static str,
    /// For humans.
    pub message: String,
}

/// The result for one id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    /// The request id as given.
    pub id: String,
    /// Whether the action was recorded.
    pub ok: bool,
    /// The request's status afterwards, when it was recorded.
    pub status: Option<RequestStatus>,
    /// Why not, when it was not.
    pub error: Option<BulkError>,
}

impl Service {
    /// Approves or denies each id on its own; one failure does not stop the others.
    pub fn bulk(&self, actor: &Actor, body: BulkBody) -> Result<Vec<BulkResult>, ServiceError> {
        actor.require(REVIEWERS, "review requests")?;
        if body.ids.len() > MAX_BULK_IDS {
            return Err(ServiceError::BulkLimitExceeded(MAX_BULK_IDS));
        }
        if body.ids.is_empty() {
            return Err(DomainError::new("ids", "must name at least one request").into());
        }
        // Malformed input refuses the whole call; an unknown or settled id is its own result.
        for (i, id) in body.ids.iter().enumerate() {
            crate::domain::RequestRef::parse(&format!("ids[{i}]"), id)?;
        }
        let note = crate::domain::formats::optional_text(
            &crate::domain::formats::NOTE,
            "comment",
            body.comment.clone(),
        )?;
        let approver = Some(
            self.acting_person(actor, "approver", body.approver.as_deref())?
                .to_string(),
        );
        self.bulk_limit
            .check(&actor.token_id, self.clock.now())
            .map_err(ServiceError::RateLimited)?;
        let results = body
            .ids
            .iter()
            .map(|id| {
                let done = match body.action {
                    BulkAction::Approve => self.approve(
                        actor,
                        id,
                        ApproveBody {
                            approver: approver.clone(),
                            comment: note.clone(),
                        },
                    ),
                    BulkAction::Deny => self.deny(
                        actor,
                        id,
                        DenyBody {
                            approver: approver.clone(),
                            reason: note.clone(),
                        },
                    ),
                };
                result(id, done.map(|r| r.request.status))
            })
            .collect();
        Ok(results)
    }
}

fn result(id: &str, done: Result<RequestStatus, ServiceError>) -> BulkResult {
    match done {
        Ok(status) => BulkResult {
            id: id.to_owned(),
            ok: true,
            status: Some(status),
            error: None,
        },
        Err(e) => {
            let message = match &e {
                ServiceError::Store(_) | ServiceError::Policy(_) => {
                    tracing::error!(request = id, error = %e, "bulk item failed");
                    "internal error".to_owned()
                }
                other => other.to_string(),
            };
            BulkResult {
                id: id.to_owned(),
                ok: false,
                status: None,
                error: Some(BulkError {
                    code: e.code(),
                    message,
                }),
            }
        }
    }
}
