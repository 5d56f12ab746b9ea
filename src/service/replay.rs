//! Deciding recorded requests again: replay under the version that decided them, and what-if
//! under a candidate bundle.

use super::auth::ANY_ROLE;
use super::window::{Window, WindowLimits};
use super::{Actor, Service, ServiceError};
use crate::domain::{
    Decision, DecisionFacts, DomainError, PolicyFile, PolicyVersionId, RequestRecord, Role,
};
use crate::policy::{Bundle, PolicyEngine};
use crate::store::{DecisionQueries, DecisionWindow, Queries};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Compiled versions kept for replays; compiling takes milliseconds, a replay microseconds.
const CACHED_VERSIONS: usize = 16;
/// Recorded requests read per page while deciding a window again.
const PAGE: usize = 1_000;
/// The most changed decisions a what-if lists (all are counted).
pub const MAX_CHANGED: usize = 1_000;
/// What-if looks back this far when no window is given.
const WHAT_IF_DEFAULT_DAYS: i64 = 30;

/// Engines of past versions, compiled from their stored text.
#[derive(Debug, Default)]
pub(super) struct VersionEngines {
    engines: Mutex<HashMap<PolicyVersionId, Arc<PolicyEngine>>>,
}

impl VersionEngines {
    fn get(&self, version: &PolicyVersionId) -> Option<Arc<PolicyEngine>> {
        let engines = self.engines.lock().unwrap_or_else(PoisonError::into_inner);
        engines.get(version).cloned()
    }

    fn keep(&self, engine: Arc<PolicyEngine>) {
        let mut engines = self.engines.lock().unwrap_or_else(PoisonError::into_inner);
        if engines.len() >= CACHED_VERSIONS {
            engines.clear();
        }
        engines.insert(engine.version().clone(), engine);
    }
}

/// A recorded decision and the same request decided again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// The request.
    pub request_id: String,
    /// Its Jira issue key.
    pub issue_key: String,
    /// The version that decided it, whose text decided it again.
    #[schema(value_type = String)]
    pub policy_version: PolicyVersionId,
    /// True when the replay gave the same outcome, reviews, policies and reasons.
    pub matches: bool,
    /// What was recorded.
    #[schema(value_type = Object)]
    pub original: Decision,
    /// What the recorded version says now, on the recorded facts.
    #[schema(value_type = Object)]
    pub replayed: Decision,
}

/// The body of `POST /v1/policies/what-if`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfBody {
    /// The candidate's `*.cedar` files.
    #[serde(deserialize_with = "crate::domain::shape::objects")]
    pub files: Vec<PolicyFile>,
    /// The candidate's schema (default: the active version's).
    #[serde(default, deserialize_with = "crate::domain::shape::optional_object")]
    pub schema: Option<PolicyFile>,
    /// Requests decided at or after (default: 30 days before `to`).
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Requests decided before (default: now); at most 365 days after `from`.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
}

/// One request the candidate would decide differently.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Changed {
    /// The request.
    pub request_id: String,
    /// Its Jira issue key.
    pub issue_key: String,
    /// What was recorded.
    #[schema(value_type = Object)]
    pub before: Decision,
    /// What the candidate decides on the recorded facts.
    #[schema(value_type = Object)]
    pub after: Decision,
}

/// The effect of a candidate bundle on recorded requests.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhatIf {
    /// The candidate's version.
    #[schema(value_type = String)]
    pub candidate_version: PolicyVersionId,
    /// The window.
    pub from: DateTime<Utc>,
    /// The window's end.
    pub to: DateTime<Utc>,
    /// Requests decided again.
    pub evaluated: u64,
    /// How many would change.
    pub changed_count: u64,
    /// Those that would change, oldest first (at most 1,000).
    pub changed: Vec<Changed>,
}

/// Whether two decisions differ in substance: outcome, review stages or reason codes.
/// Reworded reasons or renamed policies alone are not a change.
fn differs(before: &Decision, after: &Decision) -> bool {
    let codes = |d: &Decision| d.reasons.iter().map(|r| r.code.clone()).collect::<Vec<_>>();
    before.outcome != after.outcome
        || before.required_reviews != after.required_reviews
        || codes(before) != codes(after)
}

