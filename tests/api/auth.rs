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

/// `POST /v1/tokens` with `body`; the answer.
async fn new_token(app: &crate::helpers::TestApp, body: serde_json::Value) -> serde_json::Value {
    let response = app.post("/v1/tokens", &body).await;
    assert_eq!(response.status(), 201, "{body}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_its_next_call_and_both_steps_are_audited() {
    let app = spawn_app().await.with_defaults().await;
    let created = new_token(
        &app,
        json!({"role": "auditor", "subject": "bob@example.com"}),
    )
    .await;
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    assert_eq!(app.get_as(secret, "/v1/audit/verify").await.status(), 200);

    let path = format!("/v1/tokens/{id}");
    let revoke = || app.send_as(ADMIN_TOKEN, Method::DELETE, &path, None);
    let revoked = revoke().await;
    assert_eq!(revoked.status(), 200);
    let refused = app.get_as(secret, "/v1/audit/verify").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(error_code(refused).await, "unauthenticated");
    let again = revoke().await;
    assert_eq!(again.status(), 404);

    let events = app.audit_events().await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["subject"] == id)
        .map(|e| (e["type"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("token.created", "token:bootstrap"),
            ("token.revoked", "token:bootstrap")
        ]
    );
    let text = serde_json::Value::from(events.clone()).to_string();
    assert!(!text.contains(secret), "no secret in the audit log");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app().await.with_defaults().await;
    let created = new_token(&app, json!({"role": "auditor", "expires_in_days": 30})).await;
    let secret = created["token"].as_str().unwrap();
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(app.get_as(secret, "/v1/tools").await.status(), 200);
    app.clock.advance(chrono::Duration::days(1));
    let refused = app.get_as(secret, "/v1/tools").await;
    assert_eq!(refused.status(), 401);
    for days in [json!(0), json!(3651), json!(1.5)] {
        let response = app
            .post(
                "/v1/tokens",
                &json!({"role": "auditor", "expires_in_days": days}),
            )
            .await;
        assert_eq!(response.status(), 400, "{days}");
    }
}

#[tokio::test]
async fn the_token_list_shows_use_and_expiry_but_never_a_secret() {
    let app = spawn_app().await.with_defaults().await;
    let a = new_token(&app, json!({"role": "automation"})).await;
    app.clock.advance(chrono::Duration::seconds(1));
    let b = new_token(
        &app,
        json!({"role": "approver", "subject": "bob@example.com", "expires_in_days": 7}),
    )
    .await;
    let secret_a = a["token"].as_str().unwrap();
    assert_eq!(app.get_as(secret_a, "/v1/tools").await.status(), 200);

    let response = app.get("/v1/tokens").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for secret in [secret_a, b["token"].as_str().unwrap()] {
        assert!(!text.contains(secret), "a secret in the list");
        assert!(
            !text.contains(&secret["clr_".len()..]),
            "a secret in the list"
        );
    }
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], a["id"]);
    assert_eq!(list[0]["role"], "automation");
    assert!(list[0]["last_used_at"].is_string(), "{}", list[0]);
    assert!(list[0]["expires_at"].is_null());
    assert_eq!(list[1]["subject"], "bob@example.com");
    assert!(list[1]["last_used_at"].is_null());
    assert!(list[1]["expires_at"].is_string());
    let keys: Vec<&String> = list[0].as_object().unwrap().keys().collect();
    for key in &keys {
        assert!(
            !key.contains("token") && !key.contains("hash") && !key.contains("secret"),
            "{keys:?}"
        );
    }
    // Only admins list tokens.
    assert_eq!(app.get_as(secret_a, "/v1/tokens").await.status(), 403);
}

#[tokio::test]
async fn a_token_subject_must_be_a_known_user() {
    let app = spawn_app().await.with_defaults().await;
    let response = app
        .post(
            "/v1/tokens",
            &json!({"role": "approver", "subject": "nobody@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "not_found");
    let list: Vec<serde_json::Value> = app.get("/v1/tokens").await.json().await.unwrap();
    assert!(list.is_empty());
}
