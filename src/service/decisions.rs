//! Auditors' questions about policy versions: which version decided what, when each was in
//! force, and what changed between two.

use super::auth::ANY_ROLE;
use super::window::Window;
use super::{Actor, Service, ServiceError};
use crate::domain::{
    FileDiff, PolicySource, PolicyVersionId, PolicyVersionRecord, RequestId, RequestRecord,
};
use crate::store::{DecisionQueries, DecisionWindow, Queries};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The most decisions one page returns.
pub const MAX_DECISIONS: usize = 1_000;

/// Which decisions to list.
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    /// Only those made by this version (64 hex digits or its sequence number).
    pub policy_version: Option<String>,
    /// Made at or after (default: the beginning).
    pub from: Option<DateTime<Utc>>,
    /// Made at or before (default: now).
    pub to: Option<DateTime<Utc>>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// A page of decisions, oldest first.
#[derive(Debug, Clone)]
pub struct DecisionPage {
    /// The requests, each with its recorded decision.
    pub decisions: Vec<RequestRecord>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<RequestId>,
}

/// One period a version was in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyPeriod {
    /// The version.
    #[schema(value_type = String)]
    pub version: PolicyVersionId,
    /// Its sequence number.
    pub seq: u64,
    /// When it became active.
    pub from: DateTime<Utc>,
    /// When the next activation replaced it; `null` while it is in force.
    pub to: Option<DateTime<Utc>>,
    /// Who activated it.
    pub activated_by: String,
    /// Where it was loaded from.
    pub source: PolicySource,
    /// Requests it decided in this period.
    pub decisions: u64,
}

/// The per-file differences between two versions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyDiff {
    /// The older side.
    #[schema(value_type = String)]
    pub from: PolicyVersionId,
    /// Its sequence number.
    pub from_seq: u64,
    /// The newer side.
    #[schema(value_type = String)]
    pub to: PolicyVersionId,
    /// Its sequence number.
    pub to_seq: u64,
    /// Files that differ; the same files are left out.
    pub files: Vec<FileDiff>,
}

impl Service {
    /// Recorded decisions, oldest first, by window and optionally by version.
    pub fn decisions(
        &self,
        actor: &Actor,
        filter: DecisionFilter,
    ) -> Result<DecisionPage, ServiceError> {
        actor.require(ANY_ROLE, "read decisions")?;
        let read = self.store.read()?;
        let version = match filter.policy_version.as_deref() {
            Some(raw) => Some(version_ref(&read, "policy_version", raw)?.version),
            None => None,
        };
        let Window { from, to } = Window::ordered(
            filter.from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            filter.to.unwrap_or_else(|| self.clock.now()),
        )?;
        let after = filter
            .after
            .map(|a| RequestId::parse("after", &a))
            .transpose()?;
        let limit = crate::domain::page::page_limit(filter.limit, 100, MAX_DECISIONS)?;
        let window = DecisionWindow {
            version,
            from,
            to,
            after,
        };
        let decisions = read.decisions(&window, limit)?;
        let next = decisions
            .last()
            .filter(|_| decisions.len() == limit)
            .map(|r| r.id.clone());
        Ok(DecisionPage { decisions, next })
    }

    /// Every activation, oldest first, with the period it was in force and how many
    /// requests the version decided in it.
    pub fn policy_history(&self, actor: &Actor) -> Result<Vec<PolicyPeriod>, ServiceError> {
        actor.require(ANY_ROLE, "read policies")?;
        let read = self.store.read()?;
        let activations = read.policy_activations()?;
        let ends = activations.iter().skip(1).map(|a| Some(a.at)).chain([None]);
        let mut periods = Vec::with_capacity(activations.len());
        for (activation, to) in activations.iter().zip(ends) {
            let window = DecisionWindow {
                version: Some(activation.version.clone()),
                from: activation.at,
                // Up to the next activation; a decision made at that very millisecond went
                // to whichever version it started under, so count it by version.
                to: to.unwrap_or_else(|| self.clock.now()),
                after: None,
            };
            periods.push(PolicyPeriod {
                version: activation.version.clone(),
                seq: activation.seq,
                from: activation.at,
                to,
                activated_by: activation.actor.clone(),
                source: activation.source.clone(),
                decisions: read.count_decisions(&window)?,
            });
        }
        Ok(periods)
    }

    /// The unified diff of every file that differs between two versions, each named by
    /// its 64-hex version or its sequence number.
    pub fn policy_diff(
        &self,
        actor: &Actor,
        from: &str,
        to: &str,
    ) -> Result<PolicyDiff, ServiceError> {
        actor.require(ANY_ROLE, "read policies")?;
        let read = self.store.read()?;
        let old = version_ref(&read, "from", from)?;
        let new = version_ref(&read, "to", to)?;
        Ok(PolicyDiff {
            files: old.diff(&new),
            from: old.version,
            from_seq: old.seq,
            to: new.version,
            to_seq: new.seq,
        })
    }
}

/// A stored version named by its 64-hex version or its sequence number.
fn version_ref(
    read: &impl Queries,
    field: &str,
    raw: &str,
) -> Result<PolicyVersionRecord, ServiceError> {
    let found = match raw.parse::<u64>() {
        // A 64-hex version of digits only does not fit a u64, so it is never taken for a seq.
        Ok(seq) => read.policy_version_by_seq(seq)?,
        _ => read.policy_version(&PolicyVersionId::parse(field, raw)?)?,
    };
    found.ok_or(ServiceError::NotFound("policy version"))
}
