//! Connector configuration: write-only credentials sealed at rest, every change audited
//! without them, and a test call that checks them against the IdP.

use super::super::auth::ANY_ROLE;
use super::super::{Actor, Service, ServiceError};
use crate::connect::{CallError, Target};
use crate::domain::{
    ConnectorId, ConnectorRecord, ConnectorUpsert, ConnectorView, Credentials, DomainError,
};
use crate::store::{ConnectedQueries, NewAuditEntry};
use serde::Serialize;

/// The answer of `POST /v1/connectors/{id}/test`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorTest {
    /// Whether every check passed.
    pub ok: bool,
    /// Each check.
    pub checks: Vec<ConnectorCheck>,
}

/// One check of a connector test.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorCheck {
    /// What was checked: `credentials`, or `group:<tool>` for each bound tool's group.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What the IdP said, sanitised.
    pub detail: String,
}

/// What sealed credentials are bound to: a sealed value copied to another connector does not
/// open.
fn owner(id: &ConnectorId) -> String {
    format!("connector:{id}")
}

impl Service {
    /// Creates or replaces a connector. New credentials are sealed; without them the stored
    /// ones are kept (when of the same type). A change that clears a refusal lets jobs run
    /// again.
    pub fn put_connector(
        &self,
        actor: &Actor,
        id: &str,
        body: ConnectorUpsert,
    ) -> Result<ConnectorView, ServiceError> {
        actor.require(&[], "configure connectors")?;
        let id = ConnectorId::parse("id", id)?;
        let now = self.clock.now();
        let secrets = self.store.secrets().clone();
        let record = self.store.write(|w| {
            let old = w.connector(&id)?;
            let settings = body
                .clone()
                .into_settings(id.clone(), old.as_ref().map(|o| o.kind))?;
            self.check_allowed("base_url", &settings.base_url)?;
            if let Some(url) = &settings.token_url {
                self.check_allowed("token_url", url)?;
            }
            let (sealed, fields) = match (&settings.credentials, &old) {
                (Some(c), _) => (
                    secrets.seal(&owner(&id), &c.to_plaintext())?,
                    c.field_names(),
                ),
                (None, Some(o)) => (o.sealed_credentials.clone(), o.credential_fields.clone()),
                (None, None) => return Err(DomainError::new("credentials", "is required").into()),
            };
            // New credentials, or a new address, are a fix: the refusal is cleared.
            let refusal_stands = settings.credentials.is_none()
                && old
                    .as_ref()
                    .is_some_and(|o| o.base_url == settings.base_url);
            let record = ConnectorRecord {
                id: id.clone(),
                kind: settings.kind,
                base_url: settings.base_url,
                token_url: settings.token_url,
                enabled: settings.enabled,
                max_attempts: settings.max_attempts,
                sealed_credentials: sealed,
                credential_fields: fields,
                refused_at: old
                    .as_ref()
                    .and_then(|o| o.refused_at)
                    .filter(|_| refusal_stands),
                refused_reason: old
                    .as_ref()
                    .and_then(|o| o.refused_reason.clone())
                    .filter(|_| refusal_stands),
                created_at: old.as_ref().map_or(now, |o| o.created_at),
                updated_at: now,
            };
            w.put_connector(&record)?;
            let was_held = old
                .as_ref()
                .is_some_and(|o| !o.enabled || o.refused_at.is_some());
            if was_held && record.enabled && record.refused_at.is_none() {
                release_held_jobs(w, &id, now)?;
            }
            let view = ConnectorView::from(&record);
            let entry = configured_entry(
                "connector.configured",
                actor,
                id.to_string(),
                &view,
                settings.credentials.is_some(),
            );
            w.audit(entry, now)?;
            Ok::<_, ServiceError>(record)
        })?;
        Ok(ConnectorView::from(&record))
    }

