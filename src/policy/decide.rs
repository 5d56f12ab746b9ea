//! Deciding a request: `request`, then `auto_approve`, then `require_review` per stage.

use super::PolicyError;
use super::engine::PolicyEngine;
use super::entities::Question;
use crate::domain::{Decision, DecisionFacts, Outcome, Reason};
use cedar_policy::{Authorizer, Context, Decision as CedarDecision, EntityUid, Request, Response};

impl PolicyEngine {
    /// Decides a request on `facts`. Deterministic: the same facts give the same decision.
    pub fn decide_request(&self, facts: &DecisionFacts) -> Result<Decision, PolicyError> {
        let q = self.request_question(facts)?;
        if let Some(denied) = self.refused(&q)? {
            return Ok(denied);
        }
        let auto = self.ask(&q, "auto_approve", &q.resource)?;
        if auto.decision() == CedarDecision::Allow {
            return Ok(self.concluded(Outcome::AutoApproved, [&auto], Vec::new()));
        }
        let mut required = Vec::new();
        let mut responses = Vec::new();
        for stage in &self.stages {
            let uid = self.types.uid(&self.types.stage, stage);
            let response = self.ask(&q, "require_review", &uid)?;
            if response.decision() == CedarDecision::Allow {
                required.push(stage.clone());
                responses.push(response);
            }
        }
        Ok(self.concluded(Outcome::NeedsReview, responses.iter(), required))
    }

    /// The denial, if `request` no longer lets this request into the workflow (asked again
    /// at approval); `None` when it may proceed.
    pub fn request_refused(&self, facts: &DecisionFacts) -> Result<Option<Decision>, PolicyError> {
        self.refused(&self.request_question(facts)?)
    }

    /// Asks `request`; the denial with its reasons, or `None` when permitted.
    fn refused(&self, q: &Question) -> Result<Option<Decision>, PolicyError> {
        let requested = self.ask(q, "request", &q.resource)?;
        Ok((requested.decision() == CedarDecision::Deny).then(|| self.denied(&requested)))
    }

    pub(super) fn ask(
        &self,
        q: &Question,
        action: &str,
        resource: &EntityUid,
    ) -> Result<Response, PolicyError> {
        self.authorize(
            q.principal.clone(),
            action,
            resource.clone(),
            q.context.clone(),
            &q.entities,
        )
    }

    /// One Cedar call; evaluation errors in single policies are logged, as Cedar skips them.
    pub(super) fn authorize(
        &self,
        principal: EntityUid,
        action: &str,
        resource: EntityUid,
        context: Context,
        entities: &cedar_policy::Entities,
    ) -> Result<Response, PolicyError> {
        let action_uid = self.types.uid(&self.types.action, action);
        let request = Request::new(principal, action_uid, resource, context, None)
            .map_err(|e| PolicyError::Evaluation(e.to_string()))?;
        let response =
            Authorizer::new().is_authorized(&request, self.policies_for(action), entities);
        for error in response.diagnostics().errors() {
            tracing::warn!(policy_version = %self.version, action, %error, "policy evaluation error");
        }
        Ok(response)
    }

    fn denied(&self, response: &Response) -> Decision {
        let mut decision = self.concluded(Outcome::Denied, [response], Vec::new());
        if decision.reasons.is_empty() {
            decision.reasons = self.no_permit();
        }
        decision
    }

    /// Cedar denies by default when nothing permits; say so rather than say nothing.
    pub(super) fn no_permit(&self) -> Vec<Reason> {
        vec![Reason {
            policy: String::new(),
            code: "no_permit".into(),
            message: "No policy permits this.".into(),
        }]
    }

    pub(super) fn concluded<'a>(
        &self,
        outcome: Outcome,
        responses: impl IntoIterator<Item = &'a Response>,
        required_reviews: Vec<String>,
    ) -> Decision {
        let ids: Vec<_> = responses
            .into_iter()
            .flat_map(|r| r.diagnostics().reason())
            .collect();
        let reasons = self.reasons(ids);
        let mut determining_policies: Vec<String> =
            reasons.iter().map(|r| r.policy.clone()).collect();
        determining_policies.dedup();
        Decision {
            outcome,
            determining_policies,
            reasons,
            required_reviews,
        }
    }
}
