//! The Jira site's configuration: write-only credentials and webhook secret sealed at rest,
//! every change audited without them, and a test call.

use super::super::auth::ANY_ROLE;
use super::super::{Actor, Service, ServiceError};
use crate::connect::JiraTarget;
use crate::domain::{DomainError, IntakeRecord, JiraRecord, JiraUpsert, JiraView};
use crate::service::connected::{check, configured_entry};
use crate::store::JiraQueries;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// What sealed Jira secrets are bound to.
const TOKEN_OWNER: &str = "jira:api_token";
const WEBHOOK_OWNER: &str = "jira:webhook_secret";

/// The answer of `POST /v1/integrations/jira/test`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JiraTest {
    /// Whether every check passed.
    pub ok: bool,
    /// Each check: `credentials`, then each intake project's reachability.
    pub checks: Vec<crate::service::ConnectorCheck>,
}

impl Service {
    /// Creates or replaces the Jira site; absent secrets keep the stored ones.
    pub fn put_jira(&self, actor: &Actor, body: JiraUpsert) -> Result<JiraView, ServiceError> {
        actor.require(&[], "configure Jira")?;
        let settings = body.into_settings()?;
        self.check_allowed("base_url", &settings.base_url)?;
        let now = self.clock.now();
        let secrets = self.store.secrets().clone();
        let seal =
            |owner: &str, s: &SecretString| secrets.seal(owner, s.expose_secret().as_bytes());
        let record = self.store.write(|w| {
            let old = w.jira_site()?;
            let (email, sealed_token) = match (&settings.credentials, &old) {
                (Some((email, token)), _) => (email.clone(), seal(TOKEN_OWNER, token)?),
                (None, Some(o)) => (o.email.clone(), o.sealed_token.clone()),
                (None, None) => return Err(DomainError::new("credentials", "is required").into()),
            };
            let intake = match &settings.intake {
                None => None,
                Some((input, secret)) => {
                    let old_secret = old.as_ref().and_then(|o| o.intake.as_ref());
                    let sealed_secret = match (secret, old_secret) {
                        (Some(s), _) => seal(WEBHOOK_OWNER, s)?,
                        (None, Some(o)) => o.sealed_secret.clone(),
                        (None, None) => {
                            return Err(
                                DomainError::new("intake.webhook_secret", "is required").into()
                            );
                        }
                    };
                    Some(IntakeRecord {
                        sealed_secret,
                        projects: input.projects.clone(),
                        request_types: input.request_types.clone(),
                        fields: input.fields.clone(),
                    })
                }
            };
            let record = JiraRecord {
                base_url: settings.base_url.clone(),
                email,
                sealed_token,
                comments: settings.comments,
                transitions: settings.transitions.clone(),
                recertification: settings.recertification.clone(),
                intake,
                max_attempts: settings.max_attempts,
                // Kept until new credentials or a new address come.
                refused_reason: old
                    .as_ref()
                    .filter(|o| settings.credentials.is_none() && o.base_url == settings.base_url)
                    .and_then(|o| o.refused_reason.clone()),
                updated_at: now,
            };
            w.put_jira_site(&record)?;
            if old.as_ref().is_some_and(|o| o.refused_reason.is_some())
                && record.refused_reason.is_none()
            {
                // The credentials were the trouble: what waited for them is due now.
                for d in w.due_deliveries(chrono::DateTime::<chrono::Utc>::MAX_UTC, usize::MAX)? {
                    let held = d
                        .next_attempt_at
                        .is_some_and(|at| at > now && at <= now + super::deliver::HOLD);
                    if held {
                        w.put_delivery(&crate::domain::Delivery {
                            next_attempt_at: Some(now),
                            ..d
                        })?;
                    }
                }
            }
            let view = JiraView::from(&record);
            let entry = configured_entry(
                "jira.configured",
                actor,
                "jira".into(),
                &view,
                settings.credentials.is_some(),
            );
            w.audit(entry, now)?;
            Ok::<_, ServiceError>(record)
        })?;
        Ok(JiraView::from(&record))
    }

    /// The Jira site, secrets shown only as `"set"`.
    pub fn jira(&self, actor: &Actor) -> Result<JiraView, ServiceError> {
        actor.require(ANY_ROLE, "read the Jira configuration")?;
        let record = self
            .store
            .read()?
            .jira_site()?
            .ok_or(ServiceError::NotFound("jira configuration"))?;
        Ok(JiraView::from(&record))
    }

    /// What to call for the site, with the token opened for this call only.
    pub(super) fn jira_target(&self, record: &JiraRecord) -> Result<JiraTarget, ServiceError> {
        Ok(JiraTarget {
            base_url: record.base_url.clone(),
            email: record.email.clone(),
            api_token: self.open_secret(TOKEN_OWNER, &record.sealed_token)?,
            revision: record.updated_at.to_rfc3339(),
        })
    }

    /// The webhook secret, opened.
    pub(super) fn webhook_secret(
        &self,
        intake: &IntakeRecord,
    ) -> Result<SecretString, ServiceError> {
        self.open_secret(WEBHOOK_OWNER, &intake.sealed_secret)
    }

    /// A sealed text secret of `owner`, opened.
    fn open_secret(&self, owner: &str, sealed: &str) -> Result<SecretString, ServiceError> {
        let bytes = self.store.secrets().open(owner, sealed)?;
        let text =
            String::from_utf8(bytes).map_err(|_| crate::secrets::SecretsError::Unopenable)?;
        Ok(SecretString::from(text))
    }

    /// Checks the credentials against the site. Changes nothing.
    pub async fn test_jira(&self, actor: &Actor) -> Result<JiraTest, ServiceError> {
        actor.require(&[], "test Jira")?;
        let record = self
            .store
            .read()?
            .jira_site()?
            .ok_or(ServiceError::NotFound("jira configuration"))?;
        let target = self.jira_target(&record)?;
        let answer = self.jira.client.myself(&target).await;
        let check = check("credentials", answer.map(|_| "accepted".into()));
        Ok(JiraTest {
            ok: check.ok,
            checks: vec![check],
        })
    }
}
