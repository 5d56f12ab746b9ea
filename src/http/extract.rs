//! Extractors whose rejections use the API's error shape.

use super::AppState;
use super::error::ApiError;
use crate::service::Actor;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

/// The most bytes a request body may have.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The most bytes a body carrying a whole policy bundle may have.
pub const BUNDLE_BODY_LIMIT: usize = 1024 * 1024;

/// A JSON body; malformed JSON is `invalid_json`, the wrong shape `validation_failed`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !declares_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidJson(rejection.body_text())
            }
        })?;
        // Syntax first, then shape: `[1,2` is invalid JSON even though its first element
        // would already fail to fit the expected type.
        let value = super::strict_json::parse(&bytes).map_err(ApiError::InvalidJson)?;
        // Every body is an object (see `domain::shape`); `null` stands for no body where one
        // may be left out.
        if !value.is_object() && !value.is_null() {
            return Err(ApiError::ValidationFailed(
                "the body must be a JSON object".to_owned(),
            ));
        }
        T::deserialize(value)
            .map(ApiJson)
            .map_err(|e| ApiError::ValidationFailed(e.to_string()))
    }
}

/// True when `Content-Type` is `application/json` or a `+json` type, with any parameters.
fn declares_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"))
}

/// A JSON body that may be left out: an empty body, or `null`, reads as `T::default()`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|n| n.as_bytes() == b"0")
            || (req.headers().get(header::CONTENT_LENGTH).is_none()
                && req.headers().get(header::TRANSFER_ENCODING).is_none());
        if empty {
            return Ok(Self(T::default()));
        }
        let ApiJson(value) = ApiJson::<Option<T>>::from_request(req, state).await?;
        Ok(Self(value.unwrap_or_default()))
    }
}

/// Query parameters; the wrong shape is `validation_failed`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::ValidationFailed(e.body_text()))
    }
}

/// The caller, from `Authorization: Bearer <token>`.
impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(crate::service::ServiceError::Unauthenticated)?;
        // A hash and at most one point read: cheap enough for the async worker, and a
        // thread hand-off less per request.
        Ok(app.service.authenticate(secret)?)
    }
}
