//! Connected mode in the store: connectors, users' identities at their IdPs, the due-job
//! index the worker runs from, escalations of failed jobs, and drift runs.

use super::codec::{Tables, decode, encode, get};
use super::lifecycle::ms;
use super::tables::*;
use super::{StoreError, WriteView};
use crate::domain::{
    ConnectorId, ConnectorRecord, DriftRun, Email, ExternalId, Grant, GrantState, Identity, Job,
    JobEscalation, Tool, ToolId,
};
use chrono::{DateTime, Utc};
use redb::ReadableTable;

/// Reads of connected mode, in snapshots and write transactions alike.
pub trait ConnectedQueries: Tables + Sized {
    /// A connector.
    fn connector(&self, id: &ConnectorId) -> Result<Option<ConnectorRecord>, StoreError> {
        get(&self.open(CONNECTORS)?, "connectors", id.as_str())
    }

    /// Every connector, by id.
    fn connectors(&self) -> Result<Vec<ConnectorRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(CONNECTORS)?.iter()? {
            let (_, value) = entry?;
            out.push(decode("connectors", value.value())?);
        }
        Ok(out)
    }

    /// `user`'s identity at `connector`'s IdP, if known.
    fn identity(
        &self,
        user: &Email,
        connector: &ConnectorId,
    ) -> Result<Option<Identity>, StoreError> {
        match self
            .open(IDENTITIES)?
            .get((user.as_str(), connector.as_str()))?
        {
            Some(value) => Ok(Some(decode("identities", value.value())?)),
            None => Ok(None),
        }
    }

    /// Every identity of `user`, by connector.
    fn identities_of(&self, user: &Email) -> Result<Vec<Identity>, StoreError> {
        let mut out = Vec::new();
        let email = user.as_str();
        for entry in self.open(IDENTITIES)?.range((email, "")..)? {
            let (key, value) = entry?;
            if key.value().0 != email {
                break;
            }
            out.push(decode("identities", value.value())?);
        }
        Ok(out)
    }

    /// The user whose identity at `connector` is `external`.
    fn user_by_external(
        &self,
        connector: &ConnectorId,
        external: &ExternalId,
    ) -> Result<Option<Email>, StoreError> {
        let table = self.open(IDENTITIES_BY_EXTERNAL)?;
        let found = table.get((connector.as_str(), external.as_str()))?;
        Ok(found
            .map(|v| Email::parse("user", v.value()))
            .transpose()
            .ok()
            .flatten())
    }

    /// Connector jobs due at or before `until`, soonest first, at most `limit`.
    fn due_jobs(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Job>, StoreError> {
        let jobs = self.open(JOBS)?;
        let mut out = Vec::new();
        for entry in self.open(DUE_JOBS)?.iter()? {
            let (key, _) = entry?;
            let (at, id) = key.value();
            if at > ms(until) || out.len() >= limit {
                break;
            }
            if let Some(job) = get::<Job>(&jobs, "jobs", id)? {
                out.push(job);
            }
        }
        Ok(out)
    }

    /// Escalations of failed jobs not yet settled, oldest first.
    fn open_job_escalations(&self) -> Result<Vec<JobEscalation>, StoreError> {
        let mut out: Vec<JobEscalation> = Vec::new();
        for entry in self.open(JOB_ESCALATIONS)?.iter()? {
            let (_, value) = entry?;
            let escalation: JobEscalation = decode("job_escalations", value.value())?;
            if escalation.resolved_at.is_none() {
                out.push(escalation);
            }
        }
        out.sort_by_key(|e| e.created_at);
        Ok(out)
    }

    /// The escalation of `job`, if it has one.
    fn job_escalation(&self, job: &str) -> Result<Option<JobEscalation>, StoreError> {
        get(&self.open(JOB_ESCALATIONS)?, "job_escalations", job)
    }

    /// Tools whose jobs `connector` runs.
    fn tools_of(&self, connector: &ConnectorId) -> Result<Vec<Tool>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(TOOLS)?.iter()? {
            let (_, value) = entry?;
            let tool: Tool = decode("tools", value.value())?;
            if tool.connector.managed_by() == Some(connector) {
                out.push(tool);
            }
        }
        Ok(out)
    }

    /// Every tool run by a connector.
    fn connected_tools(&self) -> Result<Vec<Tool>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(TOOLS)?.iter()? {
            let (_, value) = entry?;
            let tool: Tool = decode("tools", value.value())?;
            if tool.connector.managed_by().is_some() {
                out.push(tool);
            }
        }
        Ok(out)
    }

    /// The grants of `tool` in `state`.
    fn grants_in_state(&self, tool: &ToolId, state: GrantState) -> Result<Vec<Grant>, StoreError> {
        let grants = self.open(GRANTS)?;
        let state = state.as_str();
        let mut out = Vec::new();
        for entry in self
            .open(GRANTS_BY_STATE)?
            .range((state, tool.as_str(), "")..)?
        {
            let (key, _) = entry?;
            let (s, t, id) = key.value();
            if s != state || t != tool.as_str() {
                break;
            }
            if let Some(grant) = get::<Grant>(&grants, "grants", id)? {
                out.push(grant);
            }
        }
        Ok(out)
    }

    /// `user`'s most recent grant of `tool`, in any state.
    fn latest_grant(&self, user: &Email, tool: &ToolId) -> Result<Option<Grant>, StoreError> {
        let grants = self.open(GRANTS)?;
        let index = self.open(GRANTS_BY_USER_TOOL)?;
        let start = (user.as_str(), tool.as_str(), "");
        let mut latest = None;
        for entry in index.range(start..)? {
            let (key, _) = entry?;
            let (u, t, id) = key.value();
            if u != user.as_str() || t != tool.as_str() {
                break;
            }
            latest = Some(id.to_owned());
        }
        match latest {
            Some(id) => get(&grants, "grants", &id),
            None => Ok(None),
        }
    }

    /// When the oldest drift run finished, if there is one.
    fn oldest_drift_run_finished(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.open(DRIFT_RUNS)?.first()? {
            Some((_, value)) => Ok(Some(
                decode::<DriftRun>("drift_runs", value.value())?.finished_at,
            )),
            None => Ok(None),
        }
    }

    /// Drift runs, newest first, at most `limit`.
    fn drift_runs(&self, limit: usize) -> Result<Vec<DriftRun>, StoreError> {
        let mut out = Vec::new();
        for entry in self.open(DRIFT_RUNS)?.iter()?.rev().take(limit) {
            let (_, value) = entry?;
            out.push(decode("drift_runs", value.value())?);
        }
        Ok(out)
    }
}

