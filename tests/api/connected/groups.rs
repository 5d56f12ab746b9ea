//! Binding a tool by group name (the dedicated group is created once) and checking one
//! grant's membership on demand, against fake Okta and Graph behind Prism.

use super::{GROUP, Vendor, World};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn bind_by_name(w: &World, kind: &str) {
    let tool = json!({"name": "Chat", "provider": "Vendor", "status": "approved",
        "risk": "low", "default_duration_days": 30,
        "connector": {"type": kind, "connector_id": "idp", "group_name": "clearance-chat"}});
    let response = w.app.put("/v1/tools/chat", &tool).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn created_once(vendor: Vendor, kind: &str) {
    let w = World::start(vendor, false).await;
    bind_by_name(&w, kind).await;
    let first = w.grant("GRP-1", "alice@example.com").await;
    let second = w.grant("GRP-2", "bob@example.com").await;
    assert_eq!(w.run_jobs().await["done"], 2);
    let created: Vec<(String, Vec<String>)> = w
        .idp
        .lock()
        .groups
        .iter()
        .filter(|(_, g)| g.name == "clearance-chat")
        .map(|(id, g)| (id.clone(), g.members.clone()))
        .collect();
    assert_eq!(created.len(), 1, "one group, created once: {created:?}");
    let (id, mut members) = created.into_iter().next().unwrap();
    members.sort();
    assert_eq!(members, vec!["u-alice", "u-bob"]);
    let tool: Value = w.app.get("/v1/tools/chat").await.json().await.unwrap();
    assert_eq!(tool["connector"]["group"], id.as_str(), "{tool}");
    assert_eq!(tool["connector"]["group_name"], "clearance-chat");
    for grant in [first, second] {
        assert_eq!(w.get_grant(&grant).await["state"], "active");
    }
    // The tool as read back can be written back as it is.
    let response = w
        .app
        .put(
            "/v1/tools/chat",
            &json!({
        "name": tool["name"], "provider": tool["provider"], "status": tool["status"],
        "risk": tool["risk"], "default_duration_days": tool["default_duration_days"],
        "connector": tool["connector"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    w.assert_specs_held();
}

#[tokio::test]
async fn an_okta_group_named_in_the_binding_is_created_once() {
    created_once(Vendor::Okta, "okta-group").await;
}

#[tokio::test]
async fn an_entra_group_named_in_the_binding_is_created_once() {
    created_once(Vendor::Entra, "entra-group").await;
}

async fn check(w: &World, grant: &str) -> Value {
    let response = w
        .app
        .post(&format!("/v1/grants/{grant}/check"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn checks_membership(vendor: Vendor) {
    let w = World::start(vendor, false).await;
    let grant = w.grant("CHK-1", "alice@example.com").await;
    assert_eq!(w.run_jobs().await["done"], 1);
    let found = check(&w, &grant).await;
    assert_eq!(
        (found["member"].as_bool(), found["ok"].as_bool()),
        (Some(true), Some(true))
    );
    // Removed behind clearance's back: the check says so, and the audit log records it.
    w.idp.add_group(GROUP, "ChatGPT users", &[]);
    let found = check(&w, &grant).await;
    assert_eq!(found["member"], false);
    assert_eq!(found["expected"], true);
    assert_eq!(found["ok"], false);
    let checked = w
        .app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "grant.checked")
        .count();
    assert_eq!(checked, 2);
    // An IdP that cannot answer is a 503 that names the status, not a hidden failure.
    w.idp.fail_next(
        crate::fake_idp::Op::List,
        3,
        crate::fake_idp::Fault::status(503),
    );
    let response = w
        .app
        .post(&format!("/v1/grants/{grant}/check"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("503"),
        "{body}"
    );
    w.assert_specs_held();
}

#[tokio::test]
async fn a_grant_check_asks_okta_now() {
    checks_membership(Vendor::Okta).await;
}

#[tokio::test]
async fn a_grant_check_asks_graph_now() {
    checks_membership(Vendor::Entra).await;
}
