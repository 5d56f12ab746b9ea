//! Users' identities at the IdPs: mapped by an admin, or looked up by email and remembered.

use super::super::auth::ANY_ROLE;
use super::super::{Actor, Service, ServiceError};
use crate::domain::{ConnectorId, Email, ExternalId, Identity, IdentitySource};
use crate::store::{ConnectedQueries, NewAuditEntry, WriteView};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The body of `PUT /v1/users/{email}/identities/{connector_id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityBody {
    /// The user's id at the IdP (Okta user id, Entra object id).
    #[schema(value_type = crate::domain::formats::IdpIdText)]
    pub external_id: String,
}

/// Records `identity` with its audit entry, unless it is already recorded as it is. The
/// external id may belong to one user only at a connector.
pub(super) fn record_identity(
    w: &mut WriteView,
    by: &str,
    identity: &Identity,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if let Some(holder) = w.user_by_external(&identity.connector_id, &identity.external_id)?
        && holder != identity.user
    {
        return Err(ServiceError::InvalidTransition(format!(
            "{} is already the identity of {holder} at connector {}",
            identity.external_id, identity.connector_id
        )));
    }
    let old = w.identity(&identity.user, &identity.connector_id)?;
    if old
        .as_ref()
        .is_some_and(|o| o.external_id == identity.external_id && o.source == identity.source)
    {
        return Ok(());
    }
    w.put_identity(identity)?;
    w.audit(
        NewAuditEntry {
            kind: "identity.recorded",
            actor: by.to_owned(),
            subject: identity.user.to_string(),
            data: serde_json::json!({
                "connector_id": identity.connector_id,
                "external_id": identity.external_id,
                "source": identity.source,
                "previous_external_id": old.map(|o| o.external_id),
            }),
        },
        at,
    )?;
    Ok(())
}

impl Service {
    /// Maps `email` to its identity at `connector`'s IdP, replacing a looked-up one.
    pub fn put_identity(
        &self,
        actor: &Actor,
        email: &str,
        connector: &str,
        body: IdentityBody,
    ) -> Result<Identity, ServiceError> {
        actor.require(&[], "map identities")?;
        let identity = Identity {
            user: Email::parse("email", email)?,
            connector_id: ConnectorId::parse("connector_id", connector)?,
            external_id: ExternalId::parse("external_id", &body.external_id)?,
            source: IdentitySource::Explicit,
            recorded_at: self.clock.now(),
        };
        self.store.write(|w| {
            if w.connector(&identity.connector_id)?.is_none() {
                return Err(ServiceError::NotFound("connector"));
            }
            record_identity(w, &actor.audit_name(), &identity, identity.recorded_at)
        })?;
        Ok(identity)
    }

    /// Every known identity of `email`.
    pub fn identities(&self, actor: &Actor, email: &str) -> Result<Vec<Identity>, ServiceError> {
        actor.require(ANY_ROLE, "read identities")?;
        let user = Email::parse("email", email)?;
        Ok(self.store.read()?.identities_of(&user)?)
    }
}
