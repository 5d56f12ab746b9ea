//! Compiling a bundle into something that can decide.

use super::diagnostics::PolicyDiagnostic;
use super::lint::{PolicyMeta, policy_meta, policy_starts};
use super::{Bundle, BundleFile, PolicyError};
use crate::domain::{PolicyVersionId, Reason};
use cedar_policy::{
    EntityId, EntityTypeName, EntityUid, Policy, PolicyId, PolicySet, Schema, ValidationMode,
    Validator,
};
use std::collections::HashMap;
use std::str::FromStr;

/// The Cedar namespace of the vocabulary.
pub const NAMESPACE: &str = "Clearance";

/// Entity type names of the vocabulary, resolved once.
#[derive(Debug, Clone)]
pub(super) struct Types {
    pub user: EntityTypeName,
    pub group: EntityTypeName,
    pub tool: EntityTypeName,
    pub stage: EntityTypeName,
    pub request: EntityTypeName,
    pub grant: EntityTypeName,
    pub action: EntityTypeName,
}

impl Types {
    fn new() -> Result<Self, PolicyError> {
        let name = |n: &str| {
            EntityTypeName::from_str(&format!("{NAMESPACE}::{n}"))
                .map_err(|e| PolicyError::Evaluation(e.to_string()))
        };
        Ok(Self {
            user: name("User")?,
            group: name("Group")?,
            tool: name("Tool")?,
            stage: name("ReviewStage")?,
            request: name("AccessRequest")?,
            grant: name("Grant")?,
            action: name("Action")?,
        })
    }

    pub fn uid(&self, ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }
}

/// A validated bundle, ready to decide.
#[derive(Debug)]
pub struct PolicyEngine {
    pub(super) version: PolicyVersionId,
    pub(super) schema: Schema,
    pub(super) policies: PolicySet,
    /// The policies that can apply to each action: Cedar evaluates every policy it is given,
    /// so each call gets only those whose action scope can match.
    by_action: HashMap<String, PolicySet>,
    pub(super) meta: HashMap<PolicyId, PolicyMeta>,
    pub(super) stages: Vec<String>,
    pub(super) types: Types,
    files: Vec<BundleFile>,
    schema_file: BundleFile,
}

/// A parsed policy with where it came from.
struct Located {
    policy: Policy,
    /// (index of the file in the bundle, index of the policy in the file)
    position: (usize, usize),
    meta: PolicyMeta,
}

impl PolicyEngine {
    /// Parses, lints and strictly validates `bundle`; any problem or warning refuses it.
    pub fn compile(bundle: &Bundle) -> Result<Self, PolicyError> {
        let mut problems = Vec::new();
        let schema = parse_schema(&bundle.schema, &mut problems);
        let located = parse_files(&bundle.files, &mut problems);

        let mut policies = PolicySet::new();
        let mut meta = HashMap::new();
        let mut position_of = HashMap::new();
        for item in located {
            let id = PolicyId::new(&item.meta.id);
            let file = bundle.files.get(item.position.0);
            if let Err(e) = policies.add(item.policy.new_id(id.clone())) {
                let path = file.map_or("", |f| f.path.as_str());
                problems.push(PolicyDiagnostic::at(path, "", None, e.to_string()));
                continue;
            }
            position_of.insert(id.clone(), item.position);
            meta.insert(id, item.meta);
        }

        let Some(schema) = schema else {
            return Err(PolicyError::Invalid(problems));
        };
        validate(&schema, &policies, bundle, &position_of, &mut problems);
        if !problems.is_empty() {
            return Err(PolicyError::Invalid(problems));
        }
        let types = Types::new()?;
        let stages = review_stages(&policies, &position_of, &types);
        let by_action = split_by_action(&policies, &types)?;
        Ok(Self {
            version: bundle.version(),
            schema,
            policies,
            by_action,
            meta,
            stages,
            types,
            files: bundle.files.clone(),
            schema_file: bundle.schema.clone(),
        })
    }

    /// The version of the bundle this engine was compiled from.
    pub fn version(&self) -> &PolicyVersionId {
        &self.version
    }

    /// The policy files this engine was compiled from.
    pub fn files(&self) -> &[BundleFile] {
        &self.files
    }

    /// The schema file this engine was compiled with.
    pub fn schema_file(&self) -> &BundleFile {
        &self.schema_file
    }

    /// Review stages the policies name, in the order they first appear in the bundle.
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// Ids of every policy, sorted.
    pub fn policy_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.meta.values().map(|m| m.id.clone()).collect();
        ids.sort();
        ids
    }

    /// The policies to evaluate for `action`.
    pub(super) fn policies_for(&self, action: &str) -> &PolicySet {
        self.by_action.get(action).unwrap_or(&self.policies)
    }

    /// Reasons for the given determining policies, from their annotations.
    pub(super) fn reasons<'a>(&self, ids: impl IntoIterator<Item = &'a PolicyId>) -> Vec<Reason> {
        let mut reasons: Vec<Reason> = ids
            .into_iter()
            .filter_map(|id| self.meta.get(id))
            .map(|m| Reason {
                policy: m.id.clone(),
                code: m.code.clone(),
                message: m.reason.clone(),
            })
            .collect();
        reasons.sort_by(|a, b| a.policy.cmp(&b.policy));
        reasons.dedup();
        reasons
    }
}

