//! The audit log for auditors: pages of entries and verification.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use crate::evidence::VerifyReport;
use crate::service::{Actor, AuditPage};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

/// Query of `GET /v1/audit/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Entries after this `seq` (default 0: from the start).
    after_seq: Option<u64>,
    /// At most this many (default 100, at most 1,000).
    limit: Option<usize>,
    /// Only entries of this type, such as `grant.expired`.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Entries of the chained audit log, oldest first, with their hashes and MACs.
#[utoipa::path(get, path = "/v1/audit/events", tag = "audit", params(EventParams),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn events(
    State(app): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let (after, limit) = (params.after_seq.unwrap_or(0), params.limit.unwrap_or(100));
    Ok(Json(
        app.run(move |s| s.audit_events(&actor, after, params.kind, limit))
            .await?,
    ))
}

/// Verifies the whole log in the server: every hash, MAC, `seq` and link.
#[utoipa::path(get, path = "/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyReport), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<VerifyReport>, ApiError> {
    Ok(Json(app.run(move |s| s.verify_audit(&actor)).await?))
}
