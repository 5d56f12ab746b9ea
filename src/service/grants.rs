//! Grants: reading them, fulfilling, revoking and extending.

pub(super) use super::transitions::record_new_grant;

use super::auth::ANY_ROLE;
use super::facts::{recorded_tool_facts, user_facts};
use super::jobs::complete_job;
use super::{Actor, Service, ServiceError, transitions};
use crate::domain::formats;
use crate::domain::grant::expiry_label;
use crate::domain::{Email, ExtendFacts, Grant, GrantId, GrantState, JobKind, JobOutcome, Role};
use crate::store::{GrantFilter, LifecycleQueries, Queries, ReadView};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The roles that carry out and change grants.
pub(super) const OPERATORS: &[Role] = &[Role::Approver, Role::Automation];
/// The most grants one listing returns.
const MAX_LIST: usize = 500;
/// The body of `POST /v1/grants/{id}/revoke`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    /// Why, for the record.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::NoteText>)]
    pub reason: Option<String>,
}

/// The body of `POST /v1/grants/{id}/extend`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// Days to add.
    #[serde(deserialize_with = "crate::domain::number::whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub days: i64,
    /// Who asks, when the token is not bound to a person; defaults to the grant's holder.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub requested_by: Option<String>,
}

/// A grant with how long it has left.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessEntry {
    /// The grant.
    #[serde(flatten)]
    pub grant: Grant,
    /// `expired`, `expires today`, `expires tomorrow`, `N days remaining`; null before
    /// fulfilment.
    pub expiry_label: Option<String>,
}

/// Parses a number of days to add.
pub(super) fn parse_days(field: &str, days: i64) -> Result<u32, ServiceError> {
    Ok(crate::domain::catalog::duration_days(field, days)?)
}

fn whole_days_up(d: Duration) -> i64 {
    let ms = d.num_milliseconds().max(0);
    ms.div_euclid(86_400_000) + i64::from(ms.rem_euclid(86_400_000) > 0)
}

/// The grant as it would be after adding `days` at `now`, and the facts `extend` is asked on.
/// An expired grant (or one past its expiry the sweep has not reached) restarts from `now`.
pub(super) fn extension(
    read: &ReadView,
    grant: &Grant,
    by: &Email,
    days: u32,
    now: DateTime<Utc>,
) -> Result<(Grant, ExtendFacts), ServiceError> {
    let lapsed = grant.expires_at.is_some_and(|e| e <= now);
    let state = if lapsed && grant.state == GrantState::Active {
        GrantState::Expired
    } else {
        grant.state
    };
    let base = grant.expires_at.map(|e| e.max(now)).unwrap_or(now);
    let expires_at = base + Duration::days(i64::from(days));
    let start = grant.starts_at.unwrap_or(now);
    let facts = ExtendFacts {
        actor: user_facts(read, by)?,
        grant_id: grant.grant_id.clone(),
        holder: grant.user.clone(),
        tool: recorded_tool_facts(read, &grant.tool, None)?,
        state: state.as_str().to_owned(),
        requested_days: days,
        total_days_after: whole_days_up(expires_at - start),
        days_since_expiry: grant.expires_at.map_or(0, |e| whole_days_up(now - e)),
    };
    let extended = Grant {
        state: GrantState::Active,
        expires_at: Some(expires_at),
        extended_days: grant.extended_days.saturating_add(days),
        ended_at: None,
        end_reason: None,
        ..grant.clone()
    };
    Ok((extended, facts))
}

impl Service {
    /// Grants matching `filter`.
    pub fn grants(
        &self,
        actor: &Actor,
        mut filter: GrantFilter,
    ) -> Result<crate::domain::page::Page<Grant>, ServiceError> {
        actor.require(ANY_ROLE, "read grants")?;
        filter.limit = filter.limit.clamp(1, MAX_LIST);
        Ok(self.store.read()?.grants(&filter)?)
    }

