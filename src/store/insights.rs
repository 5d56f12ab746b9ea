//! Counters and small indexes behind `GET /v1/insights`: each read is bounded by the number
//! of months, tools or distinct durations, never by the number of requests or grants.

use super::StoreError;
use super::codec::{Tables, decode};
use super::lifecycle::LifecycleQueries;
use super::queries::{Collector, excluded_if};
use super::tables::*;
use crate::domain::Escalation;
use crate::domain::page::{Cursor, Page};
use redb::{ReadableTable, ReadableTableMetadata};
use std::ops::Bound;

/// Reads for insights, in snapshots.
pub trait InsightQueries: Tables + Sized {
    /// `(month, outcome, count)` of every decided request, oldest month first.
    fn requests_by_month(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(REQUESTS_BY_MONTH)?.iter()? {
            let (key, count) = entry?;
            let (month, outcome) = key.value();
            out.push((month.to_owned(), outcome.to_owned(), count.value()));
        }
        Ok(out)
    }

    /// `(tool, count)` of active grants.
    fn active_grants_by_tool(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(ACTIVE_GRANT_COUNT)?.iter()? {
            let (tool, count) = entry?;
            out.push((tool.value().to_owned(), count.value()));
        }
        Ok(out)
    }

    /// The median of whole minutes from submission to a person's decision, and how many
    /// requests it is over.
    fn median_review_minutes(&self) -> Result<(Option<u64>, u64), StoreError> {
        let table = self.open(REVIEW_MINUTES)?;
        let mut buckets = Vec::new();
        for entry in table.iter()? {
            let (minutes, count) = entry?;
            buckets.push((minutes.value(), count.value()));
        }
        let total: u64 = buckets.iter().map(|(_, n)| n).sum();
        let middle = total.div_ceil(2);
        let mut seen = 0;
        for (minutes, n) in buckets {
            seen += n;
            if seen >= middle && total > 0 {
                return Ok((Some(minutes), total));
            }
        }
        Ok((None, total))
    }

    /// Escalations of requests still pending, at most `limit`.
    fn open_escalations(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Escalation>, StoreError> {
        let all = self.open(ESCALATIONS)?;
        // Any cursor is a position: a breach that is not a number starts the request over.
        let start = after.map_or(("", 0), |c| (c.part(0), c.part(1).parse().unwrap_or(0)));
        let mut page = Collector::new(limit);
        let index = self.open(OPEN_ESCALATIONS)?;
        for entry in index.range::<(&str, u32)>((excluded_if(after, start), Bound::Unbounded))? {
            let (key, _) = entry?;
            let (request, breach) = key.value();
            let escalation = match all.get((request, breach))? {
                Some(value) => Some(decode("escalations", value.value())?),
                None => None,
            };
            if !page.offer(escalation, Cursor::at(&[request, &breach.to_string()])) {
                break;
            }
        }
        Ok(page.finish())
    }

    /// How many escalations of still-pending requests there are.
    fn count_open_escalations(&self) -> Result<u64, StoreError> {
        Ok(self.open(OPEN_ESCALATIONS)?.len()?)
    }

    /// How many active grants expire at or before `until` (the walk stops at `until`).
    fn count_expiring(&self, until: chrono::DateTime<chrono::Utc>) -> Result<u64, StoreError> {
        let due = self.grants_expiring(None, until, usize::MAX)?;
        Ok(u64::try_from(due.len()).unwrap_or(u64::MAX))
    }
}

impl<T: Tables> InsightQueries for T {}
