//! Faults: answers retried after the wait the vendor asks for, jobs that fail for good and
//! are escalated and retried by hand, unknown users, refused credentials.

use super::{ALICE, BOB, GROUP, Vendor, World};
use crate::fake_idp::{Fault, OKTA_TOKEN, Op};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn a_429_with_retry_after_is_tried_again_no_sooner_than_asked() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp
        .fail_next(Op::Add, 1, Fault::status(429).header("retry-after", "2"));
    let grant = w.grant("CON-5", ALICE).await;
    assert_eq!(w.run_jobs().await["retrying"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["state"], "retrying");
    assert_eq!(job["attempts"], 1);
    let due =
        chrono::DateTime::parse_from_rfc3339(job["next_attempt_at"].as_str().unwrap()).unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(job["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - created, chrono::Duration::seconds(2));

    w.app.clock.advance(chrono::Duration::milliseconds(1900));
    assert_eq!(
        w.run_jobs().await,
        json!({"done": 0, "retrying": 0, "failed": 0, "held": 0})
    );
    let adds = |w: &World| {
        w.idp
            .requests()
            .iter()
            .filter(|r| r.starts_with("PUT"))
            .count()
    };
    assert_eq!(adds(&w), 1, "not tried before the 2 s");
    w.app.clock.advance(chrono::Duration::milliseconds(100));
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(adds(&w), 2);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    w.assert_specs_held();
}

#[tokio::test]
async fn okta_rate_limit_reset_is_read_against_the_answers_date() {
    let w = World::start(Vendor::Okta, false).await;
    // The answer's clock is an hour behind ours: the wait is reset − Date, not reset − now.
    let date = std::time::SystemTime::now() - Duration::from_secs(3600);
    let reset = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    w.idp.fail_next(
        Op::Add,
        1,
        Fault::status(429)
            .header("date", &httpdate::fmt_http_date(date))
            .header("x-rate-limit-reset", &reset.to_string()),
    );
    let grant = w.grant("CON-6", ALICE).await;
    assert_eq!(w.run_jobs().await["retrying"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    let due =
        chrono::DateTime::parse_from_rfc3339(job["next_attempt_at"].as_str().unwrap()).unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(job["created_at"].as_str().unwrap()).unwrap();
    let wait = (due - created).num_seconds();
    assert!((29..=30).contains(&wait), "waits {wait} s");
    w.assert_specs_held();
}

#[tokio::test]
async fn five_503s_fail_the_job_escalate_it_and_a_manual_retry_succeeds() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp.fail_next(Op::Add, 5, Fault::status(503));
    let grant = w.grant("CON-7", ALICE).await;
    for attempt in 1..=4 {
        assert_eq!(w.run_jobs().await["retrying"], 1, "attempt {attempt}");
        w.app.clock.advance(chrono::Duration::minutes(16));
    }
    assert_eq!(w.run_jobs().await["failed"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["state"], "failed");
    assert_eq!(job["attempts"], 5);
    assert!(job["last_error"].as_str().unwrap().contains("503"), "{job}");
    assert_eq!(w.get_grant(&grant).await["state"], "pending_provision");
    let escalations: Value = w
        .app
        .get("/v1/jobs/escalations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(escalations.as_array().unwrap().len(), 1);
    assert_eq!(escalations[0]["job_id"], job["job_id"]);
    // Not retried by itself.
    w.app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(w.run_jobs().await["done"], 0);

    let id = job["job_id"].as_str().unwrap();
    let response = w
        .app
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    let escalations: Value = w
        .app
        .get("/v1/jobs/escalations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(escalations, json!([]));
    let again = w
        .app
        .post(&format!("/v1/jobs/{id}/retry"), &json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    w.assert_specs_held();
}

#[tokio::test]
async fn a_user_the_idp_does_not_know_fails_at_once_with_a_clear_reason() {
    let w = World::start(Vendor::Okta, false).await;
    w.app
        .put_user("carol@example.com", &["employees"], Some(BOB))
        .await;
    let grant = w.grant("CON-8", "carol@example.com").await;
    assert_eq!(w.run_jobs().await["failed"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["state"], "failed");
    assert_eq!(job["attempts"], 1);
    let reason = job["last_error"].as_str().unwrap();
    assert!(
        reason.contains("knows no user with login or email carol@example.com"),
        "{reason}"
    );
    w.app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(w.run_jobs().await["failed"], 0, "not a retry loop");
    w.assert_specs_held();
}

#[tokio::test]
async fn refused_credentials_stop_the_connector_until_replaced_and_stay_secret() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp.fail_next(Op::FindUser, 1, Fault::status(401));
    let first = w.grant("CON-10", ALICE).await;
    assert_eq!(w.run_jobs().await["failed"], 1);
    let connector: Value = w.app.get("/v1/connectors/idp").await.json().await.unwrap();
    assert_eq!(connector["status"], "credentials_refused");
    assert_eq!(connector["credentials"], json!({"api_token": "set"}));
    let second = w.grant("CON-11", BOB).await;
    let calls = w.idp.requests().len();
    assert_eq!(w.run_jobs().await["held"], 1);
    assert_eq!(
        w.idp.requests().len(),
        calls,
        "a stopped connector calls nothing"
    );
    assert_eq!(w.app.get("/readyz").await.status(), StatusCode::OK);

    let fix = json!({"type": "okta", "base_url": w.prisms[0].url,
        "credentials": {"api_token": OKTA_TOKEN}});
    let fixed: Value = w
        .app
        .put("/v1/connectors/idp", &fix)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fixed["status"], "ok");
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&second).await["state"], "active");
    assert_eq!(w.get_grant(&first).await["state"], "pending_provision");

    // No answer or audit entry holds the token.
    let everything = format!(
        "{} {} {:?}",
        w.app.get("/v1/connectors").await.text().await.unwrap(),
        w.app
            .get("/v1/audit/export?format=jsonl")
            .await
            .text()
            .await
            .unwrap(),
        w.jobs_of(&first).await,
    );
    assert!(everything.contains("connector.configured"));
    assert!(!everything.contains(OKTA_TOKEN), "a credential leaked");
    w.assert_specs_held();
}

#[tokio::test]
async fn a_call_that_times_out_is_retried() {
    let mut w = World::start(Vendor::Okta, false).await;
    w.app.call_timeout = Duration::from_millis(300);
    w.app.restart().await;
    w.idp.fail_next(
        Op::Add,
        1,
        Fault::status(204).delayed(Duration::from_millis(900)),
    );
    let grant = w.grant("CON-12", ALICE).await;
    assert_eq!(w.run_jobs().await["retrying"], 1);
    let job = w.jobs_of(&grant).await.remove(0);
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{job}"
    );
    // Back to an ordinary deadline, so that a busy machine does not time the retry out too.
    w.app.call_timeout = Duration::from_secs(5);
    w.app.restart().await;
    w.app.clock.advance(chrono::Duration::seconds(3));
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    w.assert_specs_held();
}

#[tokio::test]
async fn at_most_four_calls_are_in_flight_per_connector() {
    let w = World::start(Vendor::Okta, false).await;
    for n in 1..=8 {
        let user = format!("f{n}@example.com");
        w.idp.add_user(&format!("u-f{n}"), &user, &user);
        w.idp.add_group(GROUP, "ChatGPT users", &[]);
        w.app.put_user(&user, &["employees"], Some(BOB)).await;
        w.grant(&format!("FLIGHT-{n}"), &user).await;
    }
    w.idp
        .fail_next(Op::FindUser, 8, Fault::slow(Duration::from_millis(150)));
    assert_eq!(w.run_jobs().await["done"], 8);
    let most = w.idp.lock().max_in_flight;
    assert!((2..=4).contains(&most), "{most} calls at once");
    w.assert_specs_held();
}
