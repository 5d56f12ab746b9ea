//! What a refusal looks like on the wire: status, code, `Retry-After`, and a 5xx body that
//! reveals nothing.
#![allow(clippy::unwrap_used)]

use super::ApiError;
use crate::service::ServiceError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

/// Status, `Retry-After` and body of `error` as answered.
fn answer(error: ApiError) -> (StatusCode, Option<String>, Value) {
    let response = error.into_response();
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bytes = runtime
        .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
        .unwrap();
    (status, retry, serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn a_full_writer_queue_a_stopped_store_and_a_slow_request_are_503_with_retry_after() {
    for error in [
        ApiError::Service(ServiceError::Busy),
        ApiError::Service(ServiceError::Unavailable),
        ApiError::Timeout,
    ] {
        let what = format!("{error:?}");
        let (status, retry, body) = answer(error);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert_eq!(retry.as_deref(), Some("1"), "{what}");
        assert_eq!(body["error"]["code"], "unavailable", "{what}");
        assert_ne!(
            body["error"]["message"], "internal error",
            "{what}: says what to do"
        );
    }
}

#[test]
fn an_internal_failure_is_500_and_its_body_names_no_cause() {
    let cause = StoreError::Missing("the secret cause");
    let (status, retry, body) = answer(ApiError::Service(ServiceError::Store(cause)));
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(retry, None);
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["message"], "internal error");
    assert!(!body.to_string().contains("secret"));
}
