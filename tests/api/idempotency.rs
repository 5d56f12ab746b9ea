//! Retries are safe, conflicting reuse of an issue key is refused, and races are safe.

use crate::helpers::{codes, error_code, request_body, spawn_app};
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn the_same_issue_key_and_body_returns_the_stored_answer() {
    let app = spawn_app().await.with_defaults().await;
    let body = request_body("AIR-7", "alice@example.com", "grammarly", 30);
    let first = app.decide(&body).await;
    app.clock.advance(chrono::Duration::hours(1));
    let retry = app.submit(&body).await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry, first);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn the_same_issue_key_with_another_body_is_a_conflict() {
    let app = spawn_app().await.with_defaults().await;
    app.decide(&request_body("AIR-7", "alice@example.com", "grammarly", 30))
        .await;
    let other = app
        .submit(&request_body("AIR-7", "alice@example.com", "grammarly", 31))
        .await;
    assert_eq!(other.status(), 409);
    assert_eq!(error_code(other).await, "issue_key_conflict");
    let stored: Value = app.request("AIR-7").await.json().await.unwrap();
    assert_eq!(stored["duration_days"], 30);
    app.assert_every_decision_replays().await;
}

async fn race(
    app: Arc<crate::helpers::TestApp>,
    project: &str,
    tool: &str,
    n: usize,
) -> Vec<Value> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = app.clone();
        let body = request_body(
            &format!("{project}-{}", i + 1),
            "alice@example.com",
            tool,
            30,
        );
        tasks.push(tokio::spawn(async move { app.decide(&body).await }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_simultaneous_requests_for_one_tool_exactly_one_enters_the_workflow() {
    let app = Arc::new(spawn_app().await.with_defaults().await);
    for (project, tool, entered) in [("GR", "grammarly", "approved"), ("CU", "cursor", "pending")] {
        let answers = race(app.clone(), project, tool, 24).await;
        let winners: Vec<_> = answers.iter().filter(|a| a["status"] == entered).collect();
        assert_eq!(winners.len(), 1, "{tool}: {answers:?}");
        for loser in answers.iter().filter(|a| a["status"] != entered) {
            assert_eq!(codes(loser), ["duplicate_request"], "{tool}");
        }
        let listed: Vec<Value> = app
            .get(&format!(
                "/v1/requests?requester=alice@example.com&tool={tool}&limit=500"
            ))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed.len(), 24);
    }
    app.assert_every_decision_replays().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_retries_of_one_issue_key_record_one_request() {
    let app = Arc::new(spawn_app().await.with_defaults().await);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let r = app
                .submit(&request_body("AIR-9", "alice@example.com", "cursor", 30))
                .await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body["request_id"].as_str().unwrap().to_owned())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|(s, id)| (*s == 201 || *s == 200) && *id == results[0].1)
    );
    app.assert_every_decision_replays().await;
}
