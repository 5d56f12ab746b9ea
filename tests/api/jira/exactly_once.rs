//! Exactly one comment per delivery: when Jira stores a comment and its answer is lost, when it
//! answers 429, and when it is down for ten minutes (decisions never wait for it).

use super::JiraWorld;
use crate::fake_idp::Fault;
use crate::fake_jira::JiraOp;
use crate::helpers::request_body;
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn a_comment_stored_before_a_timeout_is_found_and_not_posted_again() {
    let mut w = JiraWorld::start("internal").await;
    w.app.call_timeout = Duration::from_millis(300);
    w.app.restart().await;
    w.jira.add_issue("AIR-20", "Open");
    w.jira
        .fail_next(JiraOp::Comment, 1, Fault::slow(Duration::from_millis(900)));
    w.app
        .decide(&request_body("AIR-20", "alice@example.com", "otter-ai", 7))
        .await;
    assert_eq!(w.deliver().await["retrying"], 1);
    assert_eq!(w.comments("AIR-20").len(), 1, "Jira stored it");
    // Back to an ordinary deadline, so that a busy machine does not time the retry out too.
    w.app.call_timeout = Duration::from_secs(5);
    w.app.restart().await;
    w.app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(w.deliver().await["done"], 1);
    assert_eq!(w.comments("AIR-20").len(), 1, "exactly one comment");
    let posts = w
        .jira
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST /rest/api/3/issue/AIR-20/comment"))
        .count();
    assert_eq!(posts, 1, "looked for the mark instead of posting again");
    w.assert_spec_held();
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_jira_asks_for() {
    let w = JiraWorld::start("internal").await;
    w.jira.add_issue("AIR-21", "Open");
    w.jira.fail_next(
        JiraOp::Comment,
        1,
        Fault::status(429).header("retry-after", "30"),
    );
    w.app
        .decide(&request_body("AIR-21", "alice@example.com", "otter-ai", 7))
        .await;
    assert_eq!(w.deliver().await["retrying"], 1);
    w.app.clock.advance(chrono::Duration::seconds(29));
    assert_eq!(w.deliver().await["done"], 0);
    w.app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(w.deliver().await["done"], 1);
    assert_eq!(w.comments("AIR-21").len(), 1);
    w.assert_spec_held();
}

#[tokio::test]
async fn an_outage_delays_no_decision_and_deliveries_follow_in_order_after_it() {
    let w = JiraWorld::start("internal").await;
    w.jira.add_issue("AIR-22", "Waiting for approval");
    w.jira.fail_next(JiraOp::Any, 1_000, Fault::status(503));
    let answer = w
        .app
        .decide(&request_body("AIR-22", "alice@example.com", "otter-ai", 7))
        .await;
    let id = answer["request_id"].as_str().unwrap().to_owned();
    assert_eq!(w.app.approve(&id, "bob@example.com").await.status(), 200);
    for _ in 0..10 {
        w.deliver().await;
        w.app.clock.advance(chrono::Duration::minutes(1));
    }
    assert!(w.comments("AIR-22").is_empty());
    assert_eq!(
        w.deliveries("failed").await.len(),
        0,
        "ten minutes are within the attempts"
    );
    w.jira.lock().issues.get_mut("AIR-22").unwrap(); // still there
    clear_faults(&w);
    w.app.clock.advance(chrono::Duration::minutes(20));
    let mut runs = 0;
    while w.comments("AIR-22").len() < 2 && runs < 10 {
        w.deliver().await;
        w.app.clock.advance(chrono::Duration::minutes(20));
        runs += 1;
    }
    let texts = w.comments("AIR-22");
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("waiting for review"),
        "in order: {texts:?}"
    );
    assert!(
        texts[1].contains("signed the manager review"),
        "in order: {texts:?}"
    );
}

fn clear_faults(w: &JiraWorld) {
    w.jira.fail_next(JiraOp::Any, 0, Fault::status(503));
    w.jira.lock().clear_faults();
}

#[tokio::test]
async fn refused_credentials_hold_every_delivery_until_they_are_replaced() {
    let w = JiraWorld::start("internal").await;
    w.jira.add_issue("AIR-23", "Open");
    w.jira.add_issue("AIR-24", "Open");
    w.configure(
        serde_json::json!({"credentials": {"email": crate::fake_jira::JIRA_EMAIL,
        "api_token": "revoked-token-77"}}),
    )
    .await;
    for key in ["AIR-23", "AIR-24"] {
        w.app
            .decide(&request_body(key, "alice@example.com", "otter-ai", 7))
            .await;
    }
    let run = w.deliver().await;
    assert_eq!(run["failed"], 0, "{run}");
    let site: serde_json::Value = w
        .app
        .get("/v1/integrations/jira")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(site["status"], "credentials_refused", "{site}");
    let calls = w.jira.requests().len();
    w.app.clock.advance(chrono::Duration::minutes(5));
    w.deliver().await;
    assert_eq!(w.jira.requests().len(), calls, "held: no calls until fixed");
    let fixed = w.configure(serde_json::json!({})).await;
    assert_eq!(fixed["status"], "ok");
    assert_eq!(w.deliver().await["done"], 2);
    assert_eq!(w.comments("AIR-23").len(), 1);
    assert_eq!(w.comments("AIR-24").len(), 1);
    assert!(w.deliveries("failed").await.is_empty());
}

#[tokio::test]
async fn a_refused_delivery_fails_at_once_is_listed_and_a_retry_delivers_it() {
    let w = JiraWorld::start("internal").await;
    w.jira.lock().transitions.clear();
    w.jira.add_issue("AIR-25", "Open");
    w.jira.fail_next(JiraOp::Comment, 1, Fault::status(400));
    w.app
        .decide(&request_body("AIR-25", "alice@example.com", "grammarly", 7))
        .await;
    let run = w.deliver().await;
    assert_eq!(run["failed"], 1, "{run}");
    let failed = w.deliveries("failed").await;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["last_error"].as_str().unwrap().contains("400"),
        "{failed:?}"
    );
    let id = failed[0]["delivery_id"].as_str().unwrap();
    // Later deliveries of the issue are not held up by a failed one.
    assert_eq!(w.comments("AIR-25").len(), 1, "the grant's note went out");
    let response = w
        .app
        .post(
            &format!("/v1/deliveries/{id}/retry"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(w.deliver().await["done"], 1);
    let done: Vec<serde_json::Value> = w.deliveries("done").await;
    let retried = done.iter().find(|d| d["delivery_id"] == id).unwrap();
    assert_eq!(
        retried["transition_note"], "no transition matched; comment only",
        "{retried}"
    );
    assert_eq!(w.jira.issue("AIR-25").status, "Open");
    let again = w
        .app
        .post(
            &format!("/v1/deliveries/{id}/retry"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}
