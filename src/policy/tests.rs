//! Unit tests of compiling and deciding with the shipped pack.

use super::{Bundle, BundleFile, PolicyEngine, PolicyError};
use crate::domain::{
    DecisionFacts, Email, GroupId, Outcome, RequestContextFacts, ToolFacts, ToolId, UserFacts,
};
use std::path::Path;

fn shipped() -> Bundle {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Bundle::load(
        &root.join("policies"),
        &root.join("schemas/clearance.cedarschema"),
    )
    .expect("shipped bundle loads")
}

fn facts(risk: &str, days: u32, employee: bool) -> DecisionFacts {
    let groups = if employee {
        vec![GroupId::parse("g", "employees").expect("group")]
    } else {
        vec![]
    };
    DecisionFacts {
        user: UserFacts {
            email: Email::parse("e", "alice@example.com").expect("email"),
            department: None,
            manager: Some(Email::parse("m", "bob@example.com").expect("email")),
            group_parents: groups.iter().map(|g| (g.clone(), vec![])).collect(),
            groups,
        },
        tool: ToolFacts {
            id: ToolId::parse("t", "some-tool").expect("tool"),
            name: "Some tool".into(),
            provider: "Vendor".into(),
            status: "approved".into(),
            risk: risk.into(),
            default_duration_days: 30,
            in_catalog: true,
        },
        context: RequestContextFacts {
            duration_days: days,
            purpose: "Drafting".into(),
            purpose_length: 8,
            project: String::new(),
            request_type: String::new(),
            has_open_request: false,
            has_open_grant: false,
            active_grants_for_tool: 0,
        },
    }
}

#[test]
fn shipped_pack_compiles_with_stages_in_bundle_order() {
    let engine = PolicyEngine::compile(&shipped()).expect("compiles");
    assert_eq!(engine.stages(), ["manager", "security"]);
}

#[test]
fn decides_the_defaults() {
    let engine = PolicyEngine::compile(&shipped()).expect("compiles");
    let auto = engine
        .decide_request(&facts("low", 30, true))
        .expect("decides");
    assert_eq!(auto.outcome, Outcome::AutoApproved);
    assert_eq!(auto.determining_policies, ["auto-approve-low-risk"]);

    let high = engine
        .decide_request(&facts("high", 30, true))
        .expect("decides");
    assert_eq!(high.outcome, Outcome::NeedsReview);
    assert_eq!(high.required_reviews, ["manager", "security"]);

    let long = engine
        .decide_request(&facts("high", 31, true))
        .expect("decides");
    assert_eq!(long.outcome, Outcome::Denied);
    assert_eq!(long.reasons[0].code, "duration_exceeds_max");
}

#[test]
fn broken_policies_are_refused_with_file_and_line() {
    let mut bundle = shipped();
    bundle.files.push(BundleFile {
        path: "zz-broken.cedar".into(),
        content: "@id(\"x\")\n@code(\"x\")\n@reason(\"x\")\nforbid (principal, action, resource)\nwhen { resource.nope == 1 };\n".into(),
    });
    let Err(PolicyError::Invalid(problems)) = PolicyEngine::compile(&bundle) else {
        panic!("a policy naming an undeclared attribute must be refused");
    };
    assert_eq!(problems[0].file, "zz-broken.cedar");
    assert_eq!(problems[0].line, Some(5), "{problems:?}");
}

#[test]
fn policies_without_annotations_are_refused() {
    let mut bundle = shipped();
    bundle.files.push(BundleFile {
        path: "zz-bare.cedar".into(),
        content: "\n\npermit (principal, action, resource);\n".into(),
    });
    let Err(PolicyError::Invalid(problems)) = PolicyEngine::compile(&bundle) else {
        panic!("a policy without annotations must be refused");
    };
    assert!(problems.iter().all(|p| p.line == Some(3)), "{problems:?}");
    assert_eq!(problems.len(), 3);
}
