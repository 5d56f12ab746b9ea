//! The JSONL export: a header, then entries oldest first, each checkpoint on its own line
//! after the entry it covers.
//!
//! An export covers whole checkpoint intervals: it starts right after the last checkpoint
//! before its window (the header's `start`; none when it starts at `seq` 1) and ends at a
//! checkpoint (the header's `end`), so every entry in it is anchored and a cut-off tail
//! shows as `truncated`.

use super::checkpoint::Checkpoint;
use super::entry::{AuditRecord, RawEntry};
use super::verify::Verifier;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// The window asked for.
    pub from: DateTime<Utc>,
    /// The window's end.
    pub to: DateTime<Utc>,
    /// The checkpoint the first entry follows; none when the export starts at `seq` 1.
    pub start: Option<Checkpoint>,
    /// The checkpoint the last entry reaches; none for an empty log.
    pub end: Option<Checkpoint>,
}

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExportLine {
    /// `{"export": {...}}`, the first line.
    Header {
        /// The header.
        export: ExportHeader,
    },
    /// `{"checkpoint": {...}}`, after the entry it covers.
    Checkpoint {
        /// The checkpoint.
        checkpoint: Checkpoint,
    },
    /// An audit entry.
    Entry(Box<AuditRecord>),
}

impl Verifier {
    /// Checks one line of an export (blank lines are skipped). The first line must be the
    /// header: without it a cut-off export could pass for a whole one.
    pub fn push_line(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        // Entries are nearly every line: parse them directly rather than trying each shape.
        let first_key = line
            .strip_prefix('{')
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('"'))
            .and_then(|rest| rest.split('"').next());
        if !self.header_seen && first_key != Some("export") {
            self.push_malformed();
        }
        match first_key {
            Some("checkpoint" | "export") => self.push_marker(line),
            _ => match serde_json::from_str::<RawEntry<'_>>(line) {
                Ok(entry) => self.push_raw(&entry),
                Err(_) => self.push_malformed(),
            },
        }
    }

    fn push_marker(&mut self, line: &str) {
        match serde_json::from_str::<ExportLine>(line) {
            Ok(ExportLine::Entry(record)) => self.push(&record),
            Ok(ExportLine::Checkpoint { checkpoint }) => self.push_checkpoint(&checkpoint),
            Ok(ExportLine::Header { export }) if self.is_fresh() && !self.header_seen => {
                self.header_seen = true;
                match &export.start {
                    Some(start) => self.start_after(start),
                    None => self.from_genesis = true,
                }
                if let Some(end) = export.end {
                    self.end_at(end);
                }
            }
            Ok(ExportLine::Header { .. }) | Err(_) => self.push_malformed(),
        }
    }
}
