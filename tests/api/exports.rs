//! Operational exports of requests and grants over a window, streamed as CSV or JSON lines.

use crate::helpers::{TestApp, error_code, request_body, spawn_app};
use serde_json::Value;

async fn export(app: &TestApp, path: &str) -> (String, String) {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn requests_and_grants_of_a_window_export_as_csv_and_json_lines_across_pages() {
    let app = spawn_app().await.with_defaults().await;
    // 520 requests: more than one page (500) of the export; the low-risk half is approved
    // with a grant.
    for n in 1..=520 {
        let tool = if n % 2 == 0 { "grammarly" } else { "otter-ai" };
        let user = format!("u{n}@example.com");
        app.put_user(&user, &["employees"], Some("bob@example.com"))
            .await;
        app.decide(&request_body(&format!("EXP-{n}"), &user, tool, 7))
            .await;
        // Ids order by time; tests running in parallel share the id counter within a
        // millisecond, so each request gets one of its own.
        app.clock.advance(chrono::Duration::milliseconds(1));
    }
    let (content_type, csv) = export(&app, "/v1/requests/export?format=csv").await;
    assert!(content_type.starts_with("text/csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("request_id,issue_key,requester,tool,status"));
    assert_eq!(rows.len(), 521, "a header and every request");
    assert!(
        rows[1].contains(",EXP-1,u1@example.com,otter-ai,pending,"),
        "{}",
        rows[1]
    );

    let (content_type, jsonl) = export(&app, "/v1/requests/export").await;
    assert_eq!(content_type, "application/jsonl");
    let records: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 520);
    let keys: Vec<&str> = records
        .iter()
        .map(|r| r["issue_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys[0], "EXP-1");
    assert_eq!(keys[519], "EXP-520", "oldest first, none twice");

    let (_, grants) = export(&app, "/v1/grants/export?format=csv").await;
    let grant_rows: Vec<&str> = grants.lines().skip(1).collect();
    assert_eq!(grant_rows.len(), 260, "one grant per approved request");
    assert!(
        grant_rows
            .iter()
            .all(|r| r.contains(",grammarly,pending_provision,"))
    );

    // A window before everything holds nothing but the header.
    let (_, empty) = export(
        &app,
        "/v1/grants/export?format=csv&from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z",
    )
    .await;
    assert_eq!(empty.lines().count(), 1);
}

#[tokio::test]
async fn exports_keep_the_audit_exports_window_rules_and_roles() {
    let app = spawn_app().await.with_defaults().await;
    for path in [
        "/v1/requests/export?from=2024-01-01T00:00:00Z",
        "/v1/grants/export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "/v1/grants/export?format=xml",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        let code = error_code(response).await;
        assert!(
            ["export_window_too_large", "validation_failed"].contains(&code.as_str()),
            "{path}: {code}"
        );
    }
    let approver = app.create_token("approver").await;
    assert_eq!(
        app.get_as(&approver, "/v1/requests/export").await.status(),
        403
    );
    let auditor = app.create_token("auditor").await;
    assert_eq!(
        app.get_as(&auditor, "/v1/grants/export").await.status(),
        200
    );
}
