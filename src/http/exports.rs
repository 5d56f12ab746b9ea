//! Streamed exports: the audit log's (in `audit.rs`) and the operational ones of requests
//! and grants, all over a window of time, as JSON lines or CSV.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use crate::service::{Actor, ExportFormat, Records, Service, ServiceError};
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::sync::Arc;

/// The window and format of an export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// Start of the window (default: 90 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// End of the window (default: now); at most 365 days after `from`.
    pub to: Option<DateTime<Utc>>,
    /// `jsonl` (default) or `csv`.
    pub format: Option<ExportFormat>,
}

/// Streams what `write` writes as `format`; see [`stream_chunks`].
pub fn stream<W>(app: &AppState, format: ExportFormat, write: W) -> Response
where
    W: FnOnce(&Service, &mut dyn FnMut(String) -> bool) -> Result<(), ServiceError>
        + Send
        + 'static,
{
    let content_type = match format {
        ExportFormat::Jsonl => "application/jsonl",
        ExportFormat::Csv => "text/csv; charset=utf-8",
    };
    stream_chunks(app, content_type, write)
}

/// Streams what `write` writes, a few chunks in flight, so that a body of any size takes
/// constant memory. A failure midway is logged and cuts the body short.
pub fn stream_chunks<C, W>(app: &AppState, content_type: &'static str, write: W) -> Response
where
    C: Into<axum::body::Bytes> + Send + 'static,
    W: FnOnce(&Service, &mut dyn FnMut(C) -> bool) -> Result<(), ServiceError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<C, std::io::Error>>(4);
    let service: Arc<Service> = app.service.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = |chunk: C| tx.blocking_send(Ok(chunk)).is_ok();
        if let Err(e) = write(&service, &mut sink) {
            tracing::error!(error = %e, "a streamed answer failed midway");
            let _ = tx.blocking_send(Err(std::io::Error::other("cut short")));
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn export_records(
    app: AppState,
    actor: Actor,
    params: ExportParams,
    records: Records,
) -> Result<Response, ApiError> {
    let format = params.format.unwrap_or_default();
    let (from, to) = (params.from, params.to);
    let window = app
        .run(move |s| s.records_export_window(&actor, from, to))
        .await?;
    Ok(stream(&app, format, move |service, sink| {
        service.write_records_export(records, window, format, sink)
    }))
}

/// The requests submitted in a window, oldest first (admin, auditor): JSON lines of the
/// stored records, or CSV of their main columns; streamed.
#[utoipa::path(get, path = "/v1/requests/export", tag = "exports", params(ExportParams),
    responses((status = 200, description = "JSON lines or CSV, streamed",
        content((String = "application/jsonl"), (String = "text/csv"))),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn requests(
    State(app): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export_records(app, actor, params, Records::Requests).await
}

/// The grants created in a window, oldest first (admin, auditor): JSON lines or CSV;
/// streamed.
#[utoipa::path(get, path = "/v1/grants/export", tag = "exports", params(ExportParams),
    responses((status = 200, description = "JSON lines or CSV, streamed",
        content((String = "application/jsonl"), (String = "text/csv"))),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn grants(
    State(app): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export_records(app, actor, params, Records::Grants).await
}
