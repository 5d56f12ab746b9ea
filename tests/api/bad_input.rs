//! Bad input gets the API's error shape and status, and changes nothing.

use crate::helpers::{TestApp, error_code, request_body, spawn_app};
use serde_json::{Value, json};

/// Nothing was recorded for alice, and the audit head did not move.
async fn assert_nothing_recorded(app: &TestApp) {
    let listed: Vec<Value> = app
        .get("/v1/requests?requester=alice@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("clearance_decision_duration_seconds_count 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn malformed_json_is_invalid_json() {
    let app = spawn_app().await.with_defaults().await;
    for body in ["{", "not json", "", "[1,2"] {
        let response = app.post_raw(body).await;
        assert_eq!(response.status(), 400, "{body:?}");
        assert_eq!(error_code(response).await, "invalid_json");
    }
    assert_nothing_recorded(&app).await;
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn wrong_shapes_and_values_are_validation_failures() {
    let app = spawn_app().await.with_defaults().await;
    let good = request_body("AIR-1", "alice@example.com", "grammarly", 30);
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut unknown = good.clone();
    unknown["colour"] = json!("red");
    cases.push(("unknown field", unknown));
    for field in ["issue_key", "requester", "purpose", "duration_days"] {
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove(field);
        cases.push(("missing field", missing));
    }
    let mut no_tool = good.clone();
    no_tool.as_object_mut().unwrap().remove("tool");
    cases.push(("neither tool nor new_tool", no_tool));
    let mut both = good.clone();
    both["new_tool"] = json!({"name": "X"});
    cases.push(("both tool and new_tool", both));
    for days in [
        json!(0),
        json!(-3),
        json!(366),
        json!(100000),
        json!("30"),
        json!(1.5),
    ] {
        let mut bad = good.clone();
        bad["duration_days"] = days;
        cases.push(("duration", bad));
    }
    for (field, value) in [
        ("issue_key", json!("air-1")),
        ("requester", json!("not-an-email")),
        ("tool", json!("Not A Slug")),
        ("purpose", json!("   ")),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        cases.push(("bad value", bad));
    }
    for (what, body) in cases {
        let response = app.submit(&body).await;
        assert_eq!(response.status(), 400, "{what}: {body}");
        assert_eq!(
            error_code(response).await,
            "validation_failed",
            "{what}: {body}"
        );
    }
    assert_nothing_recorded(&app).await;
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await.with_defaults().await;
    let mut body = request_body("AIR-1", "alice@example.com", "grammarly", 30);
    body["purpose"] = json!("x".repeat(100 * 1024));
    let response = app.submit(&body).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");
    assert_nothing_recorded(&app).await;
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn catalog_and_directory_input_is_checked() {
    let app = spawn_app().await;
    let bad_tool = json!({"name": "X", "provider": "Y", "status": "approved", "risk": "spicy",
        "default_duration_days": 30});
    let response = app.put("/v1/tools/x", &bad_tool).await;
    assert_eq!(error_code(response).await, "validation_failed");
    let response = app
        .put(
            "/v1/users/alice@example.com",
            &json!({"manager": "alice@example.com"}),
        )
        .await;
    assert_eq!(error_code(response).await, "validation_failed");
    assert_eq!(app.put_group("a", &["b"]).await.status(), 200);
    let cycle = app.put_group("b", &["a"]).await;
    assert_eq!(cycle.status(), 400);
    assert_eq!(app.get("/v1/tools/x").await.status(), 404);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let app = spawn_app().await;
    assert_eq!(error_code(app.get("/v1/nothing").await).await, "not_found");
    let response = app
        .send_as(
            crate::helpers::ADMIN_TOKEN,
            reqwest::Method::DELETE,
            "/v1/tools",
            None,
        )
        .await;
    assert_eq!(response.status(), 405);
    assert_eq!(error_code(response).await, "method_not_allowed");
    app.assert_every_decision_replays().await;
}
