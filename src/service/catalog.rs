//! The tool catalog use cases.

use super::auth::ANY_ROLE;
use super::seed::{SEED_CATALOG, SEED_STATUS};
use super::{Actor, Service, ServiceError};
use crate::domain::{Connector, Tool, ToolId, ToolStatus, ToolUpsert};
use crate::store::{NewAuditEntry, Queries};

impl Service {
    /// Creates or replaces a catalog entry.
    pub fn put_tool(
        &self,
        actor: &Actor,
        id: &str,
        body: ToolUpsert,
    ) -> Result<Tool, ServiceError> {
        actor.require(&[], "manage the catalog")?;
        let tool = body.into_tool(ToolId::parse("id", id)?)?;
        let now = self.clock.now();
        self.store.write(|w| {
            w.put_tool(&tool)?;
            w.audit(
                NewAuditEntry {
                    kind: "tool.upserted",
                    actor: actor.audit_name(),
                    subject: tool.id.to_string(),
                    data: serde_json::to_value(&tool).unwrap_or_default(),
                },
                now,
            )?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(tool)
    }

    /// One catalog entry.
    pub fn tool(&self, actor: &Actor, id: &str) -> Result<Tool, ServiceError> {
        actor.require(ANY_ROLE, "read the catalog")?;
        let id = ToolId::parse("id", id)?;
        self.store
            .read()?
            .tool(&id)?
            .ok_or(ServiceError::NotFound("tool"))
    }

    /// The catalog; only `approved` tools when `requestable_only`.
    pub fn tools(&self, actor: &Actor, requestable_only: bool) -> Result<Vec<Tool>, ServiceError> {
        actor.require(ANY_ROLE, "read the catalog")?;
        let mut tools = self.store.read()?.tools()?;
        if requestable_only {
            tools.retain(|t| t.status == ToolStatus::Approved);
        }
        Ok(tools)
    }

    /// Adds the built-in catalog, leaving existing entries as they are; returns the added ids.
    pub fn seed_tools(&self, actor: &Actor) -> Result<Vec<ToolId>, ServiceError> {
        actor.require(&[], "manage the catalog")?;
        let now = self.clock.now();
        self.store.write(|w| {
            let mut added = Vec::new();
            for seed in SEED_CATALOG {
                let id = ToolId::parse("id", seed.id)?;
                if w.tool(&id)?.is_some() {
                    continue;
                }
                w.put_tool(&Tool {
                    id: id.clone(),
                    name: seed.name.to_owned(),
                    provider: seed.provider.to_owned(),
                    status: SEED_STATUS,
                    risk: seed.risk,
                    default_duration_days: seed.default_duration_days,
                    guidance: None,
                    connector: Connector::default(),
                    aliases: Vec::new(),
                })?;
                added.push(id);
            }
            w.audit(
                NewAuditEntry {
                    kind: "tool.seeded",
                    actor: actor.audit_name(),
                    subject: "catalog".into(),
                    data: serde_json::json!({ "added": added }),
                },
                now,
            )?;
            Ok(added)
        })
    }
}
