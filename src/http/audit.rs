//! The audit log for auditors: pages of entries, verification, checkpoints, the public key
//! and streamed exports.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::exports::{ExportParams, stream};
use super::extract::ApiQuery;
use super::page::paged;
use crate::evidence::{Checkpoint, PublishedKey, VerifyReport};
use crate::service::{Actor, AuditPage};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

/// Query of `GET /v1/audit/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Entries after this `seq` (default 0: from the start).
    #[param(minimum = 0)]
    after_seq: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Only entries of this type, such as `grant.expired`.
    #[serde(rename = "type")]
    #[param(value_type = Option<crate::domain::formats::AuditTypeText>)]
    kind: Option<String>,
}

/// Entries of the chained audit log, oldest first, with their hashes and MACs.
#[utoipa::path(get, path = "/v1/audit/events", tag = "audit", params(EventParams),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn events(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Response, ApiError> {
    let (after, limit) = (after_seq(params.after_seq)?, params.limit);
    let page = app
        .run(move |s| s.audit_events(&actor, after, params.kind, limit))
        .await?;
    // A page that moved on may be followed by more; an empty one is the end for now.
    let next = (page.next_after_seq > after).then(|| page.next_after_seq.to_string());
    Ok(paged(&uri, page, "after_seq", next.as_deref()))
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

/// The key that verifies checkpoints; public, so that anyone can pin it.
#[utoipa::path(get, path = "/v1/audit/public-key", tag = "audit",
    responses((status = 200, body = PublishedKey)))]
pub async fn public_key(State(app): State<AppState>) -> Json<PublishedKey> {
    Json(app.service.audit_public_key())
}

/// Query of `GET /v1/audit/checkpoints`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointParams {
    /// Checkpoints after this `seq` (default 0).
    #[param(minimum = 0)]
    after_seq: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// Signed checkpoints over the log, oldest first.
#[utoipa::path(get, path = "/v1/audit/checkpoints", tag = "audit", params(CheckpointParams),
    responses((status = 200, body = Vec<Checkpoint>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn checkpoints(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<CheckpointParams>,
) -> Result<Response, ApiError> {
    let after = after_seq(params.after_seq)?;
    let limit = params.limit.unwrap_or(100);
    let checkpoints = app
        .run(move |s| s.audit_checkpoints(&actor, after, params.limit))
        .await?;
    let next = checkpoints
        .last()
        .filter(|_| checkpoints.len() >= limit)
        .map(|c| c.seq.to_string());
    Ok(paged(&uri, checkpoints, "after_seq", next.as_deref()))
}

/// Streams the log over a window, in whole checkpoint intervals, signing a checkpoint over
/// the head first.
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", params(ExportParams),
    responses((status = 200, description = "JSON lines (what `clearance audit verify` reads) or CSV, streamed",
        content((String = "application/jsonl"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(
    State(app): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = params.format.unwrap_or_default();
    let (from, to) = (params.from, params.to);
    let plan = app
        .run(move |s| s.audit_export_plan(&actor, from, to))
        .await?;
    Ok(stream(&app, format, move |service, sink| {
        service.write_export(&plan, format, sink)
    }))
}

/// The `after_seq` asked for: 0 when absent; a negative one is refused.
fn after_seq(raw: Option<i64>) -> Result<u64, ApiError> {
    u64::try_from(raw.unwrap_or(0)).map_err(|_| {
        crate::service::ServiceError::from(crate::domain::DomainError::new(
            "after_seq",
            "must be 0 or more",
        ))
        .into()
    })
}
