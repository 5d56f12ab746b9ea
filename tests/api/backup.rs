//! `GET /v1/admin/backup`: a tar archive of a consistent copy, for admins only.

use crate::helpers::{ADMIN_TOKEN, error_code, request_body, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use std::io::Read;

/// The archive's entries, by name, in order.
fn entries(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut tar = tar::Archive::new(archive);
    tar.entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

#[tokio::test]
async fn an_admin_gets_a_tar_of_the_database_and_audit_keys_but_never_the_secrets_key() {
    let app = spawn_app().await.with_defaults().await;
    app.decide(&request_body("AIR-1", "alice@example.com", "chatgpt", 14))
        .await;

    let response = app.backup_as(ADMIN_TOKEN).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-tar");
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"clearance-backup-"));
    let archive = response.bytes().await.unwrap();

    let entries = entries(&archive);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "clearance-backup.json",
            "clearance.redb",
            "audit-hmac.key",
            "audit-signing.key"
        ]
    );
    let manifest: Value = serde_json::from_slice(&entries[0].1).unwrap();
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["taken_by"], "token:bootstrap", "{manifest}");
    assert_eq!(manifest["sealed_credentials"], false);
    // The directory, the decision, and the backup's own audit entry are in the copy.
    let events = app.audit_events().await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "backup.taken");
    assert_eq!(manifest["audit_seq"], last["seq"]);
    assert_eq!(manifest["audit_hash"], last["entry_hash"]);
    assert!(manifest["journal_seq"].as_u64().unwrap() >= 4, "{manifest}");
    let key = std::fs::read(app.data_dir.path().join("audit-hmac.key")).unwrap();
    assert_eq!(entries[2].1, key);

    // The copy was made in the data folder and is gone once sent.
    let left: Vec<_> = std::fs::read_dir(app.data_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".backup-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test]
async fn only_an_admin_may_take_a_backup() {
    let app = spawn_app().await.with_defaults().await;
    for role in ["auditor", "approver", "automation"] {
        let token = app.create_token(role).await;
        let response = app.backup_as(&token).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(error_code(response).await, "forbidden");
    }
    let response = app.backup_as("not-a-token").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let kinds: Vec<Value> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e["type"].clone())
        .collect();
    assert!(!kinds.contains(&Value::from("backup.taken")), "{kinds:?}");
}