    /// A user's grants pending provision or active, with expiry labels.
    pub fn access(&self, actor: &Actor, email: &str) -> Result<Vec<AccessEntry>, ServiceError> {
        actor.require(ANY_ROLE, "read grants")?;
        let user = Email::parse("email", email)?;
        let now = self.clock.now();
        let filter = GrantFilter {
            user: Some(user),
            limit: MAX_LIST,
            ..GrantFilter::default()
        };
        let grants = self.store.read()?.grants(&filter)?;
        Ok(grants
            .items
            .into_iter()
            .filter(Grant::is_open)
            .map(|grant| AccessEntry {
                expiry_label: expiry_label(grant.expires_at, now),
                grant,
            })
            .collect())
    }

    /// Manual fulfilment confirmed: completes the grant's fulfilment job, making it active.
    pub fn fulfill(&self, actor: &Actor, id: &str) -> Result<Grant, ServiceError> {
        actor.require(OPERATORS, "fulfil grants")?;
        let id = GrantId::parse("id", id)?;
        let now = self.clock.now();
        self.store.write(|w| {
            let grant = w.grant(&id)?.ok_or(ServiceError::NotFound("grant"))?;
            let job = w
                .open_jobs_for_grant(&id, JobKind::Fulfil)?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    ServiceError::InvalidTransition(format!(
                        "grant {id} is {}, with no open fulfilment job",
                        grant.state.as_str()
                    ))
                })?;
            complete_job(w, &actor.audit_name(), &job, JobOutcome::Fulfilled, now)?;
            Ok(w.grant(&id)?.unwrap_or(grant))
        })
    }

    /// Revokes an open grant and opens its deprovision job.
    pub fn revoke(&self, actor: &Actor, id: &str, body: RevokeBody) -> Result<Grant, ServiceError> {
        actor.require(OPERATORS, "revoke grants")?;
        let id = GrantId::parse("id", id)?;
        let reason = formats::optional_text(&formats::NOTE, "reason", body.reason)?;
        let now = self.clock.now();
        self.store.write(|w| {
            let grant = w.grant(&id)?.ok_or(ServiceError::NotFound("grant"))?;
            transitions::end(
                w,
                &actor.audit_name(),
                &grant,
                GrantState::Revoked,
                reason,
                now,
            )
        })
    }

    /// Extends a grant by `days` if the `extend` policies permit it; 403 with reasons if not.
    pub fn extend(&self, actor: &Actor, id: &str, body: ExtendBody) -> Result<Grant, ServiceError> {
        actor.require(OPERATORS, "extend grants")?;
        let id = GrantId::parse("id", id)?;
        let days = parse_days("days", body.days)?;
        let grant = self
            .store
            .read()?
            .grant(&id)?
            .ok_or(ServiceError::NotFound("grant"))?;
        let by = match (&actor.subject, body.requested_by.as_deref()) {
            (None, None) => grant.user.clone(),
            (_, named) => self.acting_person(actor, "requested_by", named)?,
        };
        self.extend_as(actor, &grant, &by, days)
    }

    /// Asks `extend` for `by` and records the extension; shared with recertification.
    pub(super) fn extend_as(
        &self,
        actor: &Actor,
        grant: &Grant,
        by: &Email,
        days: u32,
    ) -> Result<Grant, ServiceError> {
        let policy = self.policies.current();
        let now = self.clock.now();
        let (extended, facts) = extension(&self.store.read()?, grant, by, days, now)?;
        let verdict = policy.engine.may_extend(&facts)?;
        if !verdict.allowed {
            return Err(ServiceError::NotPermitted {
                code: "extension_not_permitted",
                message: "the policies do not permit this extension",
                reasons: verdict.reasons,
            });
        }
        self.store.write(|w| {
            if w.grant(&grant.grant_id)?.as_ref() != Some(grant) {
                return Err(ServiceError::InvalidTransition(
                    "the grant changed while the extension was decided; retry".into(),
                ));
            }
            let version = policy.engine.version();
            transitions::extend(w, &actor.audit_name(), grant, &extended, version, now)?;
            Ok(extended)
        })
    }
}
