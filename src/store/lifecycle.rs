//! Writes and reads of the review and grant lifecycle: request and grant transitions, jobs,
//! recertifications and escalations, with their time indexes.

use super::codec::{Tables, encode, get};
use super::queries::visit_ids_under;
use super::tables::*;
use super::writes::open_until;
use super::{StoreError, WriteView};
use crate::domain::{
    Email, Escalation, Grant, GrantId, GrantState, Job, JobKind, RecertState, Recertification,
    RequestId, RequestRecord, RequestStatus, ToolId,
};
use chrono::{DateTime, Utc};
use redb::ReadableTable;

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
    /// Grants matching `filter`, from the narrowest index that answers it.
    fn grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>, StoreError> {
        let tool = filter.tool.as_ref().map_or("", |t| t.as_str());
        let mut ids = Vec::new();
        if let Some(user) = &filter.user {
            for entry in self
                .open(GRANTS_BY_USER_TOOL)?
                .range((user.as_str(), tool, "")..)?
            {
                let (key, _) = entry?;
                let (u, t, id) = key.value();
                if u != user.as_str() || (!tool.is_empty() && t != tool) {
                    break;
                }
                ids.push(id.to_owned());
            }
        } else if filter.state.is_some() || !tool.is_empty() {
            let states = match filter.state {
                Some(state) => vec![state],
                None => GrantState::ALL.to_vec(),
            };
            let index = self.open(GRANTS_BY_STATE)?;
            for state in states {
                for entry in index
                    .range((state.as_str(), tool, "")..)?
                    .take(filter.limit)
                {
                    let (key, _) = entry?;
                    let (s, t, id) = key.value();
                    if s != state.as_str() || (!tool.is_empty() && t != tool) {
                        break;
                    }
                    ids.push(id.to_owned());
                }
            }
        } else {
            for entry in self.open(GRANTS)?.iter()?.take(filter.limit) {
                ids.push(entry?.0.value().to_owned());
            }
        }
        let grants = self.open(GRANTS)?;
        let mut out = Vec::new();
        for id in ids {
            let Some(grant) = get::<Grant>(&grants, "grants", &id)? else {
                continue;
            };
            if filter.state.is_none_or(|s| s == grant.state) {
                out.push(grant);
                if out.len() >= filter.limit {
                    break;
                }
            }
        }
        Ok(out)
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
    fn open_jobs(&self, kind: Option<JobKind>, limit: usize) -> Result<Vec<Job>, StoreError> {
        let jobs = self.open(JOBS)?;
        let index = self.open(OPEN_JOBS)?;
        let from = kind.map_or("", JobKind::as_str);
        let mut out = Vec::new();
        for entry in index.range((from, "")..)?.take(limit) {
            let (key, _) = entry?;
            let (k, id) = key.value();
            if kind.is_some() && k != from {
                break;
            }
            if let Some(job) = get(&jobs, "jobs", id)? {
                out.push(job);
            }
        }
        Ok(out)
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
    fn open_recerts(&self, limit: usize) -> Result<Vec<Recertification>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(OPEN_RECERTS)?.iter()?.take(limit) {
            let (key, _) = entry?;
            if let Some(recert) = self.recert(key.value())? {
                out.push(recert);
            }
        }
        Ok(out)
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

impl WriteView<'_> {
    /// Replaces a request, keeping the status, open-request and age indexes in step.
    pub fn update_request(
        &mut self,
        old: &RequestRecord,
        new: &RequestRecord,
    ) -> Result<(), StoreError> {
        let (id, user, tool) = (new.id.as_str(), new.requester.as_str(), new.tool.as_str());
        self.table(REQUESTS)?.insert(id, encode(new)?.as_slice())?;
        if old.status != new.status {
            let mut by_status = self.table(REQUESTS_BY_STATUS)?;
            by_status.remove((old.status.as_str(), id))?;
            by_status.insert((new.status.as_str(), id), ())?;
            if old.status == RequestStatus::Pending {
                self.table(OPEN_REQUESTS)?.remove((user, tool, id))?;
                let breaches: Vec<u32> = self
                    .open(OPEN_ESCALATIONS)?
                    .range((id, 0)..=(id, u32::MAX))?
                    .map(|e| e.map(|(k, _)| k.value().1))
                    .collect::<Result<_, _>>()?;
                let mut open = self.table(OPEN_ESCALATIONS)?;
                for breach in breaches {
                    open.remove((id, breach))?;
                }
            }
            if let Some(closed_at) = new.concluded_at() {
                let minutes = (closed_at - new.submitted_at).num_minutes().max(0);
                let minutes = u64::try_from(minutes).unwrap_or(0);
                self.bump(REVIEW_MINUTES, minutes, 1)?;
            }
        }
        Ok(())
    }

    /// Replaces a grant, keeping its state, open-grant, count and expiry indexes in step.
    pub fn update_grant(&mut self, old: &Grant, new: &Grant) -> Result<(), StoreError> {
        self.table(GRANTS)?
            .insert(new.grant_id.as_str(), encode(new)?.as_slice())?;
        if open_until(old) != open_until(new) {
            let key = (new.user.as_str(), new.tool.as_str(), new.grant_id.as_str());
            self.table(GRANTS_BY_USER_TOOL)?
                .insert(key, open_until(new))?;
        }
        self.index_grant(old, -1)?;
        self.index_grant(new, 1)
    }

    /// Inserts or replaces a job, keeping the open-job index in step.
    pub fn put_job(&mut self, job: &Job) -> Result<(), StoreError> {
        self.table(JOBS)?
            .insert(job.job_id.as_str(), encode(job)?.as_slice())?;
        self.table(JOBS_BY_GRANT)?
            .insert((job.grant_id.as_str(), job.job_id.as_str()), ())?;
        let key = (job.kind.as_str(), job.job_id.as_str());
        if job.completed_at.is_none() {
            self.table(OPEN_JOBS)?.insert(key, ())?;
        } else {
            self.table(OPEN_JOBS)?.remove(key)?;
        }
        Ok(())
    }

    /// Inserts or replaces a recertification.
    pub fn put_recert(&mut self, recert: &Recertification) -> Result<(), StoreError> {
        self.table(RECERTS)?
            .insert(recert.recert_id.as_str(), encode(recert)?.as_slice())?;
        self.table(RECERT_BY_GRANT)?.insert(
            (recert.grant_id.as_str(), ms(recert.expires_at)),
            recert.recert_id.as_str(),
        )?;
        if recert.state == RecertState::Open {
            self.table(OPEN_RECERTS)?
                .insert(recert.recert_id.as_str(), ())?;
        } else {
            self.table(OPEN_RECERTS)?
                .remove(recert.recert_id.as_str())?;
        }
        Ok(())
    }

    /// Records an escalation.
    pub fn put_escalation(&mut self, escalation: &Escalation) -> Result<(), StoreError> {
        self.table(ESCALATIONS)?.insert(
            (escalation.request_id.as_str(), escalation.breach),
            encode(escalation)?.as_slice(),
        )?;
        self.table(OPEN_ESCALATIONS)?
            .insert((escalation.request_id.as_str(), escalation.breach), ())?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
