//! Drift: each connected group compared with the grants clearance believes in. Report-only
//! by default; with remediation on, unmanaged members are removed and missing ones re-added
//! through ordinary jobs, within a removal cap, so an IdP that answers an empty or wrong list
//! cannot make clearance empty a group.

use super::super::auth::ANY_ROLE;
use super::super::{Actor, Service, ServiceError};
use super::attempt::Usable;
use crate::connect::Member;
use crate::domain::{
    ConnectorId, DriftRun, Email, Finding, FindingKind, Grant, GrantId, GrantState, Job, JobKind,
    Tool, ToolDrift, ToolId,
};
use crate::store::{ConnectedQueries, LifecycleQueries, NewAuditEntry, Queries, WriteView};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Who the audit log names for drift runs.
const SYSTEM: &str = "system:drift";
/// Runs `GET /v1/drift` shows.
pub const DRIFT_RUNS_SHOWN: usize = 20;

/// How drift runs act on what they find.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftConfig {
    /// Open jobs that remove unmanaged members and re-add missing ones.
    pub remediate: bool,
    /// The largest share (0 to 1) of a group's listed members one run may remove.
    pub max_removal_share: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            remediate: false,
            max_removal_share: 0.1,
        }
    }
}

/// The answer of `GET /v1/drift`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriftRuns {
    /// Newest first.
    pub runs: Vec<DriftRun>,
}

/// What one tool's comparison produced, before it is recorded.
type Repair = (JobKind, GrantId, Email);

struct Compared {
    drift: ToolDrift,
    /// Jobs to open if remediation goes ahead: kind, the grant they are filed under, user.
    jobs: Vec<Repair>,
}

impl Service {
    /// Runs drift detection now (admin); returns the recorded run.
    pub async fn run_drift_now(&self, actor: &Actor) -> Result<DriftRun, ServiceError> {
        actor.require(&[], "run drift checks")?;
        self.run_drift().await
    }

    /// The latest drift runs, newest first.
    pub fn drift_runs(&self, actor: &Actor) -> Result<DriftRuns, ServiceError> {
        actor.require(ANY_ROLE, "read drift runs")?;
        Ok(DriftRuns {
            runs: self.store.read()?.drift_runs(DRIFT_RUNS_SHOWN)?,
        })
    }

    /// Compares every connected tool's group with its grants, records the run with one
    /// audit entry, and (with remediation on) opens the jobs that repair it.
    pub async fn run_drift(&self) -> Result<DriftRun, ServiceError> {
        let started_at = self.clock.now();
        let tools = self.store.read()?.connected_tools()?;
        let mut compared = Vec::new();
        for tool in tools {
            if let Some(connector) = tool.connector.managed_by().cloned() {
                compared.push(self.compare(&tool, connector).await?);
            }
        }
        let config = self.config.connected.drift;
        let run = DriftRun {
            run_id: crate::domain::time_ordered_id("drf", started_at),
            started_at,
            finished_at: self.clock.now(),
            tools: Vec::new(),
        };
        let recorded = self
            .writer
            .write_async(move |w| record(w, &run, &compared, config))
            .await?;
        Ok(recorded)
    }

    /// One tool's group against its grants; an IdP that cannot answer is a finding-less
    /// comparison with its error.
    async fn compare(
        &self,
        tool: &Tool,
        connector_id: ConnectorId,
    ) -> Result<Compared, ServiceError> {
        let group = tool.connector.group_id();
        let mut drift = ToolDrift {
            tool: tool.id.clone(),
            connector_id: connector_id.clone(),
            group: group.as_ref().map(|g| g.to_string()).unwrap_or_default(),
            members: 0,
            findings: Vec::new(),
            error: None,
            remediation_jobs: 0,
            remediation_held: None,
        };
        let none = |drift| {
            Ok(Compared {
                drift,
                jobs: Vec::new(),
            })
        };
        let Some(group) = group else {
            drift.error = Some("the group has not been created yet".into());
            return none(drift);
        };
        let target = match self.usable(&tool.connector)? {
            Usable::Ready(ready) => ready.1,
            Usable::Held(reason) | Usable::Unusable(reason) => {
                drift.error = Some(reason);
                return none(drift);
            }
        };
        match self
            .connected
            .connectors
            .list_members(&target, &group)
            .await
        {
            Ok(answer) => {
                let read = self.store.read()?;
                let (findings, jobs) = findings(&read, tool, &connector_id, &answer.value)?;
                drift.members = answer.value.len();
                drift.findings = findings;
                Ok(Compared { drift, jobs })
            }
            Err(e) => {
                drift.error = Some(e.to_string());
                none(drift)
            }
        }
    }
}

