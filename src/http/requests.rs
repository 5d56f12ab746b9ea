//! `POST /v1/requests` and reading requests and grants back.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::page::MAX_PAGE;
use crate::domain::page::PageRequest;
use crate::domain::{
    Approval, Closure, DomainError, Email, Outcome, Reason, RequestRecord, RequestStatus,
    SubmitBody, ToolId,
};
use crate::service::Actor;
use crate::store::RequestFilter;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The decision part of a request's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    outcome: Outcome,
    policy_version: String,
    policy_seq: u64,
    determining_policies: Vec<String>,
    reasons: Vec<Reason>,
    required_reviews: Vec<String>,
    decided_at: DateTime<Utc>,
}

/// The grant created by an auto-approval, as it was created.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    grant_id: String,
    state: String,
    expires_at: Option<DateTime<Utc>>,
}

/// The answer to `POST /v1/requests`; a retry gets the same answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitResponse {
    request_id: String,
    issue_key: String,
    /// `approved`, `pending` or `denied`, as decided on submission.
    status: RequestStatus,
    decision: DecisionView,
    grant: Option<GrantView>,
}

/// A request with its current status.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    request_id: String,
    issue_key: String,
    requester: String,
    tool: String,
    purpose: String,
    duration_days: u32,
    project: String,
    request_type: String,
    status: RequestStatus,
    submitted_at: DateTime<Utc>,
    decision: DecisionView,
    grant_id: Option<String>,
    /// Stages signed off so far, with approver and policy version.
    approvals: Vec<Approval>,
    /// Stages still waiting.
    remaining_reviews: Vec<String>,
    /// How it was denied or expired.
    closed: Option<Closure>,
}

pub(super) fn decision_view(record: &RequestRecord) -> DecisionView {
    let d = &record.decision;
    DecisionView {
        outcome: d.decision.outcome,
        policy_version: d.policy_version.to_string(),
        policy_seq: d.policy_seq,
        determining_policies: d.decision.determining_policies.clone(),
        reasons: d.decision.reasons.clone(),
        required_reviews: d.decision.required_reviews.clone(),
        decided_at: d.decided_at,
    }
}

impl From<&RequestRecord> for SubmitResponse {
    fn from(record: &RequestRecord) -> Self {
        Self {
            request_id: record.id.to_string(),
            issue_key: record.issue_key.to_string(),
            status: RequestStatus::after(record.decision.decision.outcome),
            decision: decision_view(record),
            // A grant is created pending provision; fulfilment sets its expiry later.
            grant: record.grant_id.as_ref().map(|id| GrantView {
                grant_id: id.to_string(),
                state: "pending_provision".into(),
                expires_at: None,
            }),
        }
    }
}

impl From<&RequestRecord> for RequestView {
    fn from(record: &RequestRecord) -> Self {
        Self {
            request_id: record.id.to_string(),
            issue_key: record.issue_key.to_string(),
            requester: record.requester.to_string(),
            tool: record.tool.to_string(),
            purpose: record.purpose.clone(),
            duration_days: record.duration_days,
            project: record.project.clone(),
            request_type: record.request_type.clone(),
            status: record.status,
            submitted_at: record.submitted_at,
            decision: decision_view(record),
            grant_id: record.grant_id.as_ref().map(ToString::to_string),
            approvals: record.approvals.clone(),
            remaining_reviews: record.remaining_stages(),
            closed: record.closed.clone(),
        }
    }
}

/// Decide an access request (JSM automation).
#[utoipa::path(post, path = "/v1/requests", request_body = SubmitBody, tag = "requests",
    responses(
        (status = 201, description = "Decided and recorded", body = SubmitResponse),
        (status = 200, description = "A retry of the same request: the stored answer", body = SubmitResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody,
            description = "The automation template's reporter is not in the directory"),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit(
    State(app): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<SubmitBody>,
) -> Result<(StatusCode, Json<SubmitResponse>), ApiError> {
    // Not on the blocking pool: the decision is short, and the wait for the writer is async.
    let submitted = app.service.submit_body(&actor, body).await?;
    let status = if submitted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(SubmitResponse::from(&submitted.request))))
}

/// One request, by request id or issue key.
#[utoipa::path(get, path = "/v1/requests/{id}", tag = "requests",
    params(("id" = crate::domain::formats::RequestRefText, Path, description = "Request id or Jira issue key")),
    responses((status = 200, body = RequestView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let record = app.run(move |s| s.request(&actor, &id)).await?;
    Ok(Json(RequestView::from(&record)))
}

/// Filters of `GET /v1/requests`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `pending`, `approved`, `denied` or `expired`.
    status: Option<RequestStatus>,
    /// Requester email.
    #[param(value_type = Option<crate::domain::formats::EmailText>)]
    requester: Option<String>,
    /// Tool id.
    #[param(value_type = Option<crate::domain::formats::ToolRefText>)]
    tool: Option<String>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// Where the page starts: the `after` of the previous page's `next` link.
    #[param(value_type = Option<crate::domain::formats::CursorText>)]
    after: Option<String>,
}

impl ListParams {
    fn into_filter(self) -> Result<RequestFilter, DomainError> {
        let page = PageRequest::parse(self.limit, self.after.as_deref(), 100, MAX_PAGE)?;
        Ok(RequestFilter {
            status: self.status,
            requester: self
                .requester
                .map(|r| Email::parse("requester", &r))
                .transpose()?,
            tool: self
                .tool
                .map(|t| ToolId::parse_any("tool", &t))
                .transpose()?,
            limit: page.limit,
            after: page.after,
        })
    }
}

/// Requests, filtered; a page at a time (see the `Link` header).
#[utoipa::path(get, path = "/v1/requests", tag = "requests", params(ListParams),
    responses((status = 200, body = Vec<RequestView>, headers(
        ("Link" = String, description = "`<…&after=…>; rel=\"next\"` when there may be more"))),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<axum::response::Response, ApiError> {
    let filter = params
        .into_filter()
        .map_err(crate::service::ServiceError::from)?;
    let page = app.run(move |s| s.requests(&actor, filter)).await?;
    let page = page.map(|record| RequestView::from(&record));
    Ok(super::page::page_response(&uri, page))
}
