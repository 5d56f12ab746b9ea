//! Grants that change group membership by themselves: fulfilment, revocation, expiry, the
//! Entra token, idempotent answers, a revocation racing its fulfilment, pacing.

use super::{ALICE, BOB, GROUP, Vendor, World};
use crate::fake_idp::{Fault, Op};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn an_auto_approved_okta_grant_is_fulfilled_by_clearance_and_revocation_removes_it() {
    let w = World::start(Vendor::Okta, true).await;
    let grant = w.grant("CON-1", ALICE).await;
    let active = w.until_grant(&grant, "active").await;
    assert!(active["expires_at"].is_string(), "{active}");
    assert_eq!(w.idp.members(GROUP), vec!["u-alice"]);
    let job = w.jobs_of(&grant).await.remove(0);
    assert_eq!(job["mode"], "connector");
    assert_eq!(job["state"], "done");
    assert_eq!(job["outcome"], "fulfilled");
    assert_eq!(job["provider"]["status"], 204);
    assert_eq!(job["provider"]["request_id"], "req-add");
    let identities: Value = w
        .app
        .get(&format!("/v1/users/{ALICE}/identities"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(identities[0]["external_id"], "u-alice");
    assert_eq!(identities[0]["source"], "lookup");

    let response = w
        .app
        .post(
            &format!("/v1/grants/{grant}/revoke"),
            &json!({"reason": "left"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let job = w.until_last_job_done(&grant).await;
    assert_eq!(job["kind"], "deprovision");
    assert_eq!(job["outcome"], "deprovisioned");
    assert!(w.idp.members(GROUP).is_empty());
    let fulfilled = w
        .app
        .audit_events()
        .await
        .into_iter()
        .find(|e| e["type"] == "grant.fulfilled" && e["subject"] == grant.as_str());
    let fulfilled = fulfilled.expect("grant.fulfilled audited");
    assert_eq!(fulfilled["data"]["provider"]["status"], 204, "{fulfilled}");
    w.assert_specs_held();
}

#[tokio::test]
async fn expiry_removes_the_member_through_the_sweep() {
    let w = World::start(Vendor::Okta, false).await;
    let grant = w.grant("CON-2", BOB).await;
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    assert_eq!(w.idp.members(GROUP), vec!["u-bob"]);
    w.app.clock.advance(chrono::Duration::days(8));
    let report = w.app.sweep().await;
    assert_eq!(report["grants_expired"], 1, "{report}");
    assert_eq!(report["jobs"]["done"], 1, "{report}");
    assert!(w.idp.members(GROUP).is_empty());
    w.assert_specs_held();
}

#[tokio::test]
async fn entra_fetches_a_token_refreshes_it_on_401_and_takes_already_done_answers() {
    let w = World::start(Vendor::Entra, false).await;
    // A guest: the UPN differs from the email, so the user is found by `mail`.
    w.idp.lock().users[0].login = "alice_example.com#EXT#@tenant.onmicrosoft.com".into();
    let grant = w.grant("CON-3", ALICE).await;
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&grant).await["state"], "active");
    assert_eq!(w.idp.members(GROUP), vec!["u-alice"]);
    assert_eq!(w.idp.lock().tokens_issued, 1);

    // Bob is already a member when his grant is fulfilled: Graph's 400 "already exist" is
    // success. The token expired meanwhile: a 401 fetches a new one, once.
    w.idp
        .add_group(GROUP, "ChatGPT users", &["u-alice", "u-bob"]);
    w.idp.expire_tokens();
    let bobs = w.grant("CON-4", BOB).await;
    assert_eq!(w.run_jobs().await["done"], 1);
    assert_eq!(w.get_grant(&bobs).await["state"], "active");
    assert_eq!(w.idp.lock().tokens_issued, 2);
    let job = w.jobs_of(&bobs).await.remove(0);
    assert_eq!(job["provider"]["status"], 400, "{job}");

    // Alice was removed behind clearance's back: the 404 of the removal is success.
    w.idp.add_group(GROUP, "ChatGPT users", &["u-bob"]);
    w.app
        .post(
            &format!("/v1/grants/{grant}/revoke"),
            &json!({"reason": "done"}),
        )
        .await;
    assert_eq!(w.run_jobs().await["done"], 1);
    let job = w.jobs_of(&grant).await.pop().unwrap();
    assert_eq!(
        (job["state"].as_str(), job["provider"]["status"].as_u64()),
        (Some("done"), Some(404))
    );
    assert_eq!(w.idp.members(GROUP), vec!["u-bob"]);
    // Removal goes through `…/members/{id}/$ref`, never the user object.
    let removes: Vec<String> = w
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("DELETE"))
        .collect();
    assert_eq!(
        removes,
        vec![format!("DELETE /groups/{GROUP}/members/u-alice/$ref")]
    );
    w.assert_specs_held();
}

#[tokio::test]
async fn a_grant_revoked_while_its_member_is_being_added_ends_without_the_member() {
    let w = World::start(Vendor::Okta, true).await;
    w.idp
        .fail_next(Op::Add, 1, Fault::slow(Duration::from_millis(800)));
    let grant = w.grant("CON-9", ALICE).await;
    for _ in 0..200 {
        if w.idp.requests().iter().any(|r| r.starts_with("PUT")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = w
        .app
        .post(
            &format!("/v1/grants/{grant}/revoke"),
            &json!({"reason": "changed mind"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let job = w.until_last_job_done(&grant).await;
    assert_eq!(job["kind"], "deprovision");
    assert!(w.idp.members(GROUP).is_empty(), "{:?}", w.idp.requests());
    assert_eq!(w.get_grant(&grant).await["state"], "revoked");
    w.assert_specs_held();
}

#[tokio::test]
async fn calls_are_paced_under_the_announced_rate_limit_and_counted_in_the_metrics() {
    let w = World::start(Vendor::Okta, false).await;
    w.idp.limit_rate(600);
    for n in 0..4 {
        let user = format!("p{n}@example.com");
        w.idp.add_user(&format!("u-p{n}"), &user, &user);
        w.app.put_user(&user, &["employees"], Some(BOB)).await;
        w.grant(&format!("PACE-{}", n + 1), &user).await;
    }
    assert_eq!(w.run_jobs().await["done"], 4);
    assert_eq!(w.idp.lock().rate_limited, 0, "no call went over the limit");
    let metrics = w.app.get("/metrics").await.text().await.unwrap();
    let paced = metrics
        .lines()
        .find(|l| l.starts_with("clearance_connector_paced_seconds_total{connector=\"idp\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap();
    assert!(paced > 0.0, "calls waited for their turn: {metrics}");
    assert!(
        metrics.contains("clearance_connector_calls_total{connector=\"idp\",status=\"2xx\"} 8"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "clearance_connector_jobs_total{connector=\"idp\",kind=\"fulfil\",outcome=\"done\"} 4"
    ));
    w.assert_specs_held();
}
