//! Policy versions: reload, history, full text, and behaviour changing without a rebuild.

use crate::helpers::{codes, error_code, request_body, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn editing_a_policy_and_reloading_changes_the_next_decision_only() {
    let app = spawn_app().await.with_defaults().await;
    let before = app
        .decide(&request_body("AIR-1", "alice@example.com", "otter-ai", 10))
        .await;
    assert_eq!(before["status"], "pending");
    let v1 = before["decision"]["policy_version"].clone();

    app.edit_policy(
        "duration.cedar",
        "context.duration_days > 30",
        "context.duration_days > 7",
    );
    let reloaded: Value = app.reload().await.json().await.unwrap();
    assert_eq!(reloaded["changed"], true);
    assert_eq!(reloaded["seq"], 2);
    assert_ne!(reloaded["version"], v1);

    let after = app
        .decide(&request_body("AIR-2", "bob@example.com", "otter-ai", 10))
        .await;
    assert_eq!(codes(&after), ["duration_exceeds_max"]);
    assert_eq!(after["decision"]["policy_version"], reloaded["version"]);
    assert_eq!(after["decision"]["policy_seq"], 2);

    // The earlier decision keeps the version that made it.
    let earlier: Value = app.request("AIR-1").await.json().await.unwrap();
    assert_eq!(earlier["decision"]["policy_version"], v1);
    assert_eq!(earlier["decision"]["policy_seq"], 1);

    // Reloading an unchanged folder changes nothing.
    let again: Value = app.reload().await.json().await.unwrap();
    assert_eq!(again["changed"], false);
    assert_eq!(again["seq"], 2);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_policy_written_by_the_test_takes_effect_after_reload() {
    let app = spawn_app().await.with_defaults().await;
    let short = |key: &str, requester: &str| {
        json!({"issue_key": key, "requester": requester, "tool": "grammarly",
            "purpose": "AI", "duration_days": 7})
    };
    assert_eq!(
        app.decide(&short("AIR-1", "alice@example.com")).await["status"],
        "approved"
    );
    app.write_policy(
        "purpose.cedar",
        r#"@id("purpose-min-length")
@code("purpose_too_short")
@reason("Describe the purpose in at least 10 characters.")
forbid (principal, action == Clearance::Action::"request", resource)
when { context.purpose_length < 10 };
"#,
    );
    assert_eq!(app.reload().await.status(), 200);
    let answer = app.decide(&short("AIR-2", "bob@example.com")).await;
    assert_eq!(answer["status"], "denied");
    assert_eq!(
        answer["decision"]["reasons"][0]["policy"],
        "purpose-min-length"
    );
    assert_eq!(codes(&answer), ["purpose_too_short"]);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn an_invalid_bundle_is_refused_and_the_active_version_stays() {
    let app = spawn_app().await.with_defaults().await;
    let active = app.active_policy().await;
    app.write_policy(
        "broken.cedar",
        "@id(\"broken\")\n@code(\"broken\")\n@reason(\"x\")\nforbid (principal, action == Clearance::Action::\"request\", resource)\nwhen { resource.colour == \"red\" };\n",
    );
    let response = app.reload().await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_policy");
    let detail = &body["error"]["details"][0];
    assert_eq!(detail["file"], "broken.cedar");
    assert_eq!(detail["line"], 5);
    assert!(
        detail["message"].as_str().unwrap().contains("colour"),
        "{detail}"
    );
    assert_eq!(app.active_policy().await["version"], active["version"]);

    // A syntax error, too, names its line.
    app.write_policy(
        "broken.cedar",
        "@id(\"x\")\npermit (principal, action, resource\n",
    );
    let response = app.reload().await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["file"], "broken.cedar");
    assert!(body["error"]["details"][0]["line"].as_u64().is_some());

    let answer = app
        .decide(&request_body("AIR-1", "alice@example.com", "grammarly", 7))
        .await;
    assert_eq!(answer["decision"]["policy_version"], active["version"]);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn versions_are_listed_newest_first_with_full_text() {
    let app = spawn_app().await;
    app.edit_policy(
        "extend.cedar",
        "context.days_since_expiry > 7",
        "context.days_since_expiry > 3",
    );
    assert_eq!(app.reload().await.status(), 200);
    let versions: Vec<Value> = app.get("/v1/policies/versions").await.json().await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["seq"], 2);
    assert_eq!(versions[1]["seq"], 1);
    assert!(versions[0].get("text").is_none());

    let v2 = versions[0]["version"].as_str().unwrap();
    let full: Value = app
        .get(&format!("/v1/policies/versions/{v2}"))
        .await
        .json()
        .await
        .unwrap();
    let files = full["text"]["files"].as_array().unwrap();
    let extend = files.iter().find(|f| f["path"] == "extend.cedar").unwrap();
    assert!(
        extend["content"]
            .as_str()
            .unwrap()
            .contains("days_since_expiry > 3")
    );
    assert!(
        full["text"]["schema"]["content"]
            .as_str()
            .unwrap()
            .contains("namespace Clearance")
    );

    let missing = app
        .get(&format!("/v1/policies/versions/{}", "0".repeat(64)))
        .await;
    assert_eq!(error_code(missing).await, "not_found");
    app.assert_every_decision_replays().await;
}
