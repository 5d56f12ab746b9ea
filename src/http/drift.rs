//! Drift: connected groups compared with the grants clearance believes in.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::domain::DriftRun;
use crate::service::{Actor, DriftRuns};
use axum::Json;
use axum::extract::State;

/// Compare every connected group with its grants now (admin); the run, with its `run_id`.
#[utoipa::path(post, path = "/v1/drift/run", tag = "connected",
    responses((status = 200, body = DriftRun), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn run(State(app): State<AppState>, actor: Actor) -> Result<Json<DriftRun>, ApiError> {
    Ok(Json(app.service().run_drift_now(&actor).await?))
}

/// The latest drift runs with their findings, newest first.
#[utoipa::path(get, path = "/v1/drift", tag = "connected",
    responses((status = 200, body = DriftRuns)), security(("bearer" = [])))]
pub async fn list(State(app): State<AppState>, actor: Actor) -> Result<Json<DriftRuns>, ApiError> {
    Ok(Json(app.run(move |s| s.drift_runs(&actor)).await?))
}
