//! Jira: the site's configuration and the outbox of write-backs.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::page::PageParams;
use crate::domain::{Delivery, DeliveryState, JiraUpsert, JiraView};
use crate::service::{Actor, DeliveriesRun, Intake, JiraTest};
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

/// Configure the Jira site (admin). Credentials and the webhook secret are write-only.
#[utoipa::path(put, path = "/v1/integrations/jira", request_body = JiraUpsert, tag = "jira",
    responses((status = 200, body = JiraView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put(
    State(app): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<JiraUpsert>,
) -> Result<Json<JiraView>, ApiError> {
    Ok(Json(app.run(move |s| s.put_jira(&actor, body)).await?))
}

/// The Jira site; secrets shown only as `"set"`.
#[utoipa::path(get, path = "/v1/integrations/jira", tag = "jira",
    responses((status = 200, body = JiraView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(app): State<AppState>, actor: Actor) -> Result<Json<JiraView>, ApiError> {
    Ok(Json(app.run(move |s| s.jira(&actor)).await?))
}

/// Check the Jira credentials (admin). Changes nothing.
#[utoipa::path(post, path = "/v1/integrations/jira/test", tag = "jira",
    responses((status = 200, body = JiraTest), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn test(State(app): State<AppState>, actor: Actor) -> Result<Json<JiraTest>, ApiError> {
    Ok(Json(app.service().test_jira(&actor).await?))
}

/// Filters of `GET /v1/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// `pending` (default), `retrying`, `done` or `failed`.
    state: Option<DeliveryState>,
    /// At most this many (default and most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// The id of the last delivery of the previous page.
    #[param(value_type = Option<crate::domain::formats::CursorText>)]
    after: Option<String>,
}

/// Jira write-backs by state, oldest first.
#[utoipa::path(get, path = "/v1/deliveries", tag = "jira", params(DeliveryParams),
    responses((status = 200, body = Vec<Delivery>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(app): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let state = params.state.unwrap_or(DeliveryState::Pending);
    let page = PageParams {
        limit: params.limit,
        after: params.after,
    }
    .parse()?;
    Ok(Json(
        app.run(move |s| s.deliveries(&actor, state, page)).await?,
    ))
}

/// Put a failed delivery back in the queue (admin).
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "jira",
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 200, body = Delivery), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retry(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Delivery>, ApiError> {
    Ok(Json(app.run(move |s| s.retry_delivery(&actor, &id)).await?))
}

/// Deliver the due write-backs now (admin; the worker delivers them by itself).
#[utoipa::path(post, path = "/v1/deliveries/run", tag = "jira",
    responses((status = 200, body = DeliveriesRun), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn run(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<DeliveriesRun>, ApiError> {
    Ok(Json(app.service().run_deliveries_now(&actor).await?))
}

/// A webhook not taken in: nothing was stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotIngested {
    /// Always false.
    ingested: bool,
    /// Why: another event, project or request type.
    reason: String,
}

/// Jira's signed webhook (`jira:issue_created`): decided as `POST /v1/requests` decides.
/// Authenticated by `X-Hub-Signature: sha256=<hex HMAC-SHA-256 of the raw body>` with the
/// intake secret, not by a bearer token.
#[utoipa::path(post, path = "/v1/intake/jira", tag = "jira",
    request_body(content = Object, content_type = "application/json",
        description = "A Jira webhook's payload"),
    params(("X-Hub-Signature" = String, Header, description = "sha256=<hex HMAC-SHA-256 of the body>")),
    responses((status = 201, body = super::requests::SubmitResponse, description = "Decided"),
        (status = 200, body = super::requests::SubmitResponse, description = "Redelivered: the stored answer"),
        (status = 202, body = NotIngested), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn intake(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    match app.service().intake_jira(signature, &body).await? {
        Intake::Decided(submitted) => {
            let status = if submitted.created {
                axum::http::StatusCode::CREATED
            } else {
                axum::http::StatusCode::OK
            };
            let answer = super::requests::SubmitResponse::from(&submitted.request);
            Ok((status, Json(answer)).into_response())
        }
        Intake::Skipped(reason) => Ok((
            axum::http::StatusCode::ACCEPTED,
            Json(NotIngested {
                ingested: false,
                reason,
            }),
        )
            .into_response()),
    }
}
