//! Users and groups.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use crate::domain::{Group, GroupUpsert, User, UserUpsert};
use crate::service::Actor;
use axum::Json;
use axum::extract::{Path, State};

/// Create or replace a user (admin).
#[utoipa::path(put, path = "/v1/users/{email}", request_body = UserUpsert, tag = "directory",
    params(("email" = crate::domain::formats::EmailText, Path, description = "The user's email")),
    responses((status = 200, body = User), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_user(
    State(app): State<AppState>,
    actor: Actor,
    Path(email): Path<String>,
    ApiJson(body): ApiJson<UserUpsert>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(
        app.run(move |s| s.put_user(&actor, &email, body)).await?,
    ))
}

/// One user.
#[utoipa::path(get, path = "/v1/users/{email}", tag = "directory",
    params(("email" = crate::domain::formats::EmailText, Path, description = "The user's email")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_user(
    State(app): State<AppState>,
    actor: Actor,
    Path(email): Path<String>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(app.run(move |s| s.user(&actor, &email)).await?))
}

/// Create or replace a group; `parents` nest it (admin).
#[utoipa::path(put, path = "/v1/groups/{id}", request_body = GroupUpsert, tag = "directory",
    params(("id" = crate::domain::formats::GroupText, Path, description = "Group name")),
    responses((status = 200, body = Group), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_group(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GroupUpsert>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(
        app.run(move |s| s.put_group(&actor, &id, body)).await?,
    ))
}
