//! The whole life of a grant, walked with the injected clock.

use crate::helpers::{TestApp, error_code, request_body, spawn_app};
use crate::review_helpers::{ok_json, refusal_codes};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The standard directory plus a security reviewer, an approver and an employee.
pub async fn review_app() -> TestApp {
    let app = spawn_app().await.with_defaults().await;
    app.put_user("carol@example.com", &["employees", "security"], None)
        .await;
    app.put_user("dave@example.com", &["employees"], None).await;
    app.put_user("erin@example.com", &["employees", "approvers"], None)
        .await;
    app
}

/// alice asks for midjourney (high risk): manager and security must sign off.
pub async fn high_risk_request(app: &TestApp, key: &str) -> String {
    let answer = app
        .decide(&request_body(key, "alice@example.com", "midjourney", 30))
        .await;
    assert_eq!(answer["status"], "pending");
    assert_eq!(
        answer["decision"]["required_reviews"],
        json!(["manager", "security"])
    );
    answer["request_id"].as_str().unwrap().to_owned()
}

/// alice's grammarly request (low risk: auto-approved), fulfilled; returns the grant id.
async fn active_low_risk_grant(app: &TestApp) -> String {
    let answer = app
        .decide(&request_body("AIR-1", "alice@example.com", "grammarly", 30))
        .await;
    let grant = answer["grant"]["grant_id"].as_str().unwrap().to_owned();
    ok_json(app.fulfill(&grant).await).await;
    grant
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_grant_is_reviewed_fulfilled_recertified_extended_and_expires() {
    let app = review_app().await;
    let id = high_risk_request(&app, "AIR-1").await;

    let own = app.approve(&id, "alice@example.com").await;
    assert!(
        refusal_codes(own)
            .await
            .contains(&"self_approval".to_owned())
    );
    let wrong_group = app.approve(&id, "dave@example.com").await;
    assert_eq!(refusal_codes(wrong_group).await, ["no_permit"]);

    let manager = ok_json(app.approve(&id, "bob@example.com").await).await;
    assert_eq!(manager["approved_stages"], json!(["manager"]));
    assert_eq!(manager["remaining_reviews"], json!(["security"]));
    assert_eq!(manager["status"], "pending");
    assert!(manager["grant"].is_null());
    let again = app.approve(&id, "bob@example.com").await;
    assert!(
        refusal_codes(again)
            .await
            .contains(&"already_approved_a_stage".to_owned())
    );

    let security = ok_json(app.approve(&id, "carol@example.com").await).await;
    assert_eq!(security["status"], "approved");
    assert_eq!(security["remaining_reviews"], json!([]));
    assert_eq!(security["grant"]["state"], "pending_provision");
    let grant_id = security["grant"]["grant_id"].as_str().unwrap().to_owned();
    let stored = ok_json(app.request(&id).await).await;
    let version = app.active_policy().await["version"].clone();
    assert_eq!(stored["approvals"][1]["policy_version"], version);
    assert_eq!(stored["decision"]["policy_version"], version);
    assert_eq!(
        app.deny(&id, "carol@example.com").await.status(),
        StatusCode::CONFLICT
    );

    let fulfil = app.jobs("fulfil").await;
    assert_eq!(fulfil.len(), 1);
    assert_eq!(fulfil[0]["grant_id"], grant_id.as_str());
    let active = ok_json(app.fulfill(&grant_id).await).await;
    assert_eq!(active["state"], "active");
    let start = time(&active["starts_at"]);
    assert_eq!(time(&active["expires_at"]), start + Duration::days(30));
    assert!(app.jobs("fulfil").await.is_empty());
    assert_eq!(
        app.access("alice@example.com").await[0]["expiry_label"],
        "30 days remaining"
    );

    app.advance_days(16);
    assert_eq!(app.sweep().await["recertifications"], 1);
    assert_eq!(
        app.sweep().await["recertifications"],
        0,
        "sweeps are idempotent"
    );
    let recerts = app.recerts().await;
    assert_eq!(recerts.len(), 1);
    let kept = ok_json(
        app.keep(recerts[0]["recert_id"].as_str().unwrap(), "bob@example.com")
            .await,
    )
    .await;
    assert_eq!(time(&kept["expires_at"]), start + Duration::days(60));
    assert!(app.recerts().await.is_empty());

    app.advance_days(45); // day 61: one day past the extended expiry
    assert_eq!(app.sweep().await["grants_expired"], 1);
    assert_eq!(app.sweep().await["grants_expired"], 0);
    assert_eq!(app.grant(&grant_id).await["state"], "expired");
    assert_eq!(app.jobs("deprovision").await.len(), 1);
    assert!(app.access("alice@example.com").await.is_empty());

    app.advance_days(2); // 3 days after expiry: inside the 7-day grace
    let back = ok_json(app.extend(&grant_id, 7).await).await;
    assert_eq!(back["state"], "active");
    assert!(
        app.jobs("deprovision").await.is_empty(),
        "the pending deprovision is cancelled"
    );

    app.advance_days(16); // 9 days after the new expiry
    assert_eq!(app.sweep().await["grants_expired"], 1);
    let late = app.extend(&grant_id, 7).await;
    assert_eq!(refusal_codes(late).await, ["extension_grace_expired"]);
    assert_eq!(app.grant(&grant_id).await["state"], "expired");

    let job = app.jobs("deprovision").await[0]["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ok_json(app.complete_job(&job, "deprovisioned").await).await["outcome"],
        "deprovisioned"
    );
    let verified = ok_json(app.complete_job(&job, "verified").await).await;
    assert!(verified["verified_at"].is_string());
    assert_eq!(
        error_code(app.complete_job(&job, "verified").await).await,
        "invalid_transition"
    );
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn an_extension_past_180_days_from_the_start_is_refused() {
    let app = review_app().await;
    let grant = &active_low_risk_grant(&app).await;
    let refused = app.extend(grant, 151).await;
    assert_eq!(refusal_codes(refused).await, ["extension_exceeds_max"]);
    let ok = ok_json(app.extend(grant, 150).await).await;
    assert_eq!(ok["extended_days"], 150);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn revoking_a_grant_ends_it_and_opens_a_deprovision_job() {
    let app = review_app().await;
    let grant = &active_low_risk_grant(&app).await;
    let revoked = ok_json(app.revoke(grant).await).await;
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(revoked["end_reason"], "left the team");
    let jobs = app.jobs("deprovision").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["grant_id"], grant.as_str());
    assert_eq!(
        error_code(app.revoke(grant).await).await,
        "invalid_transition"
    );
    assert_eq!(
        error_code(app.fulfill(grant).await).await,
        "invalid_transition"
    );
    let listed = app.grants("user=alice@example.com&state=revoked").await;
    assert_eq!(listed.len(), 1);
    // Access is gone, so a new request may enter the workflow again.
    let again = app
        .decide(&request_body("AIR-2", "alice@example.com", "grammarly", 30))
        .await;
    assert_eq!(again["status"], "approved");
    assert_eq!(app.grants("state=revoked").await.len(), 1);
    assert_eq!(app.grants("state=pending_provision").await.len(), 1);
    assert_eq!(app.grants("tool=grammarly").await.len(), 2);
    assert!(app.grants("tool=cursor").await.is_empty());
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn an_active_grant_stops_counting_as_open_at_its_expiry_before_any_sweep() {
    let app = review_app().await;
    active_low_risk_grant(&app).await;
    let duplicate = app
        .decide(&request_body("AIR-2", "alice@example.com", "grammarly", 30))
        .await;
    assert_eq!(duplicate["status"], "denied");
    app.advance_days(29);
    let still_open = app
        .decide(&request_body("AIR-3", "alice@example.com", "grammarly", 30))
        .await;
    assert_eq!(still_open["status"], "denied");
    app.advance_days(2);
    // Past its expiry, with no sweep run: the old grant is still `active` in the store but
    // no longer open, so the renewal enters the workflow.
    assert_eq!(app.grants("state=active").await.len(), 1);
    let renewal = app
        .decide(&request_body("AIR-4", "alice@example.com", "grammarly", 30))
        .await;
    assert_eq!(renewal["status"], "approved");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_request_waiting_past_the_sla_is_escalated_once_per_breach() {
    let app = review_app().await;
    let id = high_risk_request(&app, "AIR-1").await;
    app.clock.advance(Duration::hours(71));
    assert_eq!(app.sweep().await["escalations"], 0);
    app.clock.advance(Duration::hours(2));
    assert_eq!(app.sweep().await["escalations"], 1);
    assert_eq!(app.sweep().await["escalations"], 0);
    let open = app.escalations().await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["request_id"], id.as_str());
    assert_eq!(open[0]["target"], "group:approvers");
    assert_eq!(open[0]["remaining_stages"], json!(["manager", "security"]));
    app.advance_days(3);
    assert_eq!(app.sweep().await["escalations"], 1, "a second breach");
    assert_eq!(app.insights().await["open_escalations"], 2);
    ok_json(app.deny(&id, "bob@example.com").await).await;
    assert!(app.escalations().await.is_empty());
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_stale_request_expires_and_can_no_longer_be_approved() {
    let app = review_app().await;
    let id = high_risk_request(&app, "AIR-1").await;
    app.clock.advance(Duration::days(30) - Duration::minutes(1));
    assert_eq!(app.sweep().await["requests_expired"], 0);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(app.sweep().await["requests_expired"], 1);
    assert_eq!(app.sweep().await["requests_expired"], 0);
    let stored = ok_json(app.request(&id).await).await;
    assert_eq!(stored["status"], "expired");
    assert_eq!(stored["closed"]["by"], "system:sweep");
    let late = app.approve(&id, "bob@example.com").await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(late).await, "request_not_pending");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn insights_count_outcomes_grants_and_time_to_decision() {
    let app = review_app().await;
    active_low_risk_grant(&app).await;
    let id = high_risk_request(&app, "AIR-2").await;
    app.clock.advance(Duration::minutes(90));
    ok_json(app.deny(&id, "bob@example.com").await).await;
    app.decide(&request_body("AIR-3", "alice@example.com", "nope-ai", 30))
        .await;

    let insights = app.insights().await;
    assert_eq!(
        insights["requests_by_month"],
        json!([{"month": "2026-01", "outcomes": {"auto_approved": 1, "denied": 1, "needs_review": 1}}])
    );
    assert_eq!(
        insights["active_grants_by_tool"],
        json!([{"tool": "grammarly", "risk": "low", "active": 1}])
    );
    assert_eq!(insights["active_grants_by_risk"], json!({"low": 1}));
    assert_eq!(insights["median_minutes_to_decision"], 90);
    assert_eq!(insights["grants_expiring_30d"], 1);
    app.assert_every_decision_replays().await;
}
