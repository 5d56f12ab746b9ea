//! Tokens and roles: who is calling, and may they.

use super::{Service, ServiceError};
use crate::domain::{Email, Role, TokenRecord};
use crate::store::{NewAuditEntry, Queries};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Token id (`bootstrap` for `CLEARANCE_ADMIN_TOKEN`).
    pub token_id: String,
    /// Role.
    pub role: Role,
    /// The user the token is bound to.
    pub subject: Option<Email>,
}

impl Actor {
    /// The actor as named in the audit log.
    pub fn audit_name(&self) -> String {
        match &self.subject {
            Some(user) => format!("token:{} ({user})", self.token_id),
            None => format!("token:{}", self.token_id),
        }
    }

    /// Refuses unless the role is one of `roles` (admin may do everything).
    pub fn require(&self, roles: &[Role], action: &'static str) -> Result<(), ServiceError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(action))
        }
    }
}

/// Every role: for reads any token may make.
pub const ANY_ROLE: &[Role] = &[Role::Admin, Role::Approver, Role::Auditor, Role::Automation];

/// The body of `POST /v1/tokens`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The role.
    pub role: Role,
    /// The user the token acts as.
    #[serde(default)]
    #[schema(value_type = Option<crate::domain::formats::EmailText>)]
    pub subject: Option<String>,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Service {
    /// Finds the caller by bearer secret.
    pub fn authenticate(&self, secret: &str) -> Result<Actor, ServiceError> {
        // Digests compared, not the secrets: the time taken says nothing about the token.
        let digest = hash(secret);
        if self
            .config
            .admin_token
            .as_deref()
            .is_some_and(|t| hash(t) == digest)
        {
            return Ok(Actor {
                token_id: "bootstrap".into(),
                role: Role::Admin,
                subject: None,
            });
        }
        let record = self
            .store
            .read()?
            .token(&digest)?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok(Actor {
            token_id: record.id,
            role: record.role,
            subject: record.subject,
        })
    }

    /// Creates a token; the secret is returned once and stored only as a hash.
    pub fn create_token(&self, actor: &Actor, body: NewToken) -> Result<String, ServiceError> {
        actor.require(&[], "create tokens")?;
        let subject = match body.subject {
            Some(s) => Some(Email::parse("subject", &s)?),
            None => None,
        };
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| ServiceError::Unavailable)?;
        let secret = format!("clr_{}", hex::encode(bytes));
        let digest = hash(&secret);
        let now = self.clock.now();
        let record = TokenRecord {
            id: format!("tok_{}", digest.get(..12).unwrap_or_default()),
            role: body.role,
            subject,
            created_at: now,
            created_by: actor.audit_name(),
        };
        self.store.write(|w| {
            w.put_token(&digest, &record)?;
            w.audit(
                NewAuditEntry {
                    kind: "token.created",
                    actor: actor.audit_name(),
                    subject: record.id.clone(),
                    data: serde_json::json!({"role": record.role, "subject": record.subject}),
                },
                now,
            )?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(secret)
    }
}
