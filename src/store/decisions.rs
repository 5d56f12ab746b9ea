//! Recorded decisions by time and by policy version, for auditors, replay and what-if.
//!
//! Request ids are ordered by the time they were decided (see [`RequestId::bound`]), so a
//! window of time is a range of ids: in `requests`, or under one version in
//! `decisions_by_version`.

use super::StoreError;
use super::codec::{Tables, get};
use super::queries::visit_ids_under;
use super::tables::{DECISIONS_BY_VERSION, GRANTS, REQUESTS};
use crate::domain::{Grant, GrantId, PolicyVersionId, RequestId, RequestRecord};
use chrono::{DateTime, Utc};
use redb::ReadableTable;
use std::ops::Bound;

/// Which decisions to read: made in `[from, to]`, optionally by one version, after a cursor.
#[derive(Debug, Clone)]
pub struct DecisionWindow {
    /// Only decisions made by this version.
    pub version: Option<PolicyVersionId>,
    /// Made at or after.
    pub from: DateTime<Utc>,
    /// Made at or before.
    pub to: DateTime<Utc>,
    /// Only requests with a larger id (the last id of the previous page).
    pub after: Option<RequestId>,
}

impl DecisionWindow {
    /// The id range: the lower bound and the (excluded) upper bound; `None` when empty.
    fn bounds(&self) -> Option<(Bound<String>, String)> {
        let start = RequestId::bound(self.from);
        let end = RequestId::bound_after(self.to);
        let lower = match &self.after {
            Some(after) if after.as_str() >= start.as_str() => {
                Bound::Excluded(after.as_str().to_owned())
            }
            _ => Bound::Included(start),
        };
        let below_end = match &lower {
            Bound::Included(id) | Bound::Excluded(id) => id.as_str() < end.as_str(),
            Bound::Unbounded => true,
        };
        below_end.then_some((lower, end))
    }
}

/// Reads of recorded decisions.
pub trait DecisionQueries: Tables + Sized {
    /// Up to `limit` requests decided in `window`, oldest first.
    fn decisions(
        &self,
        window: &DecisionWindow,
        limit: usize,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let mut ids = Vec::new();
        self.visit_decisions(window, |id| {
            ids.push(id.to_owned());
            ids.len() < limit
        })?;
        let requests = self.open(REQUESTS)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = get(&requests, "requests", &id)? {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// How many decisions `window` holds.
    fn count_decisions(&self, window: &DecisionWindow) -> Result<u64, StoreError> {
        let mut count = 0u64;
        self.visit_decisions(window, |_| {
            count += 1;
            true
        })?;
        Ok(count)
    }

    /// Calls `visit` with the id of each request decided in `window`, oldest first, while it
    /// returns true.
    fn visit_decisions(
        &self,
        window: &DecisionWindow,
        mut visit: impl FnMut(&str) -> bool,
    ) -> Result<(), StoreError> {
        let Some((lower, upper)) = window.bounds() else {
            return Ok(());
        };
        match &window.version {
            Some(version) => visit_ids_under(
                &self.open(DECISIONS_BY_VERSION)?,
                version.as_str(),
                lower.as_ref().map(String::as_str),
                &upper,
                |id| Ok(visit(id)),
            )?,
            None => {
                let table = self.open(REQUESTS)?;
                let range = (
                    lower.as_ref().map(String::as_str),
                    Bound::Excluded(upper.as_str()),
                );
                for entry in table.range::<&str>(range)? {
                    if !visit(entry?.0.value()) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

impl<T: Tables> DecisionQueries for T {}

/// Reads of grants by when they were made (grant ids are ordered by it).
pub trait GrantWindowQueries: Tables + Sized {
    /// Up to `limit` grants made in `[from, to]` with an id after `after`, oldest first.
    fn grants_made(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<&GrantId>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError> {
        let start = GrantId::bound(from);
        let end = GrantId::bound(crate::domain::ids::millisecond_after(to));
        let lower = match after {
            Some(after) if after.as_str() >= start.as_str() => Bound::Excluded(after.as_str()),
            _ => Bound::Included(start.as_str()),
        };
        let table = self.open(GRANTS)?;
        let mut out = Vec::new();
        for entry in table
            .range::<&str>((lower, Bound::Excluded(end.as_str())))?
            .take(limit)
        {
            let (_, bytes) = entry?;
            out.push(super::codec::decode("grants", bytes.value())?);
        }
        Ok(out)
    }
}

impl<T: Tables> GrantWindowQueries for T {}
