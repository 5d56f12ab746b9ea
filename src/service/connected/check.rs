//! `POST /v1/grants/{id}/check`: is the grant's user in the tool's group now, as the grant
//! says they should be?

use super::super::auth::ANY_ROLE;
use super::super::{Actor, Service, ServiceError};
use super::attempt::{Step, Usable};
use crate::domain::{GrantId, GrantState, ProviderCall};
use crate::store::{NewAuditEntry, Queries};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a membership check found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GrantCheck {
    /// The grant.
    #[schema(value_type = String)]
    pub grant_id: GrantId,
    /// Its state.
    pub state: GrantState,
    /// Whether the user is in the group now.
    pub member: bool,
    /// Whether they should be: `true` while active, `false` once ended, absent while the
    /// fulfilment is pending.
    pub expected: Option<bool>,
    /// Whether membership and grant agree (a pending grant agrees either way).
    pub ok: bool,
    /// The IdP's answer.
    pub provider: Option<ProviderCall>,
    /// When it was checked.
    pub checked_at: DateTime<Utc>,
}

impl Service {
    /// Asks the IdP whether the grant's user is in its tool's group, and records the answer.
    pub async fn check_grant(&self, actor: &Actor, id: &str) -> Result<GrantCheck, ServiceError> {
        actor.require(ANY_ROLE, "check grants")?;
        let grant_id = GrantId::parse("id", id)?;
        let read = self.store.read()?;
        let grant = read
            .grant(&grant_id)?
            .ok_or(ServiceError::NotFound("grant"))?;
        let tool = read
            .tool(&grant.tool)?
            .ok_or(ServiceError::NotFound("tool"))?;
        drop(read);
        let (record, target) = match self.usable(&tool.connector)? {
            Usable::Ready(ready) => *ready,
            Usable::Held(reason) | Usable::Unusable(reason) => {
                return Err(ServiceError::InvalidTransition(reason));
            }
        };
        let Some(group) = tool.connector.group_id() else {
            return Err(ServiceError::InvalidTransition(
                "the tool's group has not been created yet".into(),
            ));
        };
        let unavailable = |e: Step| match e {
            Step::Call(e) => ServiceError::IdpUnavailable(e.to_string()),
            Step::Store(e) => e,
        };
        let user = self
            .external_user(&grant.user, &record, &target)
            .await
            .map_err(unavailable)?;
        let (member, provider) = match user {
            None => (false, None),
            Some(user) => {
                let answer = self
                    .connected
                    .connectors
                    .is_member(&target, &group, &user)
                    .await
                    .map_err(|e| ServiceError::IdpUnavailable(e.to_string()))?;
                (answer.value, Some(answer.call))
            }
        };
        let expected = match grant.state {
            GrantState::Active => Some(true),
            GrantState::PendingProvision => None,
            _ => Some(false),
        };
        let check = GrantCheck {
            grant_id,
            state: grant.state,
            member,
            expected,
            ok: expected.is_none_or(|e| e == member),
            provider,
            checked_at: self.clock.now(),
        };
        let (by, recorded) = (actor.audit_name(), check.clone());
        self.writer
            .write_async(move |w| {
                w.audit(
                    NewAuditEntry {
                        kind: "grant.checked",
                        actor: by.clone(),
                        subject: recorded.grant_id.to_string(),
                        data: serde_json::json!({
                            "member": recorded.member, "expected": recorded.expected,
                            "ok": recorded.ok, "provider": recorded.provider,
                        }),
                    },
                    recorded.checked_at,
                )?;
                Ok(())
            })
            .await?;
        Ok(check)
    }
}
