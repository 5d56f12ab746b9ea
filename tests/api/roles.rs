//! Every route called with every role, checked against README's route-by-route roles table:
//! the table is what the server does.

use crate::helpers::{ADMIN_TOKEN, TestApp, request_body, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// `(method, path, roles that may call it)` from README's table, in the order
/// admin, approver, auditor, automation.
fn readme_table() -> Vec<(Method, String, [bool; 4])> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("| route | admin | approver | auditor | automation |")
        .unwrap();
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let (method, path) = cells[0].trim_matches('`').split_once(' ').unwrap();
            let may = |i: usize| match cells[i] {
                "✓" => true,
                "—" => false,
                other => panic!("{line}: {other}"),
            };
            (
                method.parse().unwrap(),
                path.to_owned(),
                [may(1), may(2), may(3), may(4)],
            )
        })
        .collect()
}

/// The path with its parameters filled in from the seeded state.
fn concrete(path: &str, grant: &str, version: &str) -> String {
    let id = if path.starts_with("/v1/grants") {
        grant
    } else if path.starts_with("/v1/jobs") {
        "job_00000000000000000000000000000000"
    } else if path.starts_with("/v1/recertifications") {
        "rct_00000000000000000000000000000000"
    } else if path.starts_with("/v1/tools") {
        "grammarly"
    } else if path.starts_with("/v1/groups") {
        "team"
    } else if path.starts_with("/v1/connectors") {
        "okta-main"
    } else if path.starts_with("/v1/tokens") {
        "tok_000000000000"
    } else {
        "AIR-2"
    };
    let path = path
        .replace("{id}", id)
        .replace("{email}", "alice@example.com")
        .replace("{version}", version)
        .replace("{connector_id}", "okta-id");
    match path.as_str() {
        "/v1/approvals" => "/v1/approvals?approver=bob@example.com".to_owned(),
        "/v1/policies/diff" => "/v1/policies/diff?from=1&to=1".to_owned(),
        _ => path,
    }
}

/// A body that parses for the route, so that the role is what decides.
fn body(method: &Method, path: &str, n: usize) -> Option<Value> {
    let bob = "bob@example.com";
    let tail = path.rsplit('/').next().unwrap_or_default();
    Some(match (method.as_str(), tail) {
        ("POST", "requests") => {
            request_body(&format!("ROLE-{n}"), "carol@example.com", "grammarly", 7)
        }
        ("POST", "approve") => json!({"approver": bob}),
        ("POST", "deny") => json!({"approver": bob, "reason": "walked"}),
        ("POST", "bulk") => json!({"action": "approve", "ids": ["AIR-2"], "approver": bob}),
        ("POST", "extend") => json!({"days": 7, "requested_by": bob}),
        ("POST", "complete") => json!({"outcome": "fulfilled"}),
        ("POST", "keep") => json!({"reviewer": bob}),
        ("POST", "what-if") => json!({"files": []}),
        ("POST", "tokens") => json!({"role": "auditor"}),
        ("PUT", "grammarly") => json!({"name": "Grammarly", "provider": "Grammarly",
            "status": "approved", "risk": "low", "default_duration_days": 30}),
        ("PUT", "alice@example.com") => json!({"groups": ["employees"], "manager": bob}),
        ("PUT", "team") => json!({"parents": []}),
        ("PUT", "okta-main") => json!({"type": "okta", "base_url": "https://acme.okta.com",
            "credentials": {"api_token": "role-test-token"}}),
        ("PUT", "okta-id") => json!({"external_id": "00u1"}),
        ("PUT", "jira") => json!({"base_url": "https://acme.atlassian.net",
            "credentials": {"email": "bot@example.com", "api_token": "role-test"}}),
        _ => return None,
    })
}

async fn forbidden(response: reqwest::Response) -> (u16, bool) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    (
        status,
        status == 403 && body["error"]["code"] == "forbidden",
    )
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_readme_says() {
    let app = spawn_app().await.with_defaults().await;
    app.put_user("carol@example.com", &["employees"], Some("bob@example.com"))
        .await;
    let grant = app
        .decide(&request_body("AIR-1", "alice@example.com", "grammarly", 7))
        .await;
    let grant = grant["grant"]["grant_id"].as_str().unwrap().to_owned();
    app.decide(&request_body("AIR-2", "alice@example.com", "otter-ai", 7))
        .await;
    let version = app.active_policy().await["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = [
        ADMIN_TOKEN.to_owned(),
        app.create_token("approver").await,
        app.create_token("auditor").await,
        app.create_token("automation").await,
    ];
    let table = readme_table();
    assert!(table.len() >= 40, "the table lists every route");
    assert_every_route_is_listed(&app, &table).await;
    let mut n = 0;
    for (method, path, may) in &table {
        for (role, token) in tokens.iter().enumerate() {
            n += 1;
            let url = concrete(path, &grant, &version);
            let body = body(method, &url, n);
            let response = app
                .send_as(token, method.clone(), &url, body.as_ref())
                .await;
            let (status, refused) = forbidden(response).await;
            assert_eq!(
                !refused, may[role],
                "{method} {path} as role #{role}: {status}"
            );
        }
    }
}

/// The table names every operation the OpenAPI document has that needs a token, and the
/// document names 403 for exactly those some role may not call (and the approval queue,
/// where a token bound to a person may not read another's).
async fn assert_every_route_is_listed(app: &TestApp, table: &[(Method, String, [bool; 4])]) {
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let row = table
                .iter()
                .find(|(m, p, _)| m.as_str().eq_ignore_ascii_case(method) && p == path);
            let listed = row.is_some();
            assert_eq!(
                secured, listed,
                "{method} {path}: in the table iff it needs a token"
            );
            if let Some((_, _, may)) = row {
                let refusable = may.contains(&false) || path == "/v1/approvals";
                let documented = op["responses"].get("403").is_some();
                assert_eq!(
                    documented, refusable,
                    "{method} {path}: 403 documented iff it can happen"
                );
            }
        }
    }
}
