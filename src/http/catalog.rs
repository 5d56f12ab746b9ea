//! The tool catalog endpoints.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use crate::domain::{Tool, ToolUpsert};
use crate::service::Actor;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

/// Create or replace a catalog entry (admin).
#[utoipa::path(put, path = "/v1/tools/{id}", request_body = ToolUpsert, tag = "catalog",
    params(("id" = crate::domain::formats::SlugText, Path, description = "Catalog slug")),
    responses((status = 200, body = Tool), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ToolUpsert>,
) -> Result<Json<Tool>, ApiError> {
    Ok(Json(app.run(move |s| s.put_tool(&actor, &id, body)).await?))
}

/// One catalog entry.
#[utoipa::path(get, path = "/v1/tools/{id}", tag = "catalog",
    params(("id" = crate::domain::formats::SlugText, Path, description = "Catalog slug")),
    responses((status = 200, body = Tool), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Tool>, ApiError> {
    Ok(Json(app.run(move |s| s.tool(&actor, &id)).await?))
}

/// Filters of `GET /v1/tools`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ToolsParams {
    /// Only tools that can be requested (`approved`).
    #[serde(default)]
    requestable: bool,
}

/// The catalog.
#[utoipa::path(get, path = "/v1/tools", tag = "catalog", params(ToolsParams),
    responses((status = 200, body = Vec<Tool>)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<ToolsParams>,
) -> Result<Json<Vec<Tool>>, ApiError> {
    Ok(Json(
        app.run(move |s| s.tools(&actor, params.requestable))
            .await?,
    ))
}

/// The answer to seeding.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Seeded {
    /// Ids added; existing entries are left as they are.
    added: Vec<String>,
}

/// Add the built-in catalog of common AI tools (admin).
#[utoipa::path(post, path = "/v1/tools/seed", tag = "catalog",
    responses((status = 200, body = Seeded), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn seed(State(app): State<AppState>, actor: Actor) -> Result<Json<Seeded>, ApiError> {
    let added = app.run(move |s| s.seed_tools(&actor)).await?;
    Ok(Json(Seeded {
        added: added.iter().map(ToString::to_string).collect(),
    }))
}
