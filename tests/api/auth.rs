//! Tokens and roles.

use crate::helpers::{ADMIN_TOKEN, error_code, request_body, spawn_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthenticated() {
    let app = spawn_app().await;
    let none = app.client.get(app.url("/v1/tools")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(error_code(none).await, "unauthenticated");
    let wrong = app.get_as("clr_wrong", "/v1/tools").await;
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn each_role_reaches_only_what_it_needs() {
    let app = spawn_app().await.with_defaults().await;
    let automation = app.create_token("automation").await;
    let auditor = app.create_token("auditor").await;
    let approver = app.create_token("approver").await;

    let body = request_body("AIR-1", "alice@example.com", "grammarly", 7);
    let submitted = app
        .send_as(&automation, Method::POST, "/v1/requests", Some(&body))
        .await;
    assert_eq!(submitted.status(), 201);
    for token in [&auditor, &approver] {
        let body = request_body("AIR-2", "alice@example.com", "cursor", 7);
        let refused = app
            .send_as(token, Method::POST, "/v1/requests", Some(&body))
            .await;
        assert_eq!(refused.status(), 403);
        assert_eq!(error_code(refused).await, "forbidden");
    }
    for token in [&automation, &auditor, &approver] {
        let tool = json!({"name": "X", "provider": "Y", "status": "approved", "risk": "low",
            "default_duration_days": 30});
        for (method, path, body) in [
            (Method::PUT, "/v1/tools/x", tool),
            (Method::POST, "/v1/tools/seed", json!({})),
            (
                Method::PUT,
                "/v1/users/x@example.com",
                json!({"groups": ["security"]}),
            ),
            (Method::PUT, "/v1/groups/g", json!({"parents": []})),
            (Method::POST, "/v1/tokens", json!({"role": "admin"})),
            (Method::POST, "/v1/policies/reload", json!({})),
        ] {
            let response = app.send_as(token, method.clone(), path, Some(&body)).await;
            assert_eq!(response.status(), 403, "{method} {path}");
        }
        assert_eq!(app.get_as(token, "/v1/policies/active").await.status(), 200);
        assert_eq!(app.get_as(token, "/v1/requests/AIR-1").await.status(), 200);
    }
    assert_eq!(app.get_as(ADMIN_TOKEN, "/v1/tools").await.status(), 200);
}

#[tokio::test]
async fn tokens_are_shown_once_and_stored_as_hashes() {
    let app = spawn_app().await;
    let token = app.create_token("auditor").await;
    assert!(token.starts_with("clr_"));
    let db = std::fs::read(app.data_dir.path().join("clearance.redb")).unwrap();
    let needle = token.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle),
        "secret found in the database"
    );
}
