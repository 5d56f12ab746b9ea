//! The one error type of the HTTP layer and its mapping to status and `{"error": {...}}`.

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
    /// The body is larger than the limit.
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
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
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ServiceError as S;
        match self {
            Self::Service(S::Invalid(_)) | Self::ValidationFailed(_) => {
                (StatusCode::BAD_REQUEST, "validation_failed")
            }
            Self::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            Self::Service(S::Unauthenticated) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Service(S::Forbidden(_)) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Service(S::NotFound(_)) | Self::NoRoute => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Service(S::IssueKeyConflict(_)) => (StatusCode::CONFLICT, "issue_key_conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Service(S::InvalidPolicy(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy")
            }
            Self::Service(S::Unavailable) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Service(S::Store(_) | S::Policy(_)) | Self::Join(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
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
        let (field, details) = match self {
            Self::Service(ServiceError::Invalid(e)) => (Some(e.field), None),
            Self::Service(ServiceError::InvalidPolicy(d)) => (None, Some(d)),
            _ => (None, None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field,
                details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
