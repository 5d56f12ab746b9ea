//! Facts to Cedar: the entity slice and the context of a request decision.

use super::PolicyError;
use super::engine::{PolicyEngine, Types};
use crate::domain::{DecisionFacts, ToolFacts, UserFacts};
use cedar_policy::{Context, Entities, Entity, EntityUid, RestrictedExpression};
use std::collections::{HashMap, HashSet};

fn text(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn long(n: impl Into<i64>) -> RestrictedExpression {
    RestrictedExpression::new_long(n.into())
}

fn eval_error(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Evaluation(e.to_string())
}

impl Types {
    /// The requester and every group they reach, with the group hierarchy as parents.
    fn user_entities(&self, user: &UserFacts) -> Result<Vec<Entity>, PolicyError> {
        let mut attrs = HashMap::from([("email".to_owned(), text(user.email.as_str()))]);
        if let Some(department) = &user.department {
            attrs.insert("department".into(), text(department));
        }
        if let Some(manager) = &user.manager {
            let uid = self.uid(&self.user, manager.as_str());
            attrs.insert("manager".into(), RestrictedExpression::new_entity_uid(uid));
        }
        let parents: HashSet<EntityUid> = user
            .groups
            .iter()
            .map(|g| self.uid(&self.group, g.as_str()))
            .collect();
        let mut entities = vec![
            Entity::new(self.uid(&self.user, user.email.as_str()), attrs, parents)
                .map_err(eval_error)?,
        ];
        for (group, parents) in &user.group_parents {
            let parents = parents
                .iter()
                .map(|p| self.uid(&self.group, p.as_str()))
                .collect();
            entities.push(Entity::new_no_attrs(
                self.uid(&self.group, group.as_str()),
                parents,
            ));
        }
        Ok(entities)
    }

    fn tool_entity(&self, tool: &ToolFacts) -> Result<Entity, PolicyError> {
        let attrs = HashMap::from([
            ("name".to_owned(), text(&tool.name)),
            ("provider".to_owned(), text(&tool.provider)),
            ("status".to_owned(), text(&tool.status)),
            ("risk".to_owned(), text(&tool.risk)),
            (
                "default_duration_days".to_owned(),
                long(tool.default_duration_days),
            ),
            (
                "in_catalog".to_owned(),
                RestrictedExpression::new_bool(tool.in_catalog),
            ),
        ]);
        Entity::new(
            self.uid(&self.tool, tool.id.as_str()),
            attrs,
            HashSet::new(),
        )
        .map_err(eval_error)
    }
}

/// The Cedar view of one request's facts.
pub(super) struct RequestSlice {
    pub entities: Entities,
    pub principal: EntityUid,
    pub tool: EntityUid,
    pub context: Context,
}

impl PolicyEngine {
    /// Builds the entity slice and context for `request`, `auto_approve` and `require_review`.
    pub(super) fn request_slice(&self, facts: &DecisionFacts) -> Result<RequestSlice, PolicyError> {
        let t = &self.types;
        let mut entities = t.user_entities(&facts.user)?;
        entities.push(t.tool_entity(&facts.tool)?);
        let entities = Entities::from_entities(entities, None).map_err(eval_error)?;
        let principal = t.uid(&t.user, facts.user.email.as_str());
        let tool = t.uid(&t.tool, facts.tool.id.as_str());
        let c = &facts.context;
        let active = i64::try_from(c.active_grants_for_tool).unwrap_or(i64::MAX);
        let context = Context::from_pairs([
            ("duration_days".to_owned(), long(c.duration_days)),
            ("purpose".to_owned(), text(&c.purpose)),
            ("purpose_length".to_owned(), long(c.purpose_length)),
            ("project".to_owned(), text(&c.project)),
            ("request_type".to_owned(), text(&c.request_type)),
            (
                "has_open_request".to_owned(),
                RestrictedExpression::new_bool(c.has_open_request),
            ),
            (
                "has_open_grant".to_owned(),
                RestrictedExpression::new_bool(c.has_open_grant),
            ),
            ("active_grants_for_tool".to_owned(), long(active)),
            (
                "tool".to_owned(),
                RestrictedExpression::new_entity_uid(tool.clone()),
            ),
        ])
        .map_err(eval_error)?;
        Ok(RequestSlice {
            entities,
            principal,
            tool,
            context,
        })
    }
}
