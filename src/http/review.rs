//! Review: approve, deny, bulk, and the approver's queue.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, OptionalJson};
use super::requests::RequestView;
use crate::domain::{Grant, RequestStatus};
use crate::service::{Actor, ApproveBody, BulkBody, BulkResult, DenyBody, QueuePage, Reviewed};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The answer to approve and deny.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewResponse {
    request_id: String,
    status: RequestStatus,
    /// Stages signed off so far, in order.
    approved_stages: Vec<String>,
    /// Stages still waiting.
    remaining_reviews: Vec<String>,
    /// The grant, when this approval signed off the last stage.
    grant: Option<Grant>,
}

impl From<Reviewed> for ReviewResponse {
    fn from(r: Reviewed) -> Self {
        Self {
            request_id: r.request.id.to_string(),
            status: r.request.status,
            approved_stages: r
                .request
                .approvals
                .iter()
                .map(|a| a.stage.clone())
                .collect(),
            remaining_reviews: r.request.remaining_stages(),
            grant: r.grant,
        }
    }
}

/// Sign off the first remaining review stage the policies permit this approver to approve.
#[utoipa::path(post, path = "/v1/requests/{id}/approve", request_body = Option<ApproveBody>, tag = "review",
    params(("id" = crate::domain::formats::RequestRefText, Path, description = "Request id or Jira issue key")),
    responses((status = 200, body = ReviewResponse),
        (status = 400, body = ErrorBody), (status = 403, description = "`forbidden`, or `approval_not_permitted` with reasons", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "`request_not_pending` or `duplicate_grant`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ApproveBody>,
) -> Result<Json<ReviewResponse>, ApiError> {
    let reviewed = app.run(move |s| s.approve(&actor, &id, body)).await?;
    Ok(Json(reviewed.into()))
}

/// Deny a pending request (the denier must be permitted to approve one of its stages).
#[utoipa::path(post, path = "/v1/requests/{id}/deny", request_body = Option<DenyBody>, tag = "review",
    params(("id" = crate::domain::formats::RequestRefText, Path, description = "Request id or Jira issue key")),
    responses((status = 200, body = ReviewResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deny(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<DenyBody>,
) -> Result<Json<ReviewResponse>, ApiError> {
    let reviewed = app.run(move |s| s.deny(&actor, &id, body)).await?;
    Ok(Json(reviewed.into()))
}

/// The answer to a bulk call.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    results: Vec<BulkResult>,
}

/// Approve or deny up to 50 requests, each on its own.
#[utoipa::path(post, path = "/v1/requests/bulk", request_body = BulkBody, tag = "review",
    responses((status = 200, body = BulkResponse),
        (status = 400, description = "`bulk_limit_exceeded` over 50 ids", body = ErrorBody),
        (status = 429, description = "More than 5 bulk calls a minute; see `Retry-After`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn bulk(
    State(app): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<BulkBody>,
) -> Result<Json<BulkResponse>, ApiError> {
    let results = app.run(move |s| s.bulk(&actor, body)).await?;
    Ok(Json(BulkResponse { results }))
}

/// Filters of `GET /v1/approvals`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    /// The approver; defaults to the token's person.
    #[param(value_type = Option<crate::domain::formats::EmailText>)]
    approver: Option<String>,
    /// Where the page starts: the request id the previous page's `Link` gave.
    #[param(value_type = Option<crate::domain::formats::RequestIdText>)]
    after: Option<String>,
    /// At most this many (default and most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

/// A queued request.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueEntry {
    /// The stage this approver would sign off.
    stage: String,
    #[serde(flatten)]
    request: RequestView,
}

/// Pending requests the approver may sign off now, oldest first. A page holds up to 500; when
/// the queue may go on, a `Link` header (`rel="next"`) gives the next page's address.
#[utoipa::path(get, path = "/v1/approvals", tag = "review", params(QueueParams),
    responses((status = 200, body = Vec<QueueEntry>, headers(
        ("Link" = String, description = "`</v1/approvals?…&after=…>; rel=\"next\"` when the queue may go on"))),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn queue(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> Result<Response, ApiError> {
    let (approver, limit) = (params.approver.clone(), params.limit);
    let page: QueuePage = app
        .run(move |s| s.approval_queue(&actor, approver.as_deref(), params.after.as_deref(), limit))
        .await?;
    let entries: Vec<QueueEntry> = page
        .items
        .into_iter()
        .map(|item| QueueEntry {
            stage: item.stage,
            request: RequestView::from(&item.request),
        })
        .collect();
    Ok(super::page::paged(
        &uri,
        entries,
        "after",
        page.next.as_deref(),
    ))
}
