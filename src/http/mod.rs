//! HTTP: thin handlers that extract, call one service function and map the result.

mod audit;
mod backup;
mod catalog;
mod connectors;
mod decisions;
mod directory;
mod drift;
mod error;
mod exports;
mod extract;
mod grants;
mod jira;
mod lifecycle;
mod openapi;
mod ops;
mod page;
mod policies;
mod requests;
mod review;
mod serve;
mod strict_json;
mod tokens;

pub use error::{ApiError, ErrorBody};
pub use openapi::{ApiDoc, document as openapi_document};
pub use serve::{Timeouts, serve};

use crate::service::{Service, ServiceError};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{delete, get, post, put};
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    service: Arc<Service>,
}

impl AppState {
    /// State over a started service.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }

    /// Runs a (blocking) use case on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Service) -> Result<T, ServiceError> + Send + 'static,
    {
        let service = self.service.clone();
        Ok(tokio::task::spawn_blocking(move || f(&service)).await??)
    }

    /// The service, for use cases that wait on other systems rather than block.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Answers 503 (Retry-After) when a request takes longer than `limit`. The work it started
/// may still finish; a retry with the same issue key gets the stored answer.
async fn deadline(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// The whole API; each request may take at most `request_timeout`.
pub fn router(state: AppState, request_timeout: std::time::Duration) -> Router {
    let api = Router::new()
        .route("/v1/requests", post(requests::submit).get(requests::list))
        .route("/v1/requests/bulk", post(review::bulk))
        .route("/v1/requests/export", get(exports::requests))
        .route("/v1/grants/export", get(exports::grants))
        .route("/v1/requests/{id}", get(requests::get_one))
        .route("/v1/requests/{id}/approve", post(review::approve))
        .route("/v1/requests/{id}/deny", post(review::deny))
        .route("/v1/requests/{id}/replay", post(decisions::replay))
        .route("/v1/decisions", get(decisions::list))
        .route("/v1/approvals", get(review::queue))
        .route("/v1/grants", get(grants::list))
        .route("/v1/grants/{id}", get(grants::get_one))
        .route("/v1/grants/{id}/fulfill", post(grants::fulfill))
        .route("/v1/grants/{id}/revoke", post(grants::revoke))
        .route("/v1/grants/{id}/extend", post(grants::extend))
        .route("/v1/grants/{id}/check", post(connectors::check))
        .route("/v1/users/{email}/access", get(grants::access))
        .route("/v1/jobs", get(grants::jobs))
        .route("/v1/jobs/{id}", get(connectors::job))
        .route("/v1/jobs/{id}/complete", post(grants::complete_job))
        .route("/v1/jobs/{id}/retry", post(connectors::retry))
        .route("/v1/jobs/escalations", get(connectors::escalations))
        .route("/v1/jobs/run", post(connectors::run))
        .route("/v1/connectors", get(connectors::list))
        .route("/v1/drift", get(drift::list))
        .route("/v1/integrations/jira", put(jira::put).get(jira::get))
        .route("/v1/integrations/jira/test", post(jira::test))
        .route("/v1/deliveries", get(jira::deliveries))
        .route("/v1/intake/jira", post(jira::intake))
        .route("/v1/deliveries/run", post(jira::run))
        .route("/v1/deliveries/{id}/retry", post(jira::retry))
        .route("/v1/drift/run", post(drift::run))
        .route(
            "/v1/connectors/{id}",
            put(connectors::put).get(connectors::get_one),
        )
        .route("/v1/connectors/{id}/test", post(connectors::test))
        .route("/v1/users/{email}/identities", get(connectors::identities))
        .route(
            "/v1/users/{email}/identities/{connector_id}",
            put(connectors::put_identity),
        )
        .route("/v1/recertifications", get(grants::recerts))
        .route("/v1/recertifications/{id}/keep", post(grants::keep))
        .route(
            "/v1/recertifications/{id}/revoke",
            post(grants::recert_revoke),
        )
        .route("/v1/escalations", get(lifecycle::escalations))
        .route("/v1/insights", get(lifecycle::insights))
        .route("/v1/sweeps/run", post(lifecycle::run_sweeps))
        .route("/v1/audit/events", get(audit::events))
        .route("/v1/audit/verify", get(audit::verify))
        .route("/v1/audit/public-key", get(audit::public_key))
        .route("/v1/audit/checkpoints", get(audit::checkpoints))
        .route("/v1/audit/export", get(audit::export))
        .route("/v1/tools", get(catalog::list))
        .route("/v1/tools/seed", post(catalog::seed))
        .route("/v1/tools/{id}", put(catalog::put).get(catalog::get_one))
        .route(
            "/v1/users/{email}",
            put(directory::put_user).get(directory::get_user),
        )
        .route("/v1/groups/{id}", put(directory::put_group))
        .route("/v1/tokens", post(tokens::create).get(tokens::list))
        .route("/v1/tokens/{id}", delete(tokens::revoke))
        .route("/v1/policies/active", get(policies::active))
        .route("/v1/policies/versions", get(policies::versions))
        .route("/v1/policies/versions/{version}", get(policies::version))
        .route("/v1/policies/reload", post(policies::reload))
        .route("/v1/policies/history", get(decisions::history))
        .route("/v1/policies/diff", get(decisions::diff))
        .route(
            "/v1/policies/what-if",
            post(decisions::what_if).layer(DefaultBodyLimit::max(extract::BUNDLE_BODY_LIMIT)),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .fallback(ops::no_route)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .with_state(state.clone());
    // A backup copies the whole database before its first byte: it may take longer than
    // any other call, and holds no lock while it does.
    let unbounded = Router::new()
        .route("/v1/admin/backup", get(backup::backup))
        .with_state(state);
    api.layer(axum::middleware::from_fn_with_state(
        request_timeout,
        deadline,
    ))
    .merge(unbounded)
    .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
