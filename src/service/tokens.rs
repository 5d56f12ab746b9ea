//! Token lifecycle: create (the secret shown once), list (never a secret), revoke at once.

use super::auth::hash;
use super::{Actor, Service, ServiceError};
use crate::domain::{DomainError, Email, Role, TokenRecord, formats};
use crate::store::{NewAuditEntry, Queries};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// The longest a token may be made to last, in days.
pub const MAX_TOKEN_DAYS: i64 = 3650;

/// The body of `POST /v1/tokens`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The role.
    pub role: Role,
    /// The user the token acts as; must be a known user.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub subject: Option<String>,
    /// Days until it stops being accepted (1 to 3,650); never when absent.
    #[serde(default, deserialize_with = "crate::domain::number::optional_whole")]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

/// A new token: its id, and its secret, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// The token's public id.
    pub id: String,
    /// The secret.
    pub secret: String,
}

/// When each token was last accepted since the server started. Kept in memory, so that
/// authenticating stays a read; [`Service::tokens`] shows the later of this and the record.
#[derive(Debug, Default)]
pub struct TokenUses(Mutex<HashMap<String, DateTime<Utc>>>);

impl TokenUses {
    // Only whole entries are written under the lock: a poisoned one holds nothing half-made.
    fn uses(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes that token `id` was accepted at `at`.
    pub fn record(&self, id: &str, at: DateTime<Utc>) {
        let mut uses = self.uses();
        let last = uses.entry(id.to_owned()).or_insert(at);
        *last = (*last).max(at);
    }

    fn last(&self, id: &str) -> Option<DateTime<Utc>> {
        let uses = self.uses();
        uses.get(id).copied()
    }

    fn forget(&self, id: &str) {
        let mut uses = self.uses();
        uses.remove(id);
    }
}

impl Service {
    /// Creates a token; the secret is returned once and stored only as a hash.
    pub fn create_token(
        &self,
        actor: &Actor,
        body: NewToken,
    ) -> Result<CreatedToken, ServiceError> {
        actor.require(&[], "create tokens")?;
        let subject = match body.subject {
            Some(s) => Some(self.known_user("subject", &s)?),
            None => None,
        };
        let now = self.clock.now();
        let expires_at = match body.expires_in_days {
            Some(days) if (1..=MAX_TOKEN_DAYS).contains(&days) => {
                Some(now + chrono::Duration::days(days))
            }
            Some(_) => {
                let message = format!("must be between 1 and {MAX_TOKEN_DAYS}");
                return Err(DomainError::new("expires_in_days", message).into());
            }
            None => None,
        };
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| ServiceError::Unavailable)?;
        let secret = format!("clr_{}", hex::encode(bytes));
        let digest = hash(&secret);
        let record = TokenRecord {
            id: format!("tok_{}", digest.get(..12).unwrap_or_default()),
            role: body.role,
            subject,
            created_at: now,
            created_by: actor.audit_name(),
            expires_at,
            last_used_at: None,
        };
        self.store.write(|w| {
            w.put_token(&digest, &record)?;
            let data = serde_json::json!({
                "role": record.role, "subject": record.subject, "expires_at": record.expires_at,
            });
            w.audit(entry("token.created", actor, &record.id, data), now)?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(CreatedToken {
            id: record.id,
            secret,
        })
    }

    /// Every token, oldest first, with when it was last used; never a secret or its hash.
    pub fn tokens(&self, actor: &Actor) -> Result<Vec<TokenRecord>, ServiceError> {
        actor.require(&[], "list tokens")?;
        let mut tokens: Vec<TokenRecord> = self
            .store
            .read()?
            .tokens()?
            .into_iter()
            .map(|(_, mut record)| {
                record.last_used_at = record.last_used_at.max(self.token_uses.last(&record.id));
                record
            })
            .collect();
        tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(tokens)
    }

    /// Revokes token `id` at once: the next call with it is refused.
    pub fn revoke_token(&self, actor: &Actor, id: &str) -> Result<TokenRecord, ServiceError> {
        actor.require(&[], "revoke tokens")?;
        let id =
            formats::TOKEN_ID.check("id", id, "must be a token id (tok_ and 12 hex digits)")?;
        let now = self.clock.now();
        let revoked = self.store.write(|w| {
            let (digest, record) = w
                .tokens()?
                .into_iter()
                .find(|(_, record)| record.id == id)
                .ok_or(ServiceError::NotFound("token"))?;
            w.remove_token(&digest)?;
            let data = serde_json::json!({"role": record.role, "subject": record.subject});
            w.audit(entry("token.revoked", actor, &record.id, data), now)?;
            Ok::<_, ServiceError>(record)
        })?;
        self.token_uses.forget(id);
        Ok(revoked)
    }

    /// The directory user `raw` names; a person who is not in the directory is refused.
    pub(super) fn known_user(&self, field: &str, raw: &str) -> Result<Email, ServiceError> {
        let email = Email::parse(field, raw)?;
        match self.store.read()?.user(&email)? {
            Some(_) => Ok(email),
            None => Err(ServiceError::UnknownUser(field.to_owned())),
        }
    }
}

fn entry(kind: &'static str, actor: &Actor, token: &str, data: serde_json::Value) -> NewAuditEntry {
    NewAuditEntry {
        kind,
        actor: actor.audit_name(),
        subject: token.to_owned(),
        data,
    }
}
