//! Strict input: each odd or malformed input gets its status and error code, and nothing is
//! stored (the audit log, which every change writes to, keeps its length).

use crate::helpers::{ADMIN_TOKEN, TestApp, error_code, request_body, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// How many entries the audit log holds.
async fn audit_entries(app: &TestApp) -> u64 {
    let report: Value = app.get("/v1/audit/verify").await.json().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    report["entries"].as_u64().unwrap()
}

/// Sends each `(what, method, path, content type, body)` and expects `status` and `code`,
/// with the audit log unchanged after all of them.
async fn refused(
    app: &TestApp,
    status: u16,
    code: &str,
    cases: Vec<(&str, Method, String, &str, String)>,
) {
    let before = audit_entries(app).await;
    for (what, method, path, content_type, body) in cases {
        let mut request = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(ADMIN_TOKEN);
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let response = request.body(body.clone()).send().await.unwrap();
        assert_eq!(response.status(), status, "{what}: {method} {path} {body}");
        assert_eq!(error_code(response).await, code, "{what}: {body}");
    }
    assert_eq!(audit_entries(app).await, before, "nothing was stored");
}

fn submit(
    what: &'static str,
    body: &Value,
) -> (&'static str, Method, String, &'static str, String) {
    let path = "/v1/requests".to_owned();
    (
        what,
        Method::POST,
        path,
        "application/json",
        body.to_string(),
    )
}

fn with(field: &str, value: Value) -> Value {
    let mut body = request_body("AIR-1", "alice@example.com", "grammarly", 30);
    body[field] = value;
    body
}

#[tokio::test]
async fn a_body_not_sent_as_json_is_an_unsupported_media_type() {
    let app = spawn_app().await.with_defaults().await;
    let body = request_body("AIR-1", "alice@example.com", "grammarly", 30).to_string();
    let cases = [
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        "application/jsonx",
    ]
    .into_iter()
    .map(|ct| {
        (
            "content type",
            Method::POST,
            "/v1/requests".to_owned(),
            ct,
            body.clone(),
        )
    })
    .collect();
    refused(&app, 415, "unsupported_media_type", cases).await;
    let user = json!({"groups": ["employees"]}).to_string();
    let put = (
        "put user",
        Method::PUT,
        "/v1/users/carol@example.com".to_owned(),
        "text/plain",
        user,
    );
    refused(&app, 415, "unsupported_media_type", vec![put]).await;
    // A charset parameter and `+json` types are JSON.
    let response = app
        .client
        .post(app.url("/v1/requests"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_json_object_with_a_duplicate_key_is_invalid_json() {
    let app = spawn_app().await.with_defaults().await;
    let twice = r#"{"issue_key": "AIR-1", "requester": "alice@example.com", "tool": "grammarly",
        "purpose": "Draft", "duration_days": 30, "duration_days": 180}"#;
    let nested = r#"{"issue_key": "AIR-2", "requester": "alice@example.com", "purpose": "Draft",
        "duration_days": 30, "new_tool": {"name": "A", "name": "B"}}"#;
    let cases = [("top level", twice), ("nested", nested)]
        .into_iter()
        .map(|(what, b)| {
            (
                what,
                Method::POST,
                "/v1/requests".to_owned(),
                "application/json",
                b.to_owned(),
            )
        })
        .collect();
    refused(&app, 400, "invalid_json", cases).await;
}

#[tokio::test]
async fn odd_issue_keys_emails_and_purposes_are_validation_failures() {
    let app = spawn_app().await.with_defaults().await;
    let mut cases = Vec::new();
    for key in ["AIR-0", "AIR-01", "AIR-007", "1AIR-1", "air-1", " AIR-1"] {
        cases.push(submit("issue key", &with("issue_key", json!(key))));
    }
    for email in [
        "alice..x@example.com",
        ".alice@example.com",
        "alice.@example.com",
        "alice@example..com",
        "alice@.example.com",
        "a/b@example.com",
        "alice@example.com/x",
    ] {
        cases.push(submit("email", &with("requester", json!(email))));
    }
    for purpose in [
        "bell \u{7}",
        "nul \u{0}",
        "escape \u{1b}[2J",
        "abc\u{202E}fdp.exe",
        "x\u{2067}y",
        "\u{200B}\u{200B}",
        "\u{FEFF}",
        " \u{3000} ",
    ] {
        cases.push(submit("purpose", &with("purpose", json!(purpose))));
    }
    refused(&app, 400, "validation_failed", cases).await;
    // Multi-line text is fine.
    let fine = with("purpose", json!("Line one\nLine two\twith a tab"));
    assert_eq!(app.submit(&fine).await.status(), 201);
}

#[tokio::test]
async fn dot_group_names_and_manager_cycles_are_validation_failures() {
    let app = spawn_app().await.with_defaults().await;
    let mut cases = Vec::new();
    for group in [".", "..", ".hidden"] {
        let parents = json!({"parents": [group]}).to_string();
        cases.push((
            "parent",
            Method::PUT,
            "/v1/groups/team".to_owned(),
            "application/json",
            parents,
        ));
        let groups = json!({"groups": [group]}).to_string();
        cases.push((
            "user group",
            Method::PUT,
            "/v1/users/carol@example.com".to_owned(),
            "application/json",
            groups,
        ));
    }
    // alice is managed by bob (with_defaults); bob managed by alice would be a cycle, and so
    // would bob managed by carol managed by alice.
    let cycle = json!({"groups": ["employees"], "manager": "alice@example.com"}).to_string();
    cases.push((
        "manager cycle",
        Method::PUT,
        "/v1/users/bob@example.com".to_owned(),
        "application/json",
        cycle,
    ));
    refused(&app, 400, "validation_failed", cases).await;

    app.put_user(
        "carol@example.com",
        &["employees"],
        Some("alice@example.com"),
    )
    .await;
    let longer = json!({"groups": ["employees"], "manager": "carol@example.com"}).to_string();
    let case = (
        "longer cycle",
        Method::PUT,
        "/v1/users/bob@example.com".to_owned(),
        "application/json",
        longer,
    );
    refused(&app, 400, "validation_failed", vec![case]).await;

    // URL clients fold `.` and `..` segments away, so these go over a raw connection.
    let before = audit_entries(&app).await;
    for id in [".", "..", "%2E%2E"] {
        let answer = raw_put(&app, &format!("/v1/groups/{id}"), "{}").await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{id}: {answer}");
        assert!(answer.contains("validation_failed"), "{id}: {answer}");
    }
    assert_eq!(audit_entries(&app).await, before);
}

/// `PUT path` with a JSON body over a plain TCP connection, path bytes as given; the answer.
async fn raw_put(app: &TestApp, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn a_limit_outside_its_bounds_is_refused_not_clamped() {
    let app = spawn_app().await.with_defaults().await;
    let mut cases = Vec::new();
    for path in [
        "/v1/requests?limit=0",
        "/v1/requests?limit=501",
        "/v1/grants?limit=0",
        "/v1/audit/events?limit=0",
        "/v1/audit/events?limit=1001",
        "/v1/decisions?limit=0",
        "/v1/approvals?approver=bob@example.com&limit=0",
        "/v1/audit/checkpoints?limit=0",
        "/v1/audit/events?after_seq=-1",
    ] {
        cases.push(("limit", Method::GET, path.to_owned(), "", String::new()));
    }
    refused(&app, 400, "validation_failed", cases).await;
    assert_eq!(app.get("/v1/requests?limit=500").await.status(), 200);
}

#[tokio::test]
async fn an_array_does_not_pass_for_an_object() {
    let app = spawn_app().await.with_defaults().await;
    let mut new_tool = request_body("AIR-1", "alice@example.com", "grammarly", 30);
    new_tool.as_object_mut().unwrap().remove("tool");
    new_tool["new_tool"] = json!(["Some AI"]);
    let cases = vec![
        (
            "array body",
            Method::PUT,
            "/v1/groups/team".to_owned(),
            "application/json",
            "[]".to_owned(),
        ),
        (
            "array body",
            Method::PUT,
            "/v1/users/carol@example.com".to_owned(),
            "application/json",
            "[[]]".to_owned(),
        ),
        (
            "scalar body",
            Method::POST,
            "/v1/tokens".to_owned(),
            "application/json",
            "\"admin\"".to_owned(),
        ),
        submit("nested array", &new_tool),
    ];
    refused(&app, 400, "validation_failed", cases).await;
}