    /// Refuses an address whose host is not on the configured allowlist.
    pub(in crate::service) fn check_allowed(
        &self,
        field: &str,
        url: &url::Url,
    ) -> Result<(), DomainError> {
        let Some(allowed) = &self.config.connected.allowed_hosts else {
            return Ok(());
        };
        let host = url.host_str().unwrap_or_default();
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
            return Ok(());
        }
        Err(DomainError::new(
            field,
            format!("host {host} is not one connectors may call (--connector-hosts)"),
        ))
    }

    /// One connector, credentials shown only as `"set"`.
    pub fn connector(&self, actor: &Actor, id: &str) -> Result<ConnectorView, ServiceError> {
        actor.require(ANY_ROLE, "read connectors")?;
        let id = ConnectorId::parse("id", id)?;
        let record = self
            .store
            .read()?
            .connector(&id)?
            .ok_or(ServiceError::NotFound("connector"))?;
        Ok(ConnectorView::from(&record))
    }

    /// Every connector.
    pub fn connectors(&self, actor: &Actor) -> Result<Vec<ConnectorView>, ServiceError> {
        actor.require(ANY_ROLE, "read connectors")?;
        let records = self.store.read()?.connectors()?;
        Ok(records.iter().map(ConnectorView::from).collect())
    }

    /// What to call for `record`, with its credentials opened for this call only.
    pub(super) fn target(&self, record: &ConnectorRecord) -> Result<Target, ServiceError> {
        let plain = self
            .store
            .secrets()
            .open(&owner(&record.id), &record.sealed_credentials)?;
        let credentials =
            Credentials::from_plaintext(&plain).ok_or(crate::secrets::SecretsError::Unopenable)?;
        Ok(Target {
            id: record.id.clone(),
            kind: record.kind,
            base_url: record.base_url.clone(),
            token_url: record.token_url.clone(),
            credentials,
            revision: record.updated_at.to_rfc3339(),
        })
    }

    /// Checks a connector against its IdP: the credentials, and each bound tool's group.
    /// Changes nothing.
    pub async fn test_connector(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<ConnectorTest, ServiceError> {
        actor.require(&[], "test connectors")?;
        let id = ConnectorId::parse("id", id)?;
        let read = self.store.read()?;
        let record = read
            .connector(&id)?
            .ok_or(ServiceError::NotFound("connector"))?;
        let tools = read.tools_of(&id)?;
        drop(read);
        let target = self.target(&record)?;
        let connectors = &self.connected.connectors;
        let mut checks = vec![check(
            "credentials",
            connectors.whoami(&target).await.map(|_| "accepted".into()),
        )];
        if checks.iter().all(|c| c.ok) {
            for tool in tools {
                let Some(group) = tool.connector.group_id() else {
                    continue;
                };
                let listed = connectors.list_members(&target, &group).await;
                let found = listed.map(|a| format!("{} direct members", a.value.len()));
                checks.push(check(&format!("group:{}", tool.id), found));
            }
        }
        Ok(ConnectorTest {
            ok: checks.iter().all(|c| c.ok),
            checks,
        })
    }
}

/// The audit entry of a configuration change: the view as the API shows it (secrets only as
/// `"set"`) and whether the secrets were replaced.
pub(in crate::service) fn configured_entry(
    kind: &'static str,
    actor: &Actor,
    subject: String,
    view: &impl Serialize,
    secrets_changed: bool,
) -> NewAuditEntry {
    let mut data = serde_json::to_value(view).unwrap_or_default();
    if let Some(fields) = data.as_object_mut() {
        fields.insert("credentials_changed".into(), secrets_changed.into());
    }
    NewAuditEntry {
        kind,
        actor: actor.audit_name(),
        subject,
        data,
    }
}

/// A check named `name`: passed with the detail, or failed with the sanitised reason.
pub(in crate::service) fn check(name: &str, result: Result<String, CallError>) -> ConnectorCheck {
    match result {
        Ok(detail) => ConnectorCheck {
            name: name.into(),
            ok: true,
            detail,
        },
        Err(e) => ConnectorCheck {
            name: name.into(),
            ok: false,
            detail: e.to_string(),
        },
    }
}

/// Makes the jobs a held connector put off due now, once it may be called again. Held jobs
/// are put off by [`super::HOLD`]; one backing off for longer keeps its wait.
fn release_held_jobs(
    w: &mut crate::store::WriteView,
    id: &ConnectorId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    for job in w.due_jobs(chrono::DateTime::<chrono::Utc>::MAX_UTC, usize::MAX)? {
        let held = job
            .next_attempt_at
            .is_some_and(|at| at > now && at <= now + super::HOLD);
        if held && job.connector.managed_by() == Some(id) {
            w.put_job(&crate::domain::Job {
                next_attempt_at: Some(now),
                ..job
            })?;
        }
    }
    Ok(())
}
