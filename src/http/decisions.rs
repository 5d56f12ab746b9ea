//! Auditors' view of decisions and policy versions: decisions by version and window, the
//! history of versions, diffs, replay and what-if.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::requests::{DecisionView, decision_view};
use crate::domain::RequestRecord;
use crate::service::{
    Actor, DecisionFilter, PolicyDiff, PolicyPeriod, Replayed, WhatIf, WhatIfBody,
};
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Query of `GET /v1/decisions`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DecisionParams {
    /// Only decisions by this version: 64 hex digits or its sequence number.
    #[param(value_type = Option<crate::domain::formats::PolicyRefText>)]
    policy_version: Option<String>,
    /// Made at or after (default: the beginning).
    from: Option<DateTime<Utc>>,
    /// Made at or before (default: now).
    to: Option<DateTime<Utc>>,
    /// The `next` of the previous page.
    #[param(value_type = Option<crate::domain::formats::RequestIdText>)]
    after: Option<String>,
    /// At most this many (default 100, at most 1,000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// One recorded decision and the request it decided.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionItem {
    request_id: String,
    issue_key: String,
    requester: String,
    tool: String,
    duration_days: u32,
    decision: DecisionView,
}

/// A page of decisions, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionList {
    decisions: Vec<DecisionItem>,
    /// Pass as `after` for the next page; `null` on the last.
    next: Option<String>,
}

fn item(record: &RequestRecord) -> DecisionItem {
    DecisionItem {
        request_id: record.id.to_string(),
        issue_key: record.issue_key.to_string(),
        requester: record.requester.to_string(),
        tool: record.tool.to_string(),
        duration_days: record.duration_days,
        decision: decision_view(record),
    }
}

/// Recorded decisions and the version that made each, oldest first.
#[utoipa::path(get, path = "/v1/decisions", tag = "policies", params(DecisionParams),
    responses((status = 200, body = DecisionList, headers(
        ("Link" = String, description = "`<…&after=…>; rel=\"next\"` when there may be more"))),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(p): ApiQuery<DecisionParams>,
) -> Result<axum::response::Response, ApiError> {
    let filter = DecisionFilter {
        policy_version: p.policy_version,
        from: p.from,
        to: p.to,
        after: p.after,
        limit: p.limit,
    };
    let page = app.run(move |s| s.decisions(&actor, filter)).await?;
    let next = page.next.map(|id| id.to_string());
    let list = DecisionList {
        decisions: page.decisions.iter().map(item).collect(),
        next: next.clone(),
    };
    Ok(super::page::paged(&uri, list, "after", next.as_deref()))
}

/// Every activation of a policy version, oldest first, with the period it was in force and
/// the number of requests it decided then.
#[utoipa::path(get, path = "/v1/policies/history", tag = "policies",
    responses((status = 200, body = Vec<PolicyPeriod>)), security(("bearer" = [])))]
pub async fn history(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<PolicyPeriod>>, ApiError> {
    Ok(Json(app.run(move |s| s.policy_history(&actor)).await?))
}

/// Query of `GET /v1/policies/diff`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// The older version: 64 hex digits or its sequence number.
    #[param(value_type = crate::domain::formats::PolicyRefText)]
    from: String,
    /// The newer version.
    #[param(value_type = crate::domain::formats::PolicyRefText)]
    to: String,
}

/// A unified diff, per file, between two stored versions.
#[utoipa::path(get, path = "/v1/policies/diff", tag = "policies", params(DiffParams),
    responses((status = 200, body = PolicyDiff), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn diff(
    State(app): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<DiffParams>,
) -> Result<Json<PolicyDiff>, ApiError> {
    Ok(Json(
        app.run(move |s| s.policy_diff(&actor, &p.from, &p.to))
            .await?,
    ))
}

/// Decides a recorded request again with the recorded version's text on the recorded facts.
#[utoipa::path(post, path = "/v1/requests/{id}/replay", tag = "policies",
    params(("id" = crate::domain::formats::RequestRefText, Path, description = "Request id or Jira issue key")),
    responses((status = 200, body = Replayed), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replay(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Replayed>, ApiError> {
    Ok(Json(app.run(move |s| s.replay(&actor, &id)).await?))
}

/// Decides every request recorded in the window again under a candidate bundle and lists
/// each that would change; nothing is activated or recorded.
#[utoipa::path(post, path = "/v1/policies/what-if", tag = "policies", request_body = WhatIfBody,
    responses((status = 200, body = WhatIf), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn what_if(
    State(app): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<WhatIfBody>,
) -> Result<Json<WhatIf>, ApiError> {
    Ok(Json(app.run(move |s| s.what_if(&actor, body)).await?))
}
