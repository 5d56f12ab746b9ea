//! `kill -9` of the real server binary after another system acted and before clearance
//! recorded it. An IdP change: after the restart the job runs again, the IdP's idempotent
//! answer is taken, and the end state is the one an uninterrupted run reaches; the whole log,
//! at debug level, never holds a credential. A Jira comment: after the restart the delivery
//! finds its comment by its mark and posts nothing more.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::zombie_processes,
    missing_docs
)]

mod common;
#[allow(dead_code)]
#[path = "api/fake_idp/mod.rs"]
mod fake_idp;
#[allow(dead_code)]
#[path = "api/fake_jira/mod.rs"]
mod fake_jira;
#[allow(dead_code)]
#[path = "api/prism.rs"]
mod prism;

use common::{TOKEN, call, get, repo, spawn_server_logging};
use fake_idp::{FakeIdp, Fault, OKTA_TOKEN, Op};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn put(client: &reqwest::Client, url: String, body: Value) {
    let response = call(client, Method::PUT, url, Some(body)).await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn grant_state(client: &reqwest::Client, base: &str, id: &str) -> String {
    let grant: Value = get(client, format!("{base}/v1/grants/{id}"))
        .await
        .json()
        .await
        .unwrap();
    grant["state"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_off_between_the_idp_call_and_its_record_runs_again_to_the_same_end() {
    let idp = FakeIdp::start().await;
    let okta = prism::Prism::start("okta-groups-subset.yaml", &idp.address).await;
    idp.add_user("u-alice", "alice@example.com", "alice@example.com");
    idp.add_group("00gcrash", "Crash test", &[]);
    // The first add is made at once and answered three seconds late.
    idp.fail_next(Op::Add, 1, Fault::slow(Duration::from_secs(3)));

    let data = tempfile::tempdir().unwrap();
    let policies = repo().join("policies");
    let args = ["--job-poll-ms", "100"];
    let (mut child, base, _, log) = spawn_server_logging(data.path(), &policies, &args, "debug");
    let client = clearance::connect::http_client();
    put(
        &client,
        format!("{base}/v1/connectors/okta-main"),
        json!({"type": "okta", "base_url": okta.url, "credentials": {"api_token": OKTA_TOKEN}}),
    )
    .await;
    put(
        &client,
        format!("{base}/v1/users/alice@example.com"),
        json!({"groups": ["employees"]}),
    )
    .await;
    put(
        &client,
        format!("{base}/v1/tools/chat"),
        json!({"name": "Chat", "provider": "Vendor", "status": "approved", "risk": "low",
            "default_duration_days": 30,
            "connector": {"type": "okta-group", "connector_id": "okta-main", "group": "00gcrash"}}),
    )
    .await;
    let answer: Value = call(
        &client,
        Method::POST,
        format!("{base}/v1/requests"),
        Some(
            json!({"issue_key": "CRASH-1", "requester": "alice@example.com", "tool": "chat",
            "purpose": "Draft customer emails", "duration_days": 7}),
        ),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let grant = answer["grant"]["grant_id"].as_str().unwrap().to_owned();

    for _ in 0..200 {
        if idp.members("00gcrash") == ["u-alice"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        idp.members("00gcrash"),
        ["u-alice"],
        "the IdP made the change"
    );
    child.kill().unwrap(); // SIGKILL while the answer is still on its way
    child.wait().unwrap();
    let mut log_lines = log.lock().unwrap().clone();

    let (mut child, base, logged, log) =
        spawn_server_logging(data.path(), &policies, &args, "debug");
    log_lines.extend(logged);
    assert_eq!(
        grant_state(&client, &base, &grant).await,
        "pending_provision"
    );
    for _ in 0..400 {
        if grant_state(&client, &base, &grant).await == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(grant_state(&client, &base, &grant).await, "active");
    assert_eq!(idp.members("00gcrash"), ["u-alice"], "a member once");
    let adds = idp
        .requests()
        .iter()
        .filter(|r| r.starts_with("PUT /api/v1/groups/00gcrash/users/u-alice"))
        .count();
    assert_eq!(adds, 2, "delivered twice, at least once each run");
    let report: Value = get(&client, format!("{base}/v1/audit/verify"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let export = get(&client, format!("{base}/v1/audit/export"))
        .await
        .text()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    log_lines.extend(log.lock().unwrap().clone());

    assert!(log_lines.len() > 10, "the log was read: {log_lines:?}");
    for text in log_lines.iter().chain([&export]) {
        assert!(!text.contains(OKTA_TOKEN), "a credential leaked: {text}");
        assert!(!text.contains(TOKEN), "the admin token leaked: {text}");
    }
    let needle = OKTA_TOKEN.as_bytes();
    let mut files = 0;
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the credential is in {} in the clear",
                path.display()
            );
        }
    }
    assert!(
        files >= 3,
        "the database, its journal and the key files were read"
    );
    okta.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_posted_before_a_kill_is_not_posted_again() {
    let jira = fake_jira::FakeJira::start().await;
    let prism = prism::Prism::start("jira-jsm-subset.json", &jira.address).await;
    jira.add_issue("CRASH-2", "Open");
    // The comment is stored at once and answered three seconds late.
    jira.fail_next(
        fake_jira::JiraOp::Comment,
        1,
        Fault::slow(Duration::from_secs(3)),
    );
    let data = tempfile::tempdir().unwrap();
    let policies = repo().join("policies");
    let args = ["--job-poll-ms", "100"];
    let (mut child, base, _, _) = spawn_server_logging(data.path(), &policies, &args, "info");
    let client = clearance::connect::http_client();
    put(
        &client,
        format!("{base}/v1/integrations/jira"),
        json!({"base_url": prism.url, "comments": "internal",
            "credentials": {"email": fake_jira::JIRA_EMAIL, "api_token": fake_jira::JIRA_TOKEN}}),
    )
    .await;
    let seeded = call(
        &client,
        Method::POST,
        format!("{base}/v1/tools/seed"),
        Some(json!({})),
    );
    assert_eq!(seeded.await.unwrap().status(), 200);
    put(
        &client,
        format!("{base}/v1/users/alice@example.com"),
        json!({"groups": ["employees"]}),
    )
    .await;
    let decided = call(
        &client,
        Method::POST,
        format!("{base}/v1/requests"),
        Some(
            json!({"issue_key": "CRASH-2", "requester": "alice@example.com",
            "tool": "otter-ai", "purpose": "Meeting notes", "duration_days": 7}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(decided.status(), 201);
    for _ in 0..200 {
        if !jira.issue("CRASH-2").comments.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        jira.issue("CRASH-2").comments.len(),
        1,
        "Jira stored the comment"
    );
    child.kill().unwrap(); // SIGKILL before the answer arrives
    child.wait().unwrap();

    let (mut child, base, _, _) = spawn_server_logging(data.path(), &policies, &args, "info");
    let mut done = Vec::new();
    for _ in 0..400 {
        done = get(&client, format!("{base}/v1/deliveries?state=done"))
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap();
        if !done.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(done.len(), 1, "delivered after the restart");
    assert_eq!(
        jira.issue("CRASH-2").comments.len(),
        1,
        "exactly one comment"
    );
    let posts = jira
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST /rest/api/3/issue/CRASH-2/comment"))
        .count();
    assert_eq!(posts, 1, "found by its mark, not posted again");
    child.kill().unwrap();
    child.wait().unwrap();
    prism.assert_clean();
}
