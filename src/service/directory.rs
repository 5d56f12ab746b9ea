//! The directory use cases: users and nested groups.

use super::auth::ANY_ROLE;
use super::{Actor, Service, ServiceError};
use crate::domain::{DomainError, Email, Group, GroupId, GroupUpsert, User, UserUpsert};
use crate::store::{NewAuditEntry, Queries};

impl Service {
    /// Creates or replaces a user.
    pub fn put_user(
        &self,
        actor: &Actor,
        email: &str,
        body: UserUpsert,
    ) -> Result<User, ServiceError> {
        actor.require(&[], "manage the directory")?;
        let user = body.into_user(Email::parse("email", email)?)?;
        let now = self.clock.now();
        self.store.write(|w| {
            // In the write transaction, as for groups: no concurrent change slips a cycle in.
            if let Some(manager) = &user.manager {
                refuse_manager_cycle(w, &user.email, manager)?;
            }
            w.put_user(&user)?;
            w.audit(
                NewAuditEntry {
                    kind: "user.upserted",
                    actor: actor.audit_name(),
                    subject: user.email.to_string(),
                    data: serde_json::to_value(&user).unwrap_or_default(),
                },
                now,
            )?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(user)
    }

    /// One user.
    pub fn user(&self, actor: &Actor, email: &str) -> Result<User, ServiceError> {
        actor.require(ANY_ROLE, "read the directory")?;
        let email = Email::parse("email", email)?;
        self.store
            .read()?
            .user(&email)?
            .ok_or(ServiceError::NotFound("user"))
    }

    /// Creates or replaces a group; a group may not end up inside itself.
    pub fn put_group(
        &self,
        actor: &Actor,
        id: &str,
        body: GroupUpsert,
    ) -> Result<Group, ServiceError> {
        actor.require(&[], "manage the directory")?;
        let group = body.into_group(GroupId::parse("id", id)?)?;
        let now = self.clock.now();
        self.store.write(|w| {
            // The write transaction sees every committed group, so no concurrent update
            // can slip a cycle past this check.
            let ancestors = w.group_ancestry(&group.parents)?;
            if ancestors.iter().any(|(g, _)| *g == group.id) {
                return Err(DomainError::new(
                    "parents",
                    format!("would put group {} inside itself", group.id),
                )
                .into());
            }
            w.put_group(&group)?;
            w.audit(
                NewAuditEntry {
                    kind: "group.upserted",
                    actor: actor.audit_name(),
                    subject: group.id.to_string(),
                    data: serde_json::to_value(&group).unwrap_or_default(),
                },
                now,
            )?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(group)
    }
}

/// The most managers above a user the cycle check walks; deeper chains are refused too.
const MAX_MANAGER_CHAIN: usize = 1000;

/// Refuses making `manager` the manager of `user` when `user` already manages `manager`,
/// directly or through others.
fn refuse_manager_cycle(
    read: &impl Queries,
    user: &Email,
    manager: &Email,
) -> Result<(), ServiceError> {
    let mut next = Some(manager.clone());
    for _ in 0..MAX_MANAGER_CHAIN {
        let Some(current) = next else {
            return Ok(());
        };
        if current == *user {
            let message = format!("would make {user} their own manager through {manager}");
            return Err(DomainError::new("manager", message).into());
        }
        next = read.user(&current)?.and_then(|u| u.manager);
    }
    Err(DomainError::new("manager", "the chain of managers above is too long").into())
}
