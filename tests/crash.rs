//! `kill -9` of the real server binary in the middle of a stream of decisions: after a
//! restart every acknowledged decision is stored, `seq` is dense, and the chain and its
//! checkpoints verify, in the server and offline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::zombie_processes,
    missing_docs
)]

use serde_json::{Value, json};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use common::{call, get, repo, serve_with};

/// The database file is never made durable while the server runs: every acknowledged
/// decision must come back from the journal. The page cache is the smallest allowed, so that
/// pages are read back from the file rather than found in memory.
const SERVER_ARGS: [&str; 4] = ["--db-sync-ms", "3600000", "--db-cache-mib", "1"];

fn body(key: &str, user: usize) -> Value {
    json!({"issue_key": key, "requester": format!("user{user}@example.com"),
        "tool": "chatgpt", "purpose": "Draft customer emails", "duration_days": 14,
        "project": "AIR", "request_type": "42"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_decisions_survive_kill_9_and_the_log_verifies() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, base, _) = serve_with(data.path(), &repo().join("policies"), &SERVER_ARGS);
    let client = clearance::connect::http_client();
    let post = reqwest::Method::POST;
    let seeded = call(
        &client,
        post.clone(),
        format!("{base}/v1/tools/seed"),
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(seeded.status(), 200);
    for user in 0..20 {
        let url = format!("{base}/v1/users/user{user}@example.com");
        let put = call(
            &client,
            reqwest::Method::PUT,
            url,
            Some(json!({"groups": ["employees"]})),
        )
        .await
        .unwrap();
        assert_eq!(put.status(), 200);
    }

    // Four clients submit until the server dies under them.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, base, acknowledged) =
            (client.clone(), base.clone(), Arc::clone(&acknowledged));
        clients.push(tokio::spawn(async move {
            for n in 1.. {
                let key = format!("K{c}-{n}");
                let url = format!("{base}/v1/requests");
                match call(
                    &client,
                    reqwest::Method::POST,
                    url,
                    Some(body(&key, n % 20)),
                )
                .await
                {
                    Ok(r) if r.status().is_success() => acknowledged.lock().unwrap().push(key),
                    Ok(r) => panic!(
                        "unexpected {}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    ),
                    Err(_) => return,
                }
            }
        }));
    }
    for _ in 0..6_000 {
        if acknowledged.lock().unwrap().len() >= 200 || clients.iter().any(|c| c.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        acknowledged.lock().unwrap().len() >= 200,
        "the clients stopped early"
    );
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let (mut child, base, logged) = serve_with(data.path(), &repo().join("policies"), &[]);
    assert!(
        logged
            .iter()
            .any(|l| l.contains("applied the journal's records")),
        "the restart applied no journal records: {logged:?}"
    );
    for key in &acknowledged {
        let stored = get(&client, format!("{base}/v1/requests/{key}")).await;
        assert_eq!(stored.status(), 200, "acknowledged {key} is missing");
    }
    let report: Value = get(&client, format!("{base}/v1/audit/verify"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    // Each decision and each directory change is one entry; dense seq from 1.
    assert!(report["entries"].as_u64().unwrap() >= acknowledged.len() as u64 + 20);
    assert_eq!(report["head"]["seq"], report["entries"]);

    let export = get(&client, format!("{base}/v1/audit/export")).await;
    let export = export.text().await.unwrap();
    let key = get(&client, format!("{base}/v1/audit/public-key")).await;
    let key = key.text().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("export.jsonl"), export).unwrap();
    std::fs::write(files.path().join("key.json"), key).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["audit", "verify", "--public-key"])
        .arg(files.path().join("key.json"))
        .arg("--hmac-key")
        .arg(data.path().join("audit-hmac.key"))
        .arg(files.path().join("export.jsonl"))
        .output()
        .unwrap();
    let offline: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{offline}");
    assert_eq!(offline["entries"], report["entries"]);
    assert!(offline["unanchored"].is_null(), "{offline}");
}
