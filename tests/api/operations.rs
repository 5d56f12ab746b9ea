//! Health, readiness, metrics and the OpenAPI document.

use crate::helpers::{request_body, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await.with_defaults().await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.decide(&request_body("AIR-1", "alice@example.com", "grammarly", 7))
        .await;
    app.decide(&request_body("AIR-2", "alice@example.com", "nope", 7))
        .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("clearance_decisions_total{outcome=\"auto_approved\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("clearance_decisions_total{outcome=\"denied\"} 1"));
    assert!(metrics.contains("clearance_decision_duration_seconds_count 2"));
    assert!(metrics.contains("clearance_policy_version_seq 1"));
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/requests",
        "/v1/requests/{id}",
        "/v1/tools",
        "/v1/tools/{id}",
        "/v1/tools/seed",
        "/v1/users/{email}",
        "/v1/groups/{id}",
        "/v1/tokens",
        "/v1/policies/active",
        "/v1/policies/versions",
        "/v1/policies/versions/{version}",
        "/v1/policies/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from openapi.json"
        );
    }
    let submit = &doc["paths"]["/v1/requests"]["post"];
    assert!(submit["responses"].get("201").is_some());
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert!(response.headers().get("x-request-id").is_some());
    app.assert_every_decision_replays().await;
}
