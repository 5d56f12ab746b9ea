//! Grants, the user's access, fulfilment jobs and recertifications.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, OptionalJson};
use super::page::MAX_PAGE;
use super::page::{PageParams, page_response};
use crate::domain::page::PageRequest;
use crate::domain::{DomainError, Email, Grant, GrantState, Job, JobKind, Recertification, ToolId};
use crate::service::{
    AccessEntry, Actor, CompleteJob, ExtendBody, KeepBody, RevokeBody, ServiceError,
};
use crate::store::GrantFilter;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

/// Filters of `GET /v1/grants`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GrantParams {
    /// Holder email.
    #[param(value_type = Option<crate::domain::formats::EmailText>)]
    user: Option<String>,
    /// Tool id.
    #[param(value_type = Option<crate::domain::formats::ToolRefText>)]
    tool: Option<String>,
    /// `pending_provision`, `active`, `expired` or `revoked`.
    state: Option<GrantState>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// Where the page starts: the `after` of the previous page's `next` link.
    #[param(value_type = Option<crate::domain::formats::CursorText>)]
    after: Option<String>,
}

impl GrantParams {
    fn into_filter(self) -> Result<GrantFilter, DomainError> {
        let page = PageRequest::parse(self.limit, self.after.as_deref(), 100, MAX_PAGE)?;
        Ok(GrantFilter {
            user: self.user.map(|u| Email::parse("user", &u)).transpose()?,
            tool: self
                .tool
                .map(|t| ToolId::parse_any("tool", &t))
                .transpose()?,
            state: self.state,
            limit: page.limit,
            after: page.after,
        })
    }
}

/// Grants, filtered; a page at a time (see the `Link` header).
#[utoipa::path(get, path = "/v1/grants", tag = "grants", params(GrantParams),
    responses((status = 200, body = Vec<Grant>, headers(
        ("Link" = String, description = "`<…&after=…>; rel=\"next\"` when there may be more"))),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<GrantParams>,
) -> Result<axum::response::Response, ApiError> {
    let filter = params.into_filter().map_err(ServiceError::from)?;
    let page = app.run(move |s| s.grants(&actor, filter)).await?;
    Ok(page_response(&uri, page))
}

/// One grant.
#[utoipa::path(get, path = "/v1/grants/{id}", tag = "grants",
    params(("id" = crate::domain::formats::GrantIdText, Path, description = "Grant id")),
    responses((status = 200, body = Grant), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Grant>, ApiError> {
    Ok(Json(app.run(move |s| s.grant(&actor, &id)).await?))
}

/// Manual fulfilment confirmed: the grant becomes active.
#[utoipa::path(post, path = "/v1/grants/{id}/fulfill", tag = "grants",
    params(("id" = crate::domain::formats::GrantIdText, Path, description = "Grant id")),
    responses((status = 200, body = Grant), (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_transition`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fulfill(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Grant>, ApiError> {
    Ok(Json(app.run(move |s| s.fulfill(&actor, &id)).await?))
}

/// Revoke a grant; opens a deprovision job.
#[utoipa::path(post, path = "/v1/grants/{id}/revoke", request_body = Option<RevokeBody>, tag = "grants",
    params(("id" = crate::domain::formats::GrantIdText, Path, description = "Grant id")),
    responses((status = 200, body = Grant), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RevokeBody>,
) -> Result<Json<Grant>, ApiError> {
    Ok(Json(app.run(move |s| s.revoke(&actor, &id, body)).await?))
}

/// Extend a grant, as the `extend` policies decide.
#[utoipa::path(post, path = "/v1/grants/{id}/extend", request_body = ExtendBody, tag = "grants",
    params(("id" = crate::domain::formats::GrantIdText, Path, description = "Grant id")),
    responses((status = 200, body = Grant), (status = 400, body = ErrorBody),
        (status = 403, description = "`extension_not_permitted` with reasons", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn extend(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ExtendBody>,
) -> Result<Json<Grant>, ApiError> {
    Ok(Json(app.run(move |s| s.extend(&actor, &id, body)).await?))
}

/// A user's grants pending provision or active, with expiry labels.
#[utoipa::path(get, path = "/v1/users/{email}/access", tag = "grants",
    params(("email" = crate::domain::formats::EmailText, Path, description = "User email")),
    responses((status = 200, body = Vec<AccessEntry>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn access(
    State(app): State<AppState>,
    actor: Actor,
    Path(email): Path<String>,
) -> Result<Json<Vec<AccessEntry>>, ApiError> {
    Ok(Json(app.run(move |s| s.access(&actor, &email)).await?))
}

/// Filters of `GET /v1/jobs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobParams {
    /// `fulfil` or `deprovision`.
    kind: Option<JobKind>,
    /// At most this many (default and most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// Where the page starts: the `after` of the previous page's `next` link.
    #[param(value_type = Option<crate::domain::formats::CursorText>)]
    after: Option<String>,
}

/// Open fulfilment and deprovision jobs; a page at a time (see the `Link` header).
#[utoipa::path(get, path = "/v1/jobs", tag = "grants", params(JobParams),
    responses((status = 200, body = Vec<Job>, headers(
        ("Link" = String, description = "`<…&after=…>; rel=\"next\"` when there may be more")))),
    security(("bearer" = [])))]
pub async fn jobs(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<JobParams>,
) -> Result<axum::response::Response, ApiError> {
    let page = PageParams {
        limit: params.limit,
        after: params.after,
    }
    .parse()?;
    let page = app
        .run(move |s| s.open_jobs(&actor, params.kind, page))
        .await?;
    Ok(page_response(&uri, page))
}

/// Mark a job done: `fulfilled`, `deprovisioned`, or `verified` for a completed one.
#[utoipa::path(post, path = "/v1/jobs/{id}/complete", request_body = CompleteJob, tag = "grants",
    params(("id" = crate::domain::formats::JobIdText, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn complete_job(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CompleteJob>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(
        app.run(move |s| s.complete_job(&actor, &id, body)).await?,
    ))
}

/// Open recertifications; a page at a time (see the `Link` header).
#[utoipa::path(get, path = "/v1/recertifications", tag = "grants", params(PageParams),
    responses((status = 200, body = Vec<Recertification>, headers(
        ("Link" = String, description = "`<…&after=…>; rel=\"next\"` when there may be more")))),
    security(("bearer" = [])))]
pub async fn recerts(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<axum::response::Response, ApiError> {
    let page = params.parse()?;
    let page = app.run(move |s| s.open_recerts(&actor, page)).await?;
    Ok(page_response(&uri, page))
}

/// Keep the grant: extend it through the `extend` policies.
#[utoipa::path(post, path = "/v1/recertifications/{id}/keep", request_body = Option<KeepBody>, tag = "grants",
    params(("id" = crate::domain::formats::RecertIdText, Path, description = "Recertification id")),
    responses((status = 200, body = Grant), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn keep(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<KeepBody>,
) -> Result<Json<Grant>, ApiError> {
    Ok(Json(app.run(move |s| s.keep(&actor, &id, body)).await?))
}

/// Revoke the grant under review.
#[utoipa::path(post, path = "/v1/recertifications/{id}/revoke", request_body = Option<RevokeBody>, tag = "grants",
    params(("id" = crate::domain::formats::RecertIdText, Path, description = "Recertification id")),
    responses((status = 200, body = Grant), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn recert_revoke(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RevokeBody>,
) -> Result<Json<Grant>, ApiError> {
    Ok(Json(
        app.run(move |s| s.recert_revoke(&actor, &id, body)).await?,
    ))
}
