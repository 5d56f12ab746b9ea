//! Policy versions: the active one, history, full text, reload.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::domain::{PolicyFile, PolicySource, PolicyVersionRecord};
use crate::service::{Actor, Reloaded};
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A file of a version and its digest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileDigest {
    path: String,
    sha256: String,
}

fn digests(files: &[PolicyFile]) -> Vec<FileDigest> {
    files
        .iter()
        .map(|f| FileDigest {
            path: f.path.clone(),
            sha256: hex::encode(Sha256::digest(f.content.as_bytes())),
        })
        .collect()
}

/// A version (the active one, or a stored one); `text` carries the full text only when one
/// stored version is asked for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    version: String,
    seq: u64,
    activated_at: DateTime<Utc>,
    activated_by: String,
    source: PolicySource,
    files: Vec<FileDigest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<VersionText>,
}

/// The full text of a version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionText {
    files: Vec<PolicyFile>,
    schema: PolicyFile,
}

fn version_view(record: PolicyVersionRecord, with_text: bool) -> VersionView {
    VersionView {
        version: record.version.to_string(),
        seq: record.seq,
        activated_at: record.activated_at,
        activated_by: record.activated_by,
        source: record.source,
        files: digests(&record.files),
        text: with_text.then_some(VersionText {
            files: record.files,
            schema: record.schema,
        }),
    }
}

/// The active policy version.
#[utoipa::path(get, path = "/v1/policies/active", tag = "policies",
    responses((status = 200, body = VersionView)), security(("bearer" = [])))]
pub async fn active(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<VersionView>, ApiError> {
    let active = app.run(move |s| s.active_policy(&actor)).await?;
    let a = &active.activation;
    Ok(Json(VersionView {
        version: a.version.to_string(),
        seq: a.seq,
        activated_at: a.at,
        activated_by: a.actor.clone(),
        source: a.source.clone(),
        files: digests(active.engine.files()),
        text: None,
    }))
}

/// Every policy version, newest first.
#[utoipa::path(get, path = "/v1/policies/versions", tag = "policies",
    responses((status = 200, body = Vec<VersionView>)), security(("bearer" = [])))]
pub async fn versions(
    State(app): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let records = app.run(move |s| s.policy_versions(&actor)).await?;
    Ok(Json(
        records
            .into_iter()
            .map(|r| version_view(r, false))
            .collect(),
    ))
}

/// One version with the full text of every file and the schema.
#[utoipa::path(get, path = "/v1/policies/versions/{version}", tag = "policies",
    params(("version" = crate::domain::formats::PolicyVersionText, Path, description = "64 hex digits")),
    responses((status = 200, body = VersionView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn version(
    State(app): State<AppState>,
    actor: Actor,
    Path(version): Path<String>,
) -> Result<Json<VersionView>, ApiError> {
    let record = app.run(move |s| s.policy_version(&actor, &version)).await?;
    Ok(Json(version_view(record, true)))
}

/// Load the policies folder and activate it if it changed (admin).
#[utoipa::path(post, path = "/v1/policies/reload", tag = "policies",
    responses((status = 200, body = Reloaded), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reload(State(app): State<AppState>, actor: Actor) -> Result<Json<Reloaded>, ApiError> {
    Ok(Json(app.run(move |s| s.reload_policies(&actor)).await?))
}
