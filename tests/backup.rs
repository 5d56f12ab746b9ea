//! `clearance backup OUT` against the real server binary while sixteen clients keep deciding:
//! the backup opens, its audit log verifies, and it holds every decision acknowledged before
//! it began; serving it (`clearance serve --data-dir OUT`) restores them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::zombie_processes,
    missing_docs
)]

mod common;

use common::{TOKEN, call, get, repo, serve_with};
use serde_json::{Value, json};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CLIENTS: usize = 16;
const USERS: usize = 40;

fn body(key: &str, user: usize) -> Value {
    json!({"issue_key": key, "requester": format!("user{user}@example.com"),
        "tool": "chatgpt", "purpose": "Draft customer emails", "duration_days": 14,
        "project": "AIR", "request_type": "42"})
}

/// A server that is killed however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Decisions acknowledged before the backup began, and after.
#[derive(Default)]
struct Acks {
    before: Vec<String>,
    after: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_holds_every_decision_acknowledged_before_it() {
    let data = tempfile::tempdir().unwrap();
    let policies = repo().join("policies");
    let (child, base, _) = serve_with(data.path(), &policies, &[]);
    let server = Server(child);
    let client = clearance::connect::http_client();
    let seeded = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/tools/seed"),
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(seeded.status(), 200);
    for user in 0..USERS {
        let url = format!("{base}/v1/users/user{user}@example.com");
        let body = json!({"groups": ["employees"]});
        let put = call(&client, reqwest::Method::PUT, url, Some(body)).await;
        assert_eq!(put.unwrap().status(), 200);
    }

    let began = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Mutex::new(Acks::default()));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, base) = (client.clone(), base.clone());
        let (began, stop, acks) = (began.clone(), stop.clone(), acks.clone());
        clients.push(tokio::spawn(async move {
            for n in 1.. {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let key = format!("K{c}-{n}");
                let url = format!("{base}/v1/requests");
                let body = Some(body(&key, n % USERS));
                let answer = call(&client, reqwest::Method::POST, url, body).await;
                let status = answer.unwrap().status();
                assert!(status.is_success(), "{key}: {status}");
                // Read after the answer: an answer seen before the backup began is
                // recorded as such, whatever happens next.
                let mut acks = acks.lock().unwrap();
                match began.load(Ordering::SeqCst) {
                    false => acks.before.push(key),
                    true => acks.after.push(key),
                }
            }
        }));
    }
    while acks.lock().unwrap().before.len() < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("backup");
    began.store(true, Ordering::SeqCst);
    let backup = {
        let (base, folder) = (base.clone(), folder.clone());
        let secrets_key = data.path().join("secrets.key");
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_clearance"))
                .arg("backup")
                .arg(&folder)
                .arg("--secrets-key")
                .arg(secrets_key)
                .env("CLEARANCE_URL", base)
                .env("CLEARANCE_TOKEN", TOKEN)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let during = acks.lock().unwrap().after.len();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    drop(server);

    let stdout = String::from_utf8_lossy(&backup.stdout);
    let stderr = String::from_utf8_lossy(&backup.stderr);
    assert!(backup.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["audit"]["ok"], true, "{report}");
    assert!(during > 0, "no decision was answered while the backup ran");
    let before = std::mem::take(&mut acks.lock().unwrap().before);
    // One audit entry per user, per decision, and the backup's own.
    let entries = report["audit"]["entries"].as_u64().unwrap();
    assert!(entries > (USERS + before.len()) as u64, "{report}");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "audit-hmac.key",
            "audit-signing.key",
            "clearance-backup.json",
            "clearance.journal",
            "clearance.journal.2",
            "clearance.redb",
            "secrets.key"
        ]
    );
    let key = |dir: &std::path::Path| std::fs::read(dir.join("secrets.key")).unwrap();
    assert_eq!(key(&folder), key(data.path()));

    // Restoring is serving the folder.
    let (restored, base, _) = serve_with(&folder, &policies, &[]);
    let _restored = Server(restored);
    for key in &before {
        let stored = get(&client, format!("{base}/v1/requests/{key}")).await;
        assert_eq!(
            stored.status(),
            200,
            "acknowledged {key} is not in the backup"
        );
    }
    let answer = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/requests"),
        Some(body("RESTORED-1", 1)),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 201);
    let verify: Value = get(&client, format!("{base}/v1/audit/verify"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
}

#[test]
fn a_backup_into_a_folder_that_is_not_empty_is_refused_before_anything_is_fetched() {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("keep.txt"), "mine").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .arg("backup")
        .arg(out.path())
        .env("CLEARANCE_URL", "http://127.0.0.1:9")
        .env("CLEARANCE_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.path().join("keep.txt")).unwrap(),
        "mine"
    );
}