impl<T: Tables> ConnectedQueries for T {}

impl WriteView<'_> {
    /// Inserts or replaces a connector.
    pub fn put_connector(&mut self, connector: &ConnectorRecord) -> Result<(), StoreError> {
        self.table(CONNECTORS)?
            .insert(connector.id.as_str(), encode(connector)?.as_slice())?;
        Ok(())
    }

    /// Records `identity`, replacing the user's earlier one at the same connector.
    pub fn put_identity(&mut self, identity: &Identity) -> Result<(), StoreError> {
        let key = (identity.user.as_str(), identity.connector_id.as_str());
        if let Some(old) = self.identity(&identity.user, &identity.connector_id)? {
            self.table(IDENTITIES_BY_EXTERNAL)?
                .remove((old.connector_id.as_str(), old.external_id.as_str()))?;
        }
        self.table(IDENTITIES)?
            .insert(key, encode(identity)?.as_slice())?;
        self.table(IDENTITIES_BY_EXTERNAL)?.insert(
            (
                identity.connector_id.as_str(),
                identity.external_id.as_str(),
            ),
            identity.user.as_str(),
        )?;
        Ok(())
    }

    /// Keeps the due-job index in step with a job that changes from `old` to `new`.
    pub(super) fn index_due(&mut self, old: Option<&Job>, new: &Job) -> Result<(), StoreError> {
        let id = new.job_id.as_str();
        if let Some(at) = old.and_then(Job::due_at) {
            self.table(DUE_JOBS)?.remove((ms(at), id))?;
        }
        if let Some(at) = new.due_at() {
            self.table(DUE_JOBS)?.insert((ms(at), id), ())?;
        }
        Ok(())
    }

    /// Inserts or replaces the escalation of a failed job.
    pub fn put_job_escalation(&mut self, escalation: &JobEscalation) -> Result<(), StoreError> {
        self.table(JOB_ESCALATIONS)?
            .insert(escalation.job_id.as_str(), encode(escalation)?.as_slice())?;
        Ok(())
    }

    /// Removes up to `limit` drift runs finished before `before`; returns how many.
    pub fn prune_drift_runs(
        &mut self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut old = Vec::new();
        for entry in self.open(DRIFT_RUNS)?.iter()? {
            let (_, value) = entry?;
            let run: DriftRun = decode("drift_runs", value.value())?;
            if run.finished_at >= before || old.len() >= limit {
                break;
            }
            old.push(run.run_id);
        }
        for id in &old {
            self.table(DRIFT_RUNS)?.remove(id.as_str())?;
        }
        Ok(old.len())
    }

    /// Records a drift run.
    pub fn put_drift_run(&mut self, run: &DriftRun) -> Result<(), StoreError> {
        self.table(DRIFT_RUNS)?
            .insert(run.run_id.as_str(), encode(run)?.as_slice())?;
        Ok(())
    }
}
