//! Online backup: `GET /v1/admin/backup` streams a consistent copy of the data as a tar archive.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::exports::stream_chunks;
use crate::service::Actor;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;

/// A consistent copy of the running server's data (admin), as a tar archive: a manifest
/// (`clearance-backup.json`), the database as of the moment the call arrived, and the audit
/// key files; never `secrets.key`. Every change answered before the call is in it; decisions
/// go on meanwhile. Unpack and check it with `clearance backup OUT`.
#[utoipa::path(get, path = "/v1/admin/backup", tag = "operations",
    responses((status = 200, description = "A tar archive, streamed",
        content((Vec<u8> = "application/x-tar"))),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn backup(State(app): State<AppState>, actor: Actor) -> Result<Response, ApiError> {
    let backup = app.run(move |s| s.back_up(&actor)).await?;
    let disposition = format!("attachment; filename=\"{}\"", backup.file_name());
    let mut response = stream_chunks(&app, "application/x-tar", move |_, sink| {
        backup.write_tar(sink)
    });
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
