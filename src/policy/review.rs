//! The review actions: which stage an approver may sign off, and whether a grant may be
//! extended.

use super::PolicyError;
use super::engine::PolicyEngine;
use crate::domain::{ApprovalFacts, ExtendFacts, Outcome, StageVerdict, Verdict};
use cedar_policy::{Decision as CedarDecision, Response};

impl PolicyEngine {
    /// The first of `remaining` (in stage order) that Cedar permits the approver to sign off.
    /// When none is permitted, the verdict carries the forbids' reasons from every stage.
    pub fn approvable_stage(
        &self,
        facts: &ApprovalFacts,
        remaining: &[String],
    ) -> Result<StageVerdict, PolicyError> {
        let (entities, approver, request) = self.approval_slice(facts)?;
        let mut refusals: Vec<Response> = Vec::new();
        for stage in remaining {
            let context = self.approval_context(facts, stage)?;
            let response = self.authorize(
                approver.clone(),
                "approve",
                request.clone(),
                context,
                &entities,
            )?;
            if response.decision() == CedarDecision::Allow {
                return Ok(StageVerdict {
                    stage: Some(stage.clone()),
                    verdict: self.verdict(true, [&response]),
                });
            }
            refusals.push(response);
        }
        Ok(StageVerdict {
            stage: None,
            verdict: self.verdict(false, refusals.iter()),
        })
    }

    /// May this grant be extended as asked?
    pub fn may_extend(&self, facts: &ExtendFacts) -> Result<Verdict, PolicyError> {
        let q = self.extend_question(facts)?;
        let response = self.ask(&q, "extend", &q.resource)?;
        let allowed = response.decision() == CedarDecision::Allow;
        Ok(self.verdict(allowed, [&response]))
    }

    fn verdict<'a>(
        &self,
        allowed: bool,
        responses: impl IntoIterator<Item = &'a Response>,
    ) -> Verdict {
        let responses: Vec<&Response> = responses.into_iter().collect();
        let decision = if allowed {
            self.concluded(Outcome::AutoApproved, responses, Vec::new())
        } else {
            let mut denied = self.concluded(Outcome::Denied, responses, Vec::new());
            if denied.reasons.is_empty() {
                denied.reasons = self.no_permit();
            }
            denied
        };
        Verdict {
            allowed,
            determining_policies: decision.determining_policies,
            reasons: decision.reasons,
        }
    }
}
