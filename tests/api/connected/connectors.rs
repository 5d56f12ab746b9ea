//! Configuring connectors: checked input that changes nothing when refused, write-only
//! credentials, the egress allowlist, and the test call.

use super::{Vendor, World};
use crate::helpers::error_code;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn bad_connector_input_is_refused_naming_the_field_and_changes_nothing() {
    let w = World::start(Vendor::Okta, false).await;
    let before: Value = w.app.get("/v1/connectors/idp").await.json().await.unwrap();
    let okta = &w.prisms[0].url;
    let cases = [
        (
            json!({"type": "okta", "base_url": "http://acme.okta.com",
            "credentials": {"api_token": "t"}}),
            "base_url",
        ),
        (
            json!({"type": "okta", "base_url": "https://evil.example.com",
            "credentials": {"api_token": "t"}}),
            "base_url",
        ),
        (
            json!({"type": "okta", "base_url": okta, "token_url": okta,
            "credentials": {"api_token": "t"}}),
            "token_url",
        ),
        (
            json!({"type": "entra", "base_url": okta,
            "credentials": {"client_id": "a", "client_secret": "s"}}),
            "token_url",
        ),
        (
            json!({"type": "okta", "base_url": okta,
            "credentials": {"api_token": "t", "client_secret": "s"}}),
            "credentials.client_secret",
        ),
        (
            json!({"type": "okta", "base_url": okta, "credentials": {"api_token": " "}}),
            "credentials.api_token",
        ),
        (
            json!({"type": "okta", "base_url": okta, "max_attempts": 0}),
            "max_attempts",
        ),
        (
            json!({"type": "okta", "base_url": format!("{okta}/?x=1")}),
            "base_url",
        ),
    ];
    for (body, field) in cases {
        let response = w.app.put("/v1/connectors/idp", &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
        assert!(!error.to_string().contains("evil-secret"));
    }
    // A new connector needs credentials; a new type needs its own.
    let response = w
        .app
        .put(
            "/v1/connectors/other",
            &json!({"type": "okta", "base_url": okta}),
        )
        .await;
    assert_eq!(error_code(response).await, "validation_failed");
    let after: Value = w.app.get("/v1/connectors/idp").await.json().await.unwrap();
    assert_eq!(before, after);
    let all: Value = w.app.get("/v1/connectors").await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn credentials_are_write_only_and_kept_when_a_change_omits_them() {
    let w = World::start(Vendor::Okta, false).await;
    let okta = w.prisms[0].url.clone();
    let changed: Value = w
        .app
        .put(
            "/v1/connectors/idp",
            &json!({"type": "okta", "base_url": okta, "max_attempts": 3}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changed["max_attempts"], 3);
    assert_eq!(changed["credentials"], json!({"api_token": "set"}));
    // The kept credentials still work.
    let test: Value = w
        .app
        .post("/v1/connectors/idp/test", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(test["ok"], true, "{test}");
    let names: Vec<&str> = test["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["credentials", "group:chat"]);

    let wrong = json!({"type": "okta", "base_url": okta,
        "credentials": {"api_token": "wrong-token-5d1e"}});
    w.app.put("/v1/connectors/idp", &wrong).await;
    let test: Value = w
        .app
        .post("/v1/connectors/idp/test", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(test["ok"], false, "{test}");
    assert!(
        test["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{test}"
    );
    let audit = w
        .app
        .get("/v1/audit/export?format=jsonl")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(audit.matches("connector.configured").count(), 3);
    assert!(!audit.contains("wrong-token-5d1e") && !audit.contains(crate::fake_idp::OKTA_TOKEN));
    assert!(!test.to_string().contains("wrong-token-5d1e"));
    w.assert_specs_held();
}

#[tokio::test]
async fn identities_are_mapped_explicitly_and_one_account_belongs_to_one_user() {
    let w = World::start(Vendor::Okta, false).await;
    let put = |email: &str, id: &str| {
        let (app, path) = (&w.app, format!("/v1/users/{email}/identities/idp"));
        let body = json!({"external_id": id});
        async move { app.put(&path, &body).await }
    };
    let response = put("alice@example.com", "u-alice").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = put("bob@example.com", "u-alice").await;
    assert_eq!(error_code(response).await, "invalid_transition");
    let response = put("bob@example.com", "has space").await;
    assert_eq!(error_code(response).await, "validation_failed");
    let response = w
        .app
        .put(
            "/v1/users/bob@example.com/identities/nowhere",
            &json!({"external_id": "x"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let listed: Value = w
        .app
        .get("/v1/users/alice@example.com/identities")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["source"], "explicit");
    // The mapped id is used as it is: no lookup by email.
    w.grant("MAP-1", "alice@example.com").await;
    assert_eq!(w.run_jobs().await["done"], 1);
    assert!(
        !w.idp
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /api/v1/users"))
    );
    w.assert_specs_held();
}
