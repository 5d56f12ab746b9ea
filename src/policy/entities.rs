//! Facts to Cedar: entity slices and contexts.

use super::PolicyError;
use super::engine::{PolicyEngine, Types};
use crate::domain::{ApprovalFacts, DecisionFacts, ExtendFacts, ToolFacts, UserFacts};
use cedar_policy::{Context, Entities, Entity, EntityUid, RestrictedExpression};
use std::collections::{HashMap, HashSet};

pub(super) fn text(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

pub(super) fn long(n: impl Into<i64>) -> RestrictedExpression {
    RestrictedExpression::new_long(n.into())
}

pub(super) fn eval_error(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Evaluation(e.to_string())
}

/// Collects entities once each (an approver may also be the requester).
pub(super) struct Slice<'t> {
    types: &'t Types,
    entities: HashMap<EntityUid, Entity>,
}

impl<'t> Slice<'t> {
    pub fn new(types: &'t Types) -> Self {
        Self {
            types,
            entities: HashMap::new(),
        }
    }

    /// Adds a user and every group they reach; returns the user's uid.
    pub fn user(&mut self, user: &UserFacts) -> Result<EntityUid, PolicyError> {
        let t = self.types;
        let uid = t.uid(&t.user, user.email.as_str());
        let mut attrs = HashMap::from([("email".to_owned(), text(user.email.as_str()))]);
        if let Some(department) = &user.department {
            attrs.insert("department".into(), text(department));
        }
        if let Some(manager) = &user.manager {
            let manager = t.uid(&t.user, manager.as_str());
            attrs.insert(
                "manager".into(),
                RestrictedExpression::new_entity_uid(manager),
            );
        }
        let parents = user
            .groups
            .iter()
            .map(|g| t.uid(&t.group, g.as_str()))
            .collect();
        let entity = Entity::new(uid.clone(), attrs, parents).map_err(eval_error)?;
        self.entities.insert(uid.clone(), entity);
        for (group, parents) in &user.group_parents {
            let parents = parents
                .iter()
                .map(|p| t.uid(&t.group, p.as_str()))
                .collect();
            let gid = t.uid(&t.group, group.as_str());
            self.entities
                .insert(gid.clone(), Entity::new_no_attrs(gid, parents));
        }
        Ok(uid)
    }

    /// Adds a tool; returns its uid.
    pub fn tool(&mut self, tool: &ToolFacts) -> Result<EntityUid, PolicyError> {
        let t = self.types;
        let uid = t.uid(&t.tool, tool.id.as_str());
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
        self.record(uid, attrs)
    }

    /// Adds an entity with attributes and no parents.
    pub fn record(
        &mut self,
        uid: EntityUid,
        attrs: HashMap<String, RestrictedExpression>,
    ) -> Result<EntityUid, PolicyError> {
        let entity = Entity::new(uid.clone(), attrs, HashSet::new()).map_err(eval_error)?;
        self.entities.insert(uid.clone(), entity);
        Ok(uid)
    }

    pub fn build(self) -> Result<Entities, PolicyError> {
        Entities::from_entities(self.entities.into_values(), None).map_err(eval_error)
    }
}

fn context(pairs: Vec<(&str, RestrictedExpression)>) -> Result<Context, PolicyError> {
    Context::from_pairs(pairs.into_iter().map(|(k, v)| (k.to_owned(), v))).map_err(eval_error)
}

/// The Cedar view of one question: who, about what, in which context.
pub(super) struct Question {
    pub entities: Entities,
    pub principal: EntityUid,
    pub resource: EntityUid,
    pub context: Context,
}

impl PolicyEngine {
    /// Entities and context for `request`, `auto_approve` and `require_review`.
    pub(super) fn request_question(&self, facts: &DecisionFacts) -> Result<Question, PolicyError> {
        let mut slice = Slice::new(&self.types);
        let principal = slice.user(&facts.user)?;
        let tool = slice.tool(&facts.tool)?;
        let c = &facts.context;
        let active = i64::try_from(c.active_grants_for_tool).unwrap_or(i64::MAX);
        let context = context(vec![
            ("duration_days", long(c.duration_days)),
            ("purpose", text(&c.purpose)),
            ("purpose_length", long(c.purpose_length)),
            ("project", text(&c.project)),
            ("request_type", text(&c.request_type)),
            (
                "has_open_request",
                RestrictedExpression::new_bool(c.has_open_request),
            ),
            (
                "has_open_grant",
                RestrictedExpression::new_bool(c.has_open_grant),
            ),
            ("active_grants_for_tool", long(active)),
            ("tool", RestrictedExpression::new_entity_uid(tool.clone())),
        ])?;
        Ok(Question {
            entities: slice.build()?,
            principal,
            resource: tool,
            context,
        })
    }

    /// Entities for `approve` (the context names the stage, so it is built per stage).
    pub(super) fn approval_slice(
        &self,
        facts: &ApprovalFacts,
    ) -> Result<(Entities, EntityUid, EntityUid), PolicyError> {
        let t = &self.types;
        let mut slice = Slice::new(t);
        let requester = slice.user(&facts.requester)?;
        let approver = slice.user(&facts.approver)?;
        let tool = slice.tool(&facts.tool)?;
        let request = slice.record(
            t.uid(&t.request, &facts.request_id),
            HashMap::from([
                (
                    "requester".to_owned(),
                    RestrictedExpression::new_entity_uid(requester),
                ),
                (
                    "tool".to_owned(),
                    RestrictedExpression::new_entity_uid(tool),
                ),
                ("duration_days".to_owned(), long(facts.duration_days)),
                ("purpose".to_owned(), text(&facts.purpose)),
                ("issue_key".to_owned(), text(&facts.issue_key)),
            ]),
        )?;
        Ok((slice.build()?, approver, request))
    }

    /// The context of `approve` for one stage.
    pub(super) fn approval_context(
        &self,
        facts: &ApprovalFacts,
        stage: &str,
    ) -> Result<Context, PolicyError> {
        let t = &self.types;
        let prior = facts
            .prior_approvers
            .iter()
            .map(|e| RestrictedExpression::new_entity_uid(t.uid(&t.user, e.as_str())));
        context(vec![
            ("stage", text(stage)),
            ("prior_approvers", RestrictedExpression::new_set(prior)),
        ])
    }

    /// Entities and context for `extend`.
    pub(super) fn extend_question(&self, facts: &ExtendFacts) -> Result<Question, PolicyError> {
        let t = &self.types;
        let mut slice = Slice::new(t);
        let principal = slice.user(&facts.actor)?;
        let tool = slice.tool(&facts.tool)?;
        let holder = t.uid(&t.user, facts.holder.as_str());
        let resource = slice.record(
            t.uid(&t.grant, facts.grant_id.as_str()),
            HashMap::from([
                (
                    "user".to_owned(),
                    RestrictedExpression::new_entity_uid(holder),
                ),
                (
                    "tool".to_owned(),
                    RestrictedExpression::new_entity_uid(tool),
                ),
                ("state".to_owned(), text(&facts.state)),
            ]),
        )?;
        let context = context(vec![
            ("requested_days", long(facts.requested_days)),
            ("total_days_after", long(facts.total_days_after)),
            ("days_since_expiry", long(facts.days_since_expiry)),
        ])?;
        Ok(Question {
            entities: slice.build()?,
            principal,
            resource,
            context,
        })
    }
}