impl Service {
    /// Decides a recorded request again with the recorded version's text on the recorded
    /// facts, and says whether the result matches what was recorded.
    pub fn replay(&self, actor: &Actor, id_or_key: &str) -> Result<Replayed, ServiceError> {
        actor.require(ANY_ROLE, "replay decisions")?;
        let request = self.request(actor, id_or_key)?;
        let recorded = &request.decision;
        let replayed = self.decide_under(&recorded.policy_version, &recorded.facts)?;
        Ok(Replayed {
            request_id: request.id.to_string(),
            issue_key: request.issue_key.to_string(),
            policy_version: recorded.policy_version.clone(),
            matches: replayed == recorded.decision,
            original: recorded.decision.clone(),
            replayed,
        })
    }

    /// Decides every request recorded in the window again under a candidate bundle (which
    /// is compiled and checked like a reload, but never activated) and lists each that
    /// would change.
    pub fn what_if(&self, actor: &Actor, body: WhatIfBody) -> Result<WhatIf, ServiceError> {
        actor.require(&[Role::Auditor], "run what-if")?;
        let window = Window::parse(body.from, body.to, self.clock.now(), WHAT_IF_LIMITS)?;
        let schema = match body.schema {
            Some(schema) => schema,
            None => self.policies.current().engine.schema_file().clone(),
        };
        let engine = PolicyEngine::compile(&Bundle::new(candidate_files(body.files)?, schema))?;
        let mut answer = WhatIf {
            candidate_version: engine.version().clone(),
            from: window.from,
            to: window.to,
            evaluated: 0,
            changed_count: 0,
            changed: Vec::new(),
        };
        let mut page = DecisionWindow {
            version: None,
            from: window.from,
            to: window.to,
            after: None,
        };
        loop {
            let requests = self.store.read()?.decisions(&page, PAGE)?;
            for request in &requests {
                answer.consider(request, engine.decide_request(&request.decision.facts)?);
            }
            match requests.last() {
                Some(last) if requests.len() == PAGE => page.after = Some(last.id.clone()),
                _ => return Ok(answer),
            }
        }
    }

    /// Decides `facts` under a stored version.
    fn decide_under(
        &self,
        version: &PolicyVersionId,
        facts: &DecisionFacts,
    ) -> Result<Decision, ServiceError> {
        let active = self.policies.current();
        if active.engine.version() == version {
            return Ok(active.engine.decide_request(facts)?);
        }
        let engine = match self.versions.get(version) {
            Some(engine) => engine,
            None => {
                let record = self
                    .store
                    .read()?
                    .policy_version(version)?
                    .ok_or(ServiceError::NotFound("policy version"))?;
                let bundle = Bundle::new(record.files, record.schema);
                let engine = Arc::new(PolicyEngine::compile(&bundle)?);
                self.versions.keep(engine.clone());
                engine
            }
        };
        Ok(engine.decide_request(facts)?)
    }
}

const WHAT_IF_LIMITS: WindowLimits = WindowLimits {
    default_days: WHAT_IF_DEFAULT_DAYS,
    max_days: super::export::MAX_WINDOW_DAYS,
};

impl WhatIf {
    fn consider(&mut self, request: &RequestRecord, after: Decision) {
        self.evaluated += 1;
        let before = &request.decision.decision;
        if !differs(before, &after) {
            return;
        }
        self.changed_count += 1;
        if self.changed.len() < MAX_CHANGED {
            self.changed.push(Changed {
                request_id: request.id.to_string(),
                issue_key: request.issue_key.to_string(),
                before: before.clone(),
                after,
            });
        }
    }
}

/// The candidate's files: at least one, each a distinct `*.cedar` name without folders.
fn candidate_files(files: Vec<PolicyFile>) -> Result<Vec<PolicyFile>, DomainError> {
    if files.is_empty() {
        return Err(DomainError::new(
            "files",
            "must hold at least one policy file",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for file in &files {
        let name = file.path.as_str();
        let plain = !name.contains(['/', '\\']) && !name.starts_with('.');
        if !plain || !name.ends_with(".cedar") || name.len() > 200 {
            return Err(DomainError::new(
                "files",
                format!("{name:?} must be a file name ending in .cedar"),
            ));
        }
        if !seen.insert(name) {
            return Err(DomainError::new("files", format!("{name:?} appears twice")));
        }
    }
    Ok(files)
}
