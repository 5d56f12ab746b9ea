//! API tokens: create, list, revoke (admin).

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use crate::domain::TokenRecord;
use crate::service::{Actor, NewToken};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

/// A new token: its id and its secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token's id, for listing and revoking.
    id: String,
    /// The secret, for `Authorization: Bearer`; only its hash is stored.
    token: String,
}

/// Create a token (admin). A `subject` must be a user in the directory.
#[utoipa::path(post, path = "/v1/tokens", request_body = NewToken, tag = "tokens",
    responses((status = 201, body = CreatedToken),
        (status = 404, description = "`not_found`: the subject is not a known user", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let created = app.run(move |s| s.create_token(&actor, body)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: created.id,
            token: created.secret,
        }),
    ))
}

/// Every token, oldest first: id, role, subject, creation, expiry and last use; never a
/// secret (admin).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenRecord>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(app.run(move |s| s.tokens(&actor)).await?))
}

/// Revoke a token at once: the next call with it is 401 (admin).
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = crate::domain::formats::TokenIdText, Path, description = "Token id")),
    responses((status = 200, description = "The revoked token", body = TokenRecord)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<TokenRecord>, ApiError> {
    Ok(Json(app.run(move |s| s.revoke_token(&actor, &id)).await?))
}
