//! The chained audit log: every change sealed in order, verified by the server and offline.

use crate::helpers::{TestApp, request_body, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;

async fn all_events(app: &TestApp) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page: Value = app
            .get(&format!("/v1/audit/events?after_seq={after}&limit=3"))
            .await
            .json()
            .await
            .unwrap();
        let batch = page["events"].as_array().unwrap().clone();
        if batch.is_empty() {
            return events;
        }
        after = page["next_after_seq"].as_u64().unwrap();
        events.extend(batch);
    }
}

fn verify_offline(app: &TestApp, export: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, export).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["audit", "verify", "--hmac-key"])
        .arg(app.data_dir.path().join("audit-hmac.key"))
        .arg(&file)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), report)
}

#[tokio::test]
async fn every_change_is_chained_and_verifies_in_the_server_and_offline() {
    let app = spawn_app().await.with_defaults().await;
    app.decide(&request_body("AUD-1", "alice@example.com", "grammarly", 14))
        .await;
    app.decide(&request_body("AUD-2", "bob@example.com", "chatgpt", 14))
        .await;

    let events = all_events(&app).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    for pair in events.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["entry_hash"]);
    }
    let decided: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "request.decided")
        .collect();
    assert_eq!(decided.len(), 2);
    let typed: Value = app
        .get("/v1/audit/events?type=request.decided")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(typed["events"].as_array().unwrap().len(), 2);

    let report: Value = app.get("/v1/audit/verify").await.json().await.unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["entries"], events.len());
    assert_eq!(report["head"]["hash"], events.last().unwrap()["entry_hash"]);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(app.data_dir.path().join("audit-hmac.key")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    // Offline, an export verifies; the bare list of events is not an export.
    let export = app.get("/v1/audit/export").await.text().await.unwrap();
    let (code, report) = verify_offline(&app, &export);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["entries"], events.len());
    let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let (code, report) = verify_offline(&app, &lines.join("\n"));
    assert_eq!((code, &report["fault"]["kind"]), (1, &json!("malformed")));

    let tampered: Vec<String> = export
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).unwrap();
            if value["seq"] == 3 {
                value["actor"] = Value::String("someone-else".into());
            }
            value.to_string()
        })
        .collect();
    let (code, report) = verify_offline(&app, &tampered.join("\n"));
    assert_eq!(code, 1);
    assert_eq!(report["fault"]["seq"], 3);
    assert_eq!(report["fault"]["kind"], "changed");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn only_auditors_and_admins_read_the_log() {
    let app = spawn_app().await;
    let automation = app.create_token("automation").await;
    let auditor = app.create_token("auditor").await;
    let denied = app.get_as(&automation, "/v1/audit/verify").await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let allowed = app.get_as(&auditor, "/v1/audit/verify").await;
    assert_eq!(allowed.status(), StatusCode::OK);
    let bad = app.get("/v1/audit/events?limit=ten").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    app.assert_every_decision_replays().await;
}
