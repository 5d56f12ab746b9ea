//! Tokens and roles: who is calling, and may they.

use super::{Service, ServiceError};
use crate::domain::{Email, Role};
use crate::store::Queries;
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

/// The hex SHA-256 of a token secret: what is stored, and what a caller is looked up by.
pub(super) fn hash(secret: &str) -> String {
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
        let now = self.clock.now();
        if !record.live_at(now) {
            return Err(ServiceError::Unauthenticated);
        }
        self.token_uses.record(&record.id, now);
        Ok(Actor {
            token_id: record.id,
            role: record.role,
            subject: record.subject,
        })
    }
}