fn parse_schema(file: &BundleFile, problems: &mut Vec<PolicyDiagnostic>) -> Option<Schema> {
    match Schema::from_cedarschema_str(&file.content) {
        Ok((schema, warnings)) => {
            let before = problems.len();
            for w in warnings {
                problems.push(PolicyDiagnostic::from_cedar(&file.path, &file.content, &w));
            }
            (problems.len() == before).then_some(schema)
        }
        Err(e) => {
            problems.push(PolicyDiagnostic::from_cedar(&file.path, &file.content, &e));
            None
        }
    }
}

fn parse_files(files: &[BundleFile], problems: &mut Vec<PolicyDiagnostic>) -> Vec<Located> {
    let mut located = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let set = match PolicySet::from_str(&file.content) {
            Ok(set) => set,
            Err(errors) => {
                for e in errors.iter() {
                    problems.push(PolicyDiagnostic::from_cedar(&file.path, &file.content, e));
                }
                continue;
            }
        };
        if set.templates().next().is_some() {
            problems.push(PolicyDiagnostic::at(
                &file.path,
                &file.content,
                None,
                "policy templates are not supported".into(),
            ));
        }
        let starts = policy_starts(&file.content);
        // Parsed ids are `policy0`, `policy1`, … in file order.
        let mut numbered: Vec<(usize, &Policy)> =
            set.policies().map(|p| (ordinal(p.id()), p)).collect();
        numbered.sort_by_key(|(n, _)| *n);
        for (n, policy) in numbered {
            let at = |message| {
                PolicyDiagnostic::at(&file.path, &file.content, starts.get(n).copied(), message)
            };
            match policy_meta(|key| policy.annotation(key), at) {
                Ok(meta) => located.push(Located {
                    policy: policy.clone(),
                    position: (index, n),
                    meta,
                }),
                Err(mut p) => problems.append(&mut p),
            }
        }
    }
    located
}

fn ordinal(id: &PolicyId) -> usize {
    id.to_string()
        .trim_start_matches("policy")
        .parse()
        .unwrap_or(usize::MAX)
}

fn validate(
    schema: &Schema,
    policies: &PolicySet,
    bundle: &Bundle,
    position_of: &HashMap<PolicyId, (usize, usize)>,
    problems: &mut Vec<PolicyDiagnostic>,
) {
    let result = Validator::new(schema.clone()).validate(policies, ValidationMode::Strict);
    let locate = |id: &PolicyId| {
        position_of
            .get(id)
            .and_then(|(i, _)| bundle.files.get(*i))
            .map_or(("", ""), |f| (f.path.as_str(), f.content.as_str()))
    };
    for e in result.validation_errors() {
        let (file, text) = locate(e.policy_id());
        problems.push(PolicyDiagnostic::from_cedar(file, text, e));
    }
    for w in result.validation_warnings() {
        let (file, text) = locate(w.policy_id());
        problems.push(PolicyDiagnostic::from_cedar(file, text, w));
    }
}

/// The actions of the vocabulary; a policy scoped to none of them applies to all.
const ACTIONS: [&str; 5] = [
    "request",
    "auto_approve",
    "require_review",
    "approve",
    "extend",
];

fn split_by_action(
    policies: &PolicySet,
    types: &Types,
) -> Result<HashMap<String, PolicySet>, PolicyError> {
    let mut sets: HashMap<String, PolicySet> = ACTIONS
        .iter()
        .map(|a| ((*a).to_owned(), PolicySet::new()))
        .collect();
    for policy in policies.policies() {
        let applies: Vec<EntityUid> = match policy.action_constraint() {
            cedar_policy::ActionConstraint::Any => ACTIONS
                .iter()
                .map(|a| types.uid(&types.action, a))
                .collect(),
            cedar_policy::ActionConstraint::In(uids) => uids,
            cedar_policy::ActionConstraint::Eq(uid) => vec![uid],
        };
        for uid in applies {
            if let Some(set) = sets.get_mut(uid.id().unescaped()) {
                set.add(policy.clone())
                    .map_err(|e| PolicyError::Evaluation(e.to_string()))?;
            }
        }
    }
    Ok(sets)
}

/// Every `ReviewStage` the policies name, in bundle order (file, then position in file).
fn review_stages(
    policies: &PolicySet,
    position_of: &HashMap<PolicyId, (usize, usize)>,
    types: &Types,
) -> Vec<String> {
    let mut ordered: Vec<&Policy> = policies.policies().collect();
    ordered.sort_by_key(|p| position_of.get(p.id()).copied());
    let mut stages: Vec<String> = Vec::new();
    for policy in ordered {
        let mut uids = policy.entity_literals();
        if let cedar_policy::ResourceConstraint::Eq(uid) = policy.resource_constraint() {
            uids.push(uid);
        }
        for uid in uids {
            let id = uid.id().unescaped().to_owned();
            if uid.type_name() == &types.stage && !stages.contains(&id) {
                stages.push(id);
            }
        }
    }
    stages
}
