//! Reads of the review and grant lifecycle: grants, open requests and jobs, due items by
//! their time indexes, recertifications and escalations. Their writes are in `writes.rs`.

use super::StoreError;
use super::codec::{Tables, get};
use super::queries::{Collector, excluded_if, visit_ids_under, walk_ids};
use super::tables::*;
use crate::domain::page::{Cursor, Page};
use crate::domain::{
    Email, Grant, GrantId, GrantState, Job, JobKind, Recertification, RequestId, RequestStatus,
    ToolId,
};
use chrono::{DateTime, Utc};
use redb::ReadableTable;
use std::ops::Bound;

/// Which grants to list.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    /// Only this user's.
    pub user: Option<Email>,
    /// Only for this tool.
    pub tool: Option<ToolId>,
    /// Only in this state.
    pub state: Option<GrantState>,
    /// At most this many.
    pub limit: usize,
    /// Where the page starts (the previous page's `next`).
    pub after: Option<Cursor>,
}

/// The time part of every `(time ms, id)` index key; writers and removers share it.
pub(super) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A position in a `(time ms, id)` index: sweeps page through due items with it.
pub type TimeKey = (i64, String);

/// Keys of a `(time, id)` index after `after` and at or before `until`, at most `limit`.
fn due(
    table: &impl ReadableTable<(i64, &'static str), ()>,
    after: Option<&TimeKey>,
    until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<TimeKey>, StoreError> {
    use std::ops::Bound;
    let start = match after {
        Some((at, id)) => Bound::Excluded((*at, id.as_str())),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    for entry in table
        .range::<(i64, &str)>((start, Bound::Unbounded))?
        .take(limit)
    {
        let (key, _) = entry?;
        let (at, id) = key.value();
        if at > ms(until) {
            break;
        }
        out.push((at, id.to_owned()));
    }
    Ok(out)
}

/// Reads of the lifecycle, in snapshots and write transactions alike.
pub trait LifecycleQueries: Tables + Sized {
    /// A page of the grants matching `filter`, in the order of the narrowest index that
    /// answers it, from just after `filter.after`.
    fn grants(&self, filter: &GrantFilter) -> Result<Page<Grant>, StoreError> {
        let tool = filter.tool.as_ref().map_or("", |t| t.as_str());
        let after = filter.after.as_ref();
        let mut page = Collector::new(filter.limit);
        let grants = self.open(GRANTS)?;
        let mut visit = |cursor: Cursor, id: &str| -> Result<bool, StoreError> {
            let grant = get::<Grant>(&grants, "grants", id)?;
            let keep = grant.filter(|g| filter.state.is_none_or(|s| s == g.state));
            Ok(page.offer(keep, cursor))
        };
        if let Some(user) = &filter.user {
            let u = user.as_str();
            let start = after.map_or((u, tool, ""), |c| (u, c.part(0), c.part(1)));
            let index = self.open(GRANTS_BY_USER_TOOL)?;
            for entry in
                index.range::<(&str, &str, &str)>((excluded_if(after, start), Bound::Unbounded))?
            {
                let (key, _) = entry?;
                let (ku, t, id) = key.value();
                if ku != u || (!tool.is_empty() && t != tool) || !visit(Cursor::at(&[t, id]), id)? {
                    break;
                }
            }
        } else if filter.state.is_some() || !tool.is_empty() {
            let states = match filter.state {
                Some(state) => vec![state],
                None => GrantState::ALL.to_vec(),
            };
            let index = self.open(GRANTS_BY_STATE)?;
            // The cursor names the state it stopped in: the states before it are done.
            let resume = after.and_then(|c| states.iter().position(|s| s.as_str() == c.part(0)));
            'states: for (i, state) in states.iter().enumerate() {
                let s = state.as_str();
                let lower = match (resume, after) {
                    (Some(r), _) if i < r => continue,
                    (Some(r), Some(c)) if i == r => Bound::Excluded((s, c.part(1), c.part(2))),
                    _ => Bound::Included((s, tool, "")),
                };
                for entry in index.range::<(&str, &str, &str)>((lower, Bound::Unbounded))? {
                    let (key, _) = entry?;
                    let (ks, t, id) = key.value();
                    if ks != s || (!tool.is_empty() && t != tool) {
                        break;
                    }
                    if !visit(Cursor::at(&[s, t, id]), id)? {
                        break 'states;
                    }
                }
            }
        } else {
            walk_ids(&self.open(GRANTS)?, after, |id| {
                visit(Cursor::at(&[id]), id)
            })?;
        }

        Ok(page.finish())
    }

    /// Whether `user` has a pending request for `tool` other than `except`.
    fn has_other_open_request(
        &self,
        user: &Email,
        tool: &ToolId,
        except: &RequestId,
    ) -> Result<bool, StoreError> {
        let table = self.open(OPEN_REQUESTS)?;
        for entry in table.range((user.as_str(), tool.as_str(), "")..)? {
            let (key, _) = entry?;
            let (u, t, id) = key.value();
            if u != user.as_str() || t != tool.as_str() {
                break;
            }
            if id != except.as_str() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The grant of `user` for `tool` that is open at `now`, if any: pending provision, or
    /// active and not yet past its expiry.
    fn open_grant(
        &self,
        user: &Email,
        tool: &ToolId,
        now: DateTime<Utc>,
    ) -> Result<Option<GrantId>, StoreError> {
        let table = self.open(GRANTS_BY_USER_TOOL)?;
        for entry in table.range((user.as_str(), tool.as_str(), "")..)? {
            let (key, until) = entry?;
            let (u, t, id) = key.value();
            if u != user.as_str() || t != tool.as_str() {
                break;
            }
            if until.value() > ms(now) {
                return Ok(GrantId::parse("id", id).ok());
            }
        }
        Ok(None)
    }

    /// Open jobs of `kind` for one grant.
    fn open_jobs_for_grant(&self, grant: &GrantId, kind: JobKind) -> Result<Vec<Job>, StoreError> {
        let jobs = self.open(JOBS)?;
        let mut out = Vec::new();
        let id = grant.as_str();
        for entry in self.open(JOBS_BY_GRANT)?.range((id, "")..)? {
            let (key, _) = entry?;
            let (g, job) = key.value();
            if g != id {
                break;
            }
            if let Some(job) = get::<Job>(&jobs, "jobs", job)?
                && job.kind == kind
                && job.is_open()
            {
                out.push(job);
            }
        }
        Ok(out)
    }

    /// A job.
    fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        get(&self.open(JOBS)?, "jobs", id)
    }

    /// Open jobs of `kind` (or of every kind, fulfilment first), at most `limit`.
    fn open_jobs(
        &self,
        kind: Option<JobKind>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Job>, StoreError> {
        let jobs = self.open(JOBS)?;
        let index = self.open(OPEN_JOBS)?;
        let from = kind.map_or("", JobKind::as_str);
        let start = after.map_or((from, ""), |c| (c.part(0), c.part(1)));
        let mut page = Collector::new(limit);
        for entry in index.range::<(&str, &str)>((excluded_if(after, start), Bound::Unbounded))? {
            let (key, _) = entry?;
            let (k, id) = key.value();
            if (kind.is_some() && k != from)
                || !page.offer(get(&jobs, "jobs", id)?, Cursor::at(&[k, id]))
            {
                break;
            }
        }
        Ok(page.finish())
    }

    /// Active grants expiring at or before `until`, soonest first, after the cursor `after`.
    fn grants_expiring(
        &self,
        after: Option<&TimeKey>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TimeKey>, StoreError> {
        due(&self.open(GRANTS_BY_EXPIRY)?, after, until, limit)
    }

    /// Pending requests submitted at or before `until`, oldest first, after the request id
    /// `after` (a cursor: the id of the last one a caller saw).
    ///
    /// Request ids are ordered by submission time (only a submission makes one), so the
    /// pending entries of `requests_by_status` are in that order already, and the time of
    /// each is the one its id starts with.
    fn pending_since(
        &self,
        after: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TimeKey>, StoreError> {
        use std::ops::Bound;
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        visit_ids_under(
            &self.open(REQUESTS_BY_STATUS)?,
            RequestStatus::Pending.as_str(),
            lower,
            &RequestId::bound_after(until),
            |id| {
                let at =
                    RequestId::millis_of(id).ok_or(StoreError::Missing("time in a request id"))?;
                out.push((at, id.to_owned()));
                Ok(out.len() < limit)
            },
        )?;
        Ok(out)
    }

    /// A recertification.
    fn recert(&self, id: &str) -> Result<Option<Recertification>, StoreError> {
        get(&self.open(RECERTS)?, "recertifications", id)
    }

    /// The recertification of `grant` for its expiry at `expires_at`, if one was opened.
    fn recert_for(
        &self,
        grant: &GrantId,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<Recertification>, StoreError> {
        let id = match self
            .open(RECERT_BY_GRANT)?
            .get((grant.as_str(), ms(expires_at)))?
        {
            Some(id) => id.value().to_owned(),
            None => return Ok(None),
        };
        self.recert(&id)
    }

    /// Open recertifications, at most `limit`.
    fn open_recerts(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Recertification>, StoreError> {
        let mut page = Collector::new(limit);
        walk_ids(&self.open(OPEN_RECERTS)?, after, |id| {
            Ok(page.offer(self.recert(id)?, Cursor::at(&[id])))
        })?;
        Ok(page.finish())
    }

    /// Whether breach `breach` of `request` was escalated already.
    fn has_escalation(&self, request: &RequestId, breach: u32) -> Result<bool, StoreError> {
        Ok(self
            .open(ESCALATIONS)?
            .get((request.as_str(), breach))?
            .is_some())
    }
}

impl<T: Tables> LifecycleQueries for T {}

mod writes;

#[cfg(test)]
mod tests;
