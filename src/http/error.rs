//! The one error type of the HTTP layer and its mapping to status and `{"error": {...}}`.

use crate::domain::Reason;
use crate::policy::PolicyDiagnostic;
use crate::service::ServiceError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Everything a handler can answer with instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// From the use case.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body or query is JSON of the wrong shape (unknown, missing or mistyped fields).
    #[error("{0}")]
    ValidationFailed(String),
    /// The body is not declared `application/json`.
    #[error("the body must be sent as application/json")]
    UnsupportedMediaType,
    /// The body is larger than the route's limit.
    #[error("the body is too large: at most 64 KiB, or 1 MiB for a policy bundle")]
    PayloadTooLarge,
    /// The request took longer than the server allows.
    #[error(
        "the request took too long; retry (a submission with the same issue key is answered from what was stored)"
    )]
    Timeout,
    /// No such route.
    #[error("no such endpoint")]
    NoRoute,
    /// The route exists but not for this method.
    #[error("method not allowed for this endpoint")]
    MethodNotAllowed,
    /// The blocking task failed.
    #[error("worker task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code, message and optional details of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code.
    pub code: &'static str,
    /// For humans.
    pub message: String,
    /// The offending input field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Policy problems, for `invalid_policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<PolicyDiagnostic>>,
    /// Why the policies refused, for `approval_not_permitted` and `extension_not_permitted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<Reason>>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ServiceError as S;
        let status = match self {
            Self::Service(e) => match e {
                S::Invalid(_) | S::BulkLimitExceeded(_) | S::WindowTooLarge(_) => {
                    StatusCode::BAD_REQUEST
                }
                S::Unauthenticated => StatusCode::UNAUTHORIZED,
                S::Forbidden(_) | S::NotPermitted { .. } => StatusCode::FORBIDDEN,
                S::NotFound(_) | S::UnknownUser(_) => StatusCode::NOT_FOUND,
                S::IssueKeyConflict(_)
                | S::RequestNotPending(_)
                | S::DuplicateGrant { .. }
                | S::InvalidTransition(_) => StatusCode::CONFLICT,
                S::InvalidPolicy(_) => StatusCode::UNPROCESSABLE_ENTITY,
                S::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                S::Unavailable | S::Busy | S::IdpUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                S::Store(_) | S::Policy(_) | S::CommitFailed | S::BackupFailed | S::Secrets(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            },
            Self::ValidationFailed(_) => StatusCode::BAD_REQUEST,
            Self::InvalidJson(_) => StatusCode::BAD_REQUEST,
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::Join(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let code = match self {
            Self::Service(e) => e.code(),
            Self::ValidationFailed(_) => "validation_failed",
            Self::InvalidJson(_) => "invalid_json",
            Self::NoRoute => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Timeout => "unavailable",
            Self::Join(_) => "internal",
        };
        (status, code)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            // The cause is logged here, once; the body reveals nothing.
            tracing::error!(error = %self, "internal error");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let retry_after = match &self {
            Self::Service(ServiceError::RateLimited(secs)) => Some(*secs),
            Self::Service(
                ServiceError::Unavailable | ServiceError::Busy | ServiceError::IdpUnavailable(_),
            )
            | Self::Timeout => Some(1),
            _ => None,
        };
        let (field, details, reasons) = match self {
            Self::Service(ServiceError::Invalid(e)) => (Some(e.field), None, None),
            Self::Service(ServiceError::UnknownUser(field)) => (Some(field), None, None),
            Self::Service(ServiceError::InvalidPolicy(d)) => (None, Some(d), None),
            Self::Service(ServiceError::NotPermitted { reasons, .. }) => {
                (None, None, Some(reasons))
            }
            _ => (None, None, None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field,
                details,
                reasons,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
