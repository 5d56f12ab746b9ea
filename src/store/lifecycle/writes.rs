//! Writes of the review and grant lifecycle: request and grant transitions, jobs,
//! recertifications and escalations, each keeping its indexes in step.

use super::{LifecycleQueries, ms};
use crate::domain::{
    Escalation, Grant, Job, RecertState, Recertification, RequestRecord, RequestStatus,
};
use crate::store::codec::{Tables, encode};
use crate::store::tables::*;
use crate::store::writes::open_until;
use crate::store::{StoreError, WriteView};
use redb::ReadableTable;

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

    /// Inserts or replaces a job, keeping the open-job and due-job indexes in step.
    pub fn put_job(&mut self, job: &Job) -> Result<(), StoreError> {
        let old = self.job(&job.job_id)?;
        self.index_due(old.as_ref(), job)?;
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
