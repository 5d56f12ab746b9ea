//! Policy tests: JSON cases in `policies/tests/*.json`, run by `clearance policy test`.
//!
//! A file holds an array of cases:
//! ```json
//! [{"name": "low-risk tools are auto-approved",
//!   "principal": {"type": "Clearance::User", "id": "alice@example.com"},
//!   "action": "auto_approve",
//!   "resource": {"type": "Clearance::Tool", "id": "grammarly"},
//!   "context": {"duration_days": 30, …},
//!   "entities": [ … Cedar JSON entities … ],
//!   "expect": {"decision": "allow", "determining": ["auto-approve-low-risk"]}}]
//! ```
//! `determining` is optional; when given, it must equal the determining policy ids as a set.

use super::engine::PolicyEngine;
use cedar_policy::{Context, Decision, Entities, EntityUid};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// One policy test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What the case shows.
    pub name: String,
    /// Cedar JSON entity reference of the principal.
    pub principal: serde_json::Value,
    /// Action name in the `Clearance` namespace.
    pub action: String,
    /// Cedar JSON entity reference of the resource.
    pub resource: serde_json::Value,
    /// The context record.
    #[serde(default)]
    pub context: serde_json::Value,
    /// Cedar JSON entities.
    #[serde(default)]
    pub entities: serde_json::Value,
    /// The expected answer.
    pub expect: Expectation,
}

/// The expected answer of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// `allow` or `deny`.
    pub decision: ExpectedDecision,
    /// Determining policy ids, when the case pins them.
    #[serde(default)]
    pub determining: Option<BTreeSet<String>>,
}

/// `allow` or `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedDecision {
    /// Permitted.
    Allow,
    /// Not permitted.
    Deny,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// `file: case name`.
    pub label: String,
    /// `None` when it passed, otherwise what went wrong.
    pub failure: Option<String>,
}

/// Reads every `*.json` file in `dir` (sorted) and runs its cases.
pub fn run_dir(engine: &PolicyEngine, dir: &Path) -> Result<Vec<CaseResult>, String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut results = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {file}: {e}"))?;
        let cases: Vec<TestCase> =
            serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        for case in cases {
            results.push(CaseResult {
                label: format!("{file}: {}", case.name),
                failure: engine.run_case(&case).err(),
            });
        }
    }
    Ok(results)
}

impl PolicyEngine {
    /// Runs one case; `Err` says how the answer differed or why the case is malformed.
    pub fn run_case(&self, case: &TestCase) -> Result<(), String> {
        let uid = |what: &str, v: &serde_json::Value| {
            EntityUid::from_json(v.clone()).map_err(|e| format!("{what}: {e}"))
        };
        let principal = uid("principal", &case.principal)?;
        let resource = uid("resource", &case.resource)?;
        let action = self.types.uid(&self.types.action, &case.action);
        let context = match &case.context {
            serde_json::Value::Null => Context::empty(),
            value => Context::from_json_value(value.clone(), Some((&self.schema, &action)))
                .map_err(|e| format!("context: {e}"))?,
        };
        let entities = match &case.entities {
            serde_json::Value::Null => Entities::empty(),
            value => Entities::from_json_value(value.clone(), Some(&self.schema))
                .map_err(|e| format!("entities: {e}"))?,
        };
        let response = self
            .authorize(principal, &case.action, resource, context, &entities)
            .map_err(|e| e.to_string())?;
        let got = match response.decision() {
            Decision::Allow => ExpectedDecision::Allow,
            Decision::Deny => ExpectedDecision::Deny,
        };
        let determining: BTreeSet<String> = self
            .reasons(response.diagnostics().reason())
            .into_iter()
            .map(|r| r.policy)
            .collect();
        let decision_ok = got == case.expect.decision;
        let determining_ok = case
            .expect
            .determining
            .as_ref()
            .is_none_or(|want| *want == determining);
        if decision_ok && determining_ok {
            Ok(())
        } else {
            Err(format!(
                "expected {:?} by {:?}, got {got:?} by {determining:?}",
                case.expect.decision,
                case.expect.determining.clone().unwrap_or_default(),
            ))
        }
    }
}
