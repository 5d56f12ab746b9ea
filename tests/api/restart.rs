//! Restarting keeps every acknowledged decision, the version history and the active version.

use crate::helpers::{request_body, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn a_restart_keeps_decisions_versions_and_the_active_version() {
    let mut app = spawn_app().await.with_defaults().await;
    let first = app
        .decide(&request_body("AIR-1", "alice@example.com", "grammarly", 7))
        .await;
    app.edit_policy(
        "duration.cedar",
        "context.duration_days > 30",
        "context.duration_days > 20",
    );
    assert_eq!(app.reload().await.status(), 200);
    let second = app
        .decide(&request_body("AIR-2", "alice@example.com", "otter-ai", 25))
        .await;
    let active = app.active_policy().await;

    app.restart().await;

    assert_eq!(app.active_policy().await["version"], active["version"]);
    assert_eq!(app.active_policy().await["seq"], 2);
    let versions: Vec<Value> = app.get("/v1/policies/versions").await.json().await.unwrap();
    assert_eq!(versions.len(), 2);
    for (key, answer) in [("AIR-1", &first), ("AIR-2", &second)] {
        let stored: Value = app.request(key).await.json().await.unwrap();
        assert_eq!(stored["request_id"], answer["request_id"]);
        assert_eq!(
            stored["decision"]["policy_version"],
            answer["decision"]["policy_version"]
        );
    }
    // The duplicate check still sees the open grant from before the restart.
    let dup = app
        .decide(&request_body("AIR-3", "alice@example.com", "grammarly", 7))
        .await;
    assert_eq!(dup["status"], "denied");
    app.assert_every_decision_replays().await;
}
