//! Exports of the audit log over a time window, in whole checkpoint intervals, page by page
//! so that a caller can stream any window in constant memory.

use super::window::{Window, WindowLimits};
use super::{Actor, Service, ServiceError};
use crate::domain::Role;
use crate::domain::ids::millisecond_after;
use crate::evidence::{AuditRecord, Checkpoint, ExportHeader, ExportLine, PublishedKey};
use crate::store::AuditQueries;
use chrono::{DateTime, Utc};

/// The window when none is given, back from `to`.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;
/// The longest window.
pub const MAX_WINDOW_DAYS: i64 = 365;
pub(super) const EXPORT_LIMITS: WindowLimits = WindowLimits {
    default_days: DEFAULT_WINDOW_DAYS,
    max_days: MAX_WINDOW_DAYS,
};
/// Entries per page of an export.
pub const EXPORT_PAGE: usize = 1_000;

/// How an export is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON object per line: the header, entries and checkpoints; what
    /// `clearance audit verify` reads.
    #[default]
    Jsonl,
    /// One row per entry, for spreadsheets (no header object or checkpoints).
    Csv,
}

/// What an export covers: its header, and the `seq` range its pages walk.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    /// The first line.
    pub header: ExportHeader,
    /// The first `seq` exported.
    pub first_seq: u64,
    /// The last `seq` exported (less than `first_seq` when nothing is).
    pub last_seq: u64,
}

impl Service {
    /// The key that verifies checkpoints, as published.
    pub fn audit_public_key(&self) -> PublishedKey {
        self.store.public_key().published()
    }

    /// Checkpoints after `after_seq`, oldest first, at most `limit` (≤ 1,000).
    pub fn audit_checkpoints(
        &self,
        actor: &Actor,
        after_seq: u64,
        limit: Option<usize>,
    ) -> Result<Vec<Checkpoint>, ServiceError> {
        actor.require(&[Role::Auditor], "read the audit log")?;
        let limit = crate::domain::page::page_limit(limit, 100, super::audit::MAX_EVENTS)?;
        Ok(self.store.read()?.checkpoints(after_seq, limit)?)
    }

    /// Plans an export of `[from, to]` (default: the 90 days up to now; at most 365 days).
    /// Signs a checkpoint over the head first, so the export ends anchored.
    pub fn audit_export_plan(
        &self,
        actor: &Actor,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<ExportPlan, ServiceError> {
        actor.require(&[Role::Auditor], "export the audit log")?;
        let now = self.clock.now();
        let Window { from, to } = Window::parse(from, to, now, EXPORT_LIMITS)?;
        self.store
            .write(|w| w.checkpoint(now).map_err(ServiceError::from))?;
        let read = self.store.read()?;
        let in_window = read.audit_seq_at(from)?;
        let after_window = read.audit_seq_at(millisecond_after(to))?;
        let start = read.checkpoint_before(in_window)?;
        // The first checkpoint at or after the window's last entry; the one just signed
        // covers the head, so there is one whenever the window holds entries.
        let end = match after_window
            .checked_sub(1)
            .filter(|last| *last >= in_window)
        {
            Some(last) => read.checkpoints(last - 1, 1)?.into_iter().next(),
            None => None,
        };
        let first_seq = start.as_ref().map_or(1, |c| c.seq + 1);
        let last_seq = end.as_ref().map_or(0, |c| c.seq);
        Ok(ExportPlan {
            header: ExportHeader {
                from,
                to,
                start: start.filter(|_| end.is_some()),
                end,
            },
            first_seq,
            last_seq,
        })
    }

    /// The lines of entries `from_seq..=to_seq` (at most [`EXPORT_PAGE`] entries), each
    /// checkpoint after the entry it covers.
    pub fn audit_export_page(
        &self,
        from_seq: u64,
        to_seq: u64,
    ) -> Result<Vec<ExportLine>, ServiceError> {
        let read = self.store.read()?;
        let limit = usize::try_from(to_seq.saturating_sub(from_seq) + 1)
            .unwrap_or(EXPORT_PAGE)
            .min(EXPORT_PAGE);
        let (records, _) = read.audit_events(from_seq.saturating_sub(1), None, limit, limit)?;
        let last = records.last().map_or(from_seq, |r| r.seq);
        let mut checkpoints = read
            .checkpoints(from_seq.saturating_sub(1), limit)?
            .into_iter()
            .filter(|c| c.seq <= last)
            .peekable();
        let mut lines = Vec::with_capacity(records.len() + 1);
        for record in records {
            let seq = record.seq;
            lines.push(ExportLine::Entry(Box::new(record)));
            while let Some(checkpoint) = checkpoints.next_if(|c| c.seq <= seq) {
                lines.push(ExportLine::Checkpoint { checkpoint });
            }
        }
        Ok(lines)
    }
}

impl Service {
    /// Writes the export `plan` describes to `sink`, a chunk (whole lines) at a time, until
    /// done or until `sink` returns false (the reader went away).
    pub fn write_export(
        &self,
        plan: &ExportPlan,
        format: ExportFormat,
        sink: &mut dyn FnMut(String) -> bool,
    ) -> Result<(), ServiceError> {
        let head = match format {
            ExportFormat::Jsonl => json_line(&ExportLine::Header {
                export: plan.header.clone(),
            })?,
            ExportFormat::Csv => CSV_HEADER.to_owned(),
        };
        if !sink(head) {
            return Ok(());
        }
        let mut next = plan.first_seq;
        while next <= plan.last_seq {
            let lines = self.audit_export_page(next, plan.last_seq)?;
            let mut chunk = String::new();
            for line in &lines {
                match (format, line) {
                    (ExportFormat::Jsonl, line) => chunk.push_str(&json_line(line)?),
                    (ExportFormat::Csv, ExportLine::Entry(record)) => {
                        chunk.push_str(&csv_row(record));
                    }
                    (ExportFormat::Csv, _) => {}
                }
                if let ExportLine::Entry(record) = line {
                    next = record.seq + 1;
                }
            }
            if chunk.is_empty() || !sink(chunk) {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// `value` as one line of JSON.
pub(super) fn json_line(value: &impl serde::Serialize) -> Result<String, ServiceError> {
    let mut text = serde_json::to_string(value)
        .map_err(|e| ServiceError::Store(crate::store::StoreError::Encode(e)))?;
    text.push('\n');
    Ok(text)
}

/// One entry as a CSV row: seq, at, type, actor, subject, data (JSON), prev_hash,
/// entry_hash, entry_mac.
pub fn csv_row(record: &AuditRecord) -> String {
    let fields = [
        record.seq.to_string(),
        crate::evidence::rfc3339_millis(record.at),
        record.kind.clone(),
        record.actor.clone(),
        record.subject.clone(),
        crate::evidence::canonical_json(&record.data),
        record.prev_hash.clone(),
        record.entry_hash.clone(),
        record.entry_mac.clone(),
    ];
    csv_line(&fields)
}

/// One CSV row of `fields`, quoted where needed, with its line end.
pub fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    quoted.join(",") + "\n"
}

/// The CSV header row.
pub const CSV_HEADER: &str = "seq,at,type,actor,subject,data,prev_hash,entry_hash,entry_mac\n";

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}
