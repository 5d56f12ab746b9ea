//! Sweeps on demand, escalations and insights.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::page::{PageParams, page_response};
use crate::domain::Escalation;
use crate::service::{Actor, Insights, SweepReport};
use axum::Json;
use axum::extract::State;

/// Run the lifecycle sweeps once now (admin; the server also runs them on a schedule).
#[utoipa::path(post, path = "/v1/sweeps/run", tag = "lifecycle",
    responses((status = 200, body = SweepReport), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn run_sweeps(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<SweepReport>, ApiError> {
    Ok(Json(app.service().sweep_now(&actor).await?))
}

/// Escalations of requests still pending; a page at a time (see the `Link` header).
#[utoipa::path(get, path = "/v1/escalations", tag = "lifecycle", params(PageParams),
    responses((status = 200, body = Vec<Escalation>, headers(
        ("Link" = String, description = "`<…&after=…>; rel=\"next\"` when there may be more")))),
    security(("bearer" = [])))]
pub async fn escalations(
    State(app): State<AppState>,
    actor: Actor,
    uri: axum::http::Uri,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<axum::response::Response, ApiError> {
    let page = params.parse()?;
    let page = app.run(move |s| s.open_escalations(&actor, page)).await?;
    Ok(page_response(&uri, page))
}

/// Requests by outcome and month, active grants by tool and risk, median time to decision,
/// open escalations, grants expiring in the next 30 days.
#[utoipa::path(get, path = "/v1/insights", tag = "lifecycle",
    responses((status = 200, body = Insights)),
    security(("bearer" = [])))]
pub async fn insights(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<Insights>, ApiError> {
    Ok(Json(app.run(move |s| s.insights(&actor)).await?))
}
