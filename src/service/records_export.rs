//! Operational exports: the requests or the grants made in a window, as CSV or JSON lines,
//! written page by page so that any window streams in constant memory. The same window
//! rules as the audit export (default 90 days up to now, at most 365).

use super::export::{EXPORT_LIMITS, ExportFormat, csv_line, json_line};
use super::window::Window;
use super::{Actor, Service, ServiceError};
use crate::domain::{Grant, RequestId, RequestRecord, Role};
use crate::store::{DecisionQueries, DecisionWindow, GrantWindowQueries};
use chrono::{DateTime, Utc};

/// Records per page read from the store.
const PAGE: usize = 500;

/// Which records an operational export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// Requests, by when they were submitted.
    Requests,
    /// Grants, by when they were created.
    Grants,
}

const REQUEST_COLUMNS: &str = "request_id,issue_key,requester,tool,status,submitted_at,outcome,policy_version,duration_days,grant_id";
const GRANT_COLUMNS: &str =
    "grant_id,request_id,user,tool,state,created_at,starts_at,expires_at,ended_at,duration_days";

impl Service {
    /// The window of an operational export, checked (admin and auditor).
    pub fn records_export_window(
        &self,
        actor: &Actor,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), ServiceError> {
        actor.require(&[Role::Auditor], "export requests and grants")?;
        let Window { from, to } = Window::parse(from, to, self.clock.now(), EXPORT_LIMITS)?;
        Ok((from, to))
    }

    /// Writes `records` made in `[from, to]` to `sink` in `format`, a page at a time, until
    /// done or until `sink` returns false (the reader went away).
    pub fn write_records_export(
        &self,
        records: Records,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        format: ExportFormat,
        sink: &mut dyn FnMut(String) -> bool,
    ) -> Result<(), ServiceError> {
        if format == ExportFormat::Csv {
            let columns = match records {
                Records::Requests => REQUEST_COLUMNS,
                Records::Grants => GRANT_COLUMNS,
            };
            if !sink(format!("{columns}\n")) {
                return Ok(());
            }
        }
        let mut after: Option<String> = None;
        loop {
            let (chunk, last, count) = match records {
                Records::Requests => self.request_page(from, to, after.as_deref(), format)?,
                Records::Grants => self.grant_page(from, to, after.as_deref(), format)?,
            };
            if count == 0 || !sink(chunk) || count < PAGE {
                return Ok(());
            }
            after = last;
        }
    }

    fn request_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<&str>,
        format: ExportFormat,
    ) -> Result<(String, Option<String>, usize), ServiceError> {
        let after = after.map(|a| RequestId::parse("after", a)).transpose()?;
        let window = DecisionWindow {
            version: None,
            from,
            to,
            after,
        };
        let page = self.store.read()?.decisions(&window, PAGE)?;
        let chunk = page
            .iter()
            .map(|r| request_line(r, format))
            .collect::<Result<String, _>>()?;
        Ok((chunk, page.last().map(|r| r.id.to_string()), page.len()))
    }

    fn grant_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<&str>,
        format: ExportFormat,
    ) -> Result<(String, Option<String>, usize), ServiceError> {
        let after = after
            .map(|a| crate::domain::GrantId::parse("after", a))
            .transpose()?;
        let page = self
            .store
            .read()?
            .grants_made(from, to, after.as_ref(), PAGE)?;
        let chunk = page
            .iter()
            .map(|g| grant_line(g, format))
            .collect::<Result<String, _>>()?;
        Ok((
            chunk,
            page.last().map(|g| g.grant_id.to_string()),
            page.len(),
        ))
    }
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(crate::evidence::rfc3339_millis).unwrap_or_default()
}

fn request_line(r: &RequestRecord, format: ExportFormat) -> Result<String, ServiceError> {
    match format {
        ExportFormat::Jsonl => json_line(r),
        ExportFormat::Csv => Ok(csv_line(&[
            r.id.to_string(),
            r.issue_key.to_string(),
            r.requester.to_string(),
            r.tool.to_string(),
            r.status.as_str().to_owned(),
            time(Some(r.submitted_at)),
            r.decision.decision.outcome.as_str().to_owned(),
            r.decision.policy_version.to_string(),
            r.duration_days.to_string(),
            r.grant_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ])),
    }
}

fn grant_line(g: &Grant, format: ExportFormat) -> Result<String, ServiceError> {
    match format {
        ExportFormat::Jsonl => json_line(g),
        ExportFormat::Csv => Ok(csv_line(&[
            g.grant_id.to_string(),
            g.request_id.to_string(),
            g.user.to_string(),
            g.tool.to_string(),
            g.state.as_str().to_owned(),
            time(Some(g.created_at)),
            time(g.starts_at),
            time(g.expires_at),
            time(g.ended_at),
            g.duration_days.to_string(),
        ])),
    }
}
