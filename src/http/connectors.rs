//! Connected mode: connectors, identities, and the connector jobs' retry and escalations.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use crate::domain::formats::{ConnectorIdText, EmailText, GrantIdText, JobIdText};
use crate::domain::{ConnectorUpsert, ConnectorView, Identity, Job, JobEscalation};
use crate::service::{Actor, ConnectorTest, GrantCheck, IdentityBody, JobsRun};
use axum::Json;
use axum::extract::{Path, State};

/// Create or replace a connector (admin). Credentials are write-only.
#[utoipa::path(put, path = "/v1/connectors/{id}", request_body = ConnectorUpsert, tag = "connected",
    params(("id" = ConnectorIdText, Path, description = "Connector id")),
    responses((status = 200, body = ConnectorView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConnectorUpsert>,
) -> Result<Json<ConnectorView>, ApiError> {
    Ok(Json(
        app.run(move |s| s.put_connector(&actor, &id, body)).await?,
    ))
}

/// One connector; credentials shown only as `"set"`.
#[utoipa::path(get, path = "/v1/connectors/{id}", tag = "connected",
    params(("id" = ConnectorIdText, Path, description = "Connector id")),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<ConnectorView>, ApiError> {
    Ok(Json(app.run(move |s| s.connector(&actor, &id)).await?))
}

/// Every connector.
#[utoipa::path(get, path = "/v1/connectors", tag = "connected",
    responses((status = 200, body = Vec<ConnectorView>)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<ConnectorView>>, ApiError> {
    Ok(Json(app.run(move |s| s.connectors(&actor)).await?))
}

/// Check a connector's credentials and its tools' groups at the IdP (admin). Changes nothing.
#[utoipa::path(post, path = "/v1/connectors/{id}/test", tag = "connected",
    params(("id" = ConnectorIdText, Path, description = "Connector id")),
    responses((status = 200, body = ConnectorTest), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn test(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<ConnectorTest>, ApiError> {
    Ok(Json(app.service().test_connector(&actor, &id).await?))
}

/// Map a user to their identity at a connector's IdP (admin).
#[utoipa::path(put, path = "/v1/users/{email}/identities/{connector_id}", request_body = IdentityBody,
    tag = "connected",
    params(("email" = EmailText, Path, description = "The user"),
        ("connector_id" = ConnectorIdText, Path, description = "Connector id")),
    responses((status = 200, body = Identity), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_identity(
    State(app): State<AppState>,
    actor: Actor,
    Path((email, connector)): Path<(String, String)>,
    ApiJson(body): ApiJson<IdentityBody>,
) -> Result<Json<Identity>, ApiError> {
    Ok(Json(
        app.run(move |s| s.put_identity(&actor, &email, &connector, body))
            .await?,
    ))
}

/// A user's known identities, mapped or looked up.
#[utoipa::path(get, path = "/v1/users/{email}/identities", tag = "connected",
    params(("email" = EmailText, Path, description = "The user")),
    responses((status = 200, body = Vec<Identity>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn identities(
    State(app): State<AppState>,
    actor: Actor,
    Path(email): Path<String>,
) -> Result<Json<Vec<Identity>>, ApiError> {
    Ok(Json(app.run(move |s| s.identities(&actor, &email)).await?))
}

/// One job.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "grants",
    params(("id" = JobIdText, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn job(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(app.run(move |s| s.job(&actor, &id)).await?))
}

/// Put a failed connector job back in the queue, due now with its attempts from zero.
#[utoipa::path(post, path = "/v1/jobs/{id}/retry", tag = "connected",
    params(("id" = JobIdText, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retry(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(app.run(move |s| s.retry_job(&actor, &id)).await?))
}

/// Connector jobs that failed for good and wait for a person, oldest first.
#[utoipa::path(get, path = "/v1/jobs/escalations", tag = "connected",
    responses((status = 200, body = Vec<JobEscalation>)), security(("bearer" = [])))]
pub async fn escalations(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<JobEscalation>>, ApiError> {
    Ok(Json(app.run(move |s| s.job_escalations(&actor)).await?))
}

/// Run the connector jobs that are due now (admin; the server's worker also runs them).
#[utoipa::path(post, path = "/v1/jobs/run", tag = "connected",
    responses((status = 200, body = JobsRun), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn run(State(app): State<AppState>, actor: Actor) -> Result<Json<JobsRun>, ApiError> {
    Ok(Json(app.service().run_jobs_now(&actor).await?))
}

/// Ask the IdP now whether the grant's user is in the tool's group, as the grant says.
#[utoipa::path(post, path = "/v1/grants/{id}/check", tag = "connected",
    params(("id" = GrantIdText, Path, description = "Grant id")),
    responses((status = 200, body = GrantCheck), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check(
    State(app): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<GrantCheck>, ApiError> {
    Ok(Json(app.service().check_grant(&actor, &id).await?))
}