/// The differences between `members` and `tool`'s grants, and the jobs that would repair
/// them.
fn findings<Q: ConnectedQueries + LifecycleQueries>(
    read: &Q,
    tool: &Tool,
    connector: &ConnectorId,
    members: &[Member],
) -> Result<(Vec<Finding>, Vec<Repair>), ServiceError> {
    // Users whose access is wanted: active grants, and pending ones being fulfilled now.
    let active = read.grants_in_state(&tool.id, GrantState::Active)?;
    let pending = read.grants_in_state(&tool.id, GrantState::PendingProvision)?;
    let wanted: HashMap<&Email, &Grant> = active.iter().map(|g| (&g.user, g)).collect();
    let mut seen: HashSet<&Email> = HashSet::new();
    let mut out = Vec::new();
    let mut jobs = Vec::new();
    for member in members {
        let Some(user) = member_user(read, connector, member)? else {
            out.push(member_finding(FindingKind::UnknownIdentity, None, member));
            continue;
        };
        if let Some((email, _)) = wanted.get_key_value(&user) {
            seen.insert(email);
            continue;
        }
        if pending.iter().any(|g| g.user == user) {
            continue;
        }
        let grant = match read.latest_grant(&user, &tool.id)? {
            Some(g) => g.grant_id,
            None => GrantId::unmanaged(tool.id.as_str(), member.id.as_str()),
        };
        jobs.push((JobKind::Deprovision, grant, user.clone()));
        out.push(member_finding(
            FindingKind::UnmanagedMember,
            Some(user),
            member,
        ));
    }
    for grant in &active {
        if seen.contains(&grant.user) {
            continue;
        }
        let external = read
            .identity(&grant.user, connector)?
            .map(|i| i.external_id);
        out.push(Finding {
            kind: FindingKind::MissingMember,
            user: Some(grant.user.clone()),
            external_id: external,
            grant_id: Some(grant.grant_id.clone()),
        });
        jobs.push((JobKind::Fulfil, grant.grant_id.clone(), grant.user.clone()));
    }
    Ok((out, jobs))
}

/// The user a member is: by the identity recorded for its id, else by its email unless that
/// user's recorded identity is another account (then nobody can say who it is).
fn member_user<Q: ConnectedQueries>(
    read: &Q,
    connector: &ConnectorId,
    member: &Member,
) -> Result<Option<Email>, ServiceError> {
    if let Some(user) = read.user_by_external(connector, &member.id)? {
        return Ok(Some(user));
    }
    let Some(user) = member
        .email
        .as_deref()
        .and_then(|e| Email::parse("email", e).ok())
    else {
        return Ok(None);
    };
    let other_account = read
        .identity(&user, connector)?
        .is_some_and(|i| i.external_id != member.id);
    Ok((!other_account).then_some(user))
}

fn member_finding(kind: FindingKind, user: Option<Email>, member: &Member) -> Finding {
    Finding {
        kind,
        user,
        external_id: Some(member.id.clone()),
        grant_id: None,
    }
}

/// Records the run and its audit entry; with remediation on, opens the repairing jobs of
/// each tool whose removals stay within the cap.
fn record(
    w: &mut WriteView,
    run: &DriftRun,
    compared: &[Compared],
    config: DriftConfig,
) -> Result<DriftRun, ServiceError> {
    let mut run = run.clone();
    let mut opened = 0;
    for c in compared {
        let mut drift = c.drift.clone();
        if config.remediate && drift.error.is_none() {
            match held(&drift, &c.jobs, config) {
                Some(reason) => drift.remediation_held = Some(reason),
                None => drift.remediation_jobs = repair(w, &drift.tool, &c.jobs, run.started_at)?,
            }
            opened += drift.remediation_jobs;
        }
        run.tools.push(drift);
    }
    w.put_drift_run(&run)?;
    let count = |kind| {
        run.tools
            .iter()
            .flat_map(|t| &t.findings)
            .filter(|f| f.kind == kind)
            .count()
    };
    w.audit(
        NewAuditEntry {
            kind: "drift.checked",
            actor: SYSTEM.into(),
            subject: run.run_id.clone(),
            data: serde_json::json!({
                "tools": run.tools.len(),
                "unmanaged_member": count(FindingKind::UnmanagedMember),
                "missing_member": count(FindingKind::MissingMember),
                "unknown_identity": count(FindingKind::UnknownIdentity),
                "errors": run.tools.iter().filter(|t| t.error.is_some()).count(),
                "remediation_jobs": opened,
                "remediate": config.remediate,
            }),
        },
        run.started_at,
    )?;
    Ok(run)
}

/// Why remediation of one tool holds back, if it must: a listing that came back empty while
/// grants are active (the IdP may be wrong), or more removals than the cap allows.
fn held(drift: &ToolDrift, jobs: &[Repair], config: DriftConfig) -> Option<String> {
    let missing = jobs.iter().filter(|j| j.0 == JobKind::Fulfil).count();
    if drift.members == 0 && missing > 0 {
        return Some(format!(
            "the IdP listed no members while {missing} grants are active; nothing was changed"
        ));
    }
    let removals = jobs.iter().filter(|j| j.0 == JobKind::Deprovision).count();
    // Counts are far below 2^52: the conversions are exact.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let cap = (drift.members as f64 * config.max_removal_share).floor() as usize;
    (removals > cap).then(|| {
        format!(
            "{removals} removals exceed the cap of {cap} ({}% of {} members); nothing was changed",
            config.max_removal_share * 100.0,
            drift.members
        )
    })
}

/// Opens each repairing job unless one of its kind is open for the same grant already.
fn repair(
    w: &mut WriteView,
    tool: &ToolId,
    jobs: &[Repair],
    at: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    let Some(tool) = w.tool(tool)? else {
        return Ok(0);
    };
    let mut opened = 0;
    for (kind, grant_id, user) in jobs {
        if !w.open_jobs_for_grant(grant_id, *kind)?.is_empty() {
            continue;
        }
        let job = Job::open_for(*kind, grant_id, user, &tool.id, tool.connector.clone(), at);
        w.put_job(&job)?;
        w.audit(
            NewAuditEntry {
                kind: "job.opened",
                actor: SYSTEM.into(),
                subject: job.job_id.clone(),
                data: serde_json::json!({
                    "kind": job.kind, "grant_id": job.grant_id, "user": job.user,
                    "tool": job.tool, "reason": "drift",
                }),
            },
            at,
        )?;
        opened += 1;
    }
    Ok(opened)
}
