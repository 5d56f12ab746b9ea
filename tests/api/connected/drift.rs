//! Drift runs against the fake Okta: findings over paged member lists, remediation through
//! ordinary jobs, and the caps that keep a wrong listing from emptying a group.

use super::{GROUP, Vendor, World};
use clearance::service::DriftConfig;
use serde_json::{Value, json};

async fn drift(w: &World) -> Value {
    let response = w.app.post("/v1/drift/run", &json!({})).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response.json().await.unwrap()
}

fn kinds(run: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = run["tools"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let who = f["user"].as_str().or(f["external_id"].as_str()).unwrap();
            (f["kind"].as_str().unwrap().to_owned(), who.to_owned())
        })
        .collect();
    found.sort();
    found
}

fn finding(kind: &str, who: &str) -> (String, String) {
    (kind.to_owned(), who.to_owned())
}

/// Alice and bob with active grants of `chat`, both members.
async fn two_members(remediate: bool, max_removal_share: f64) -> World {
    let mut w = World::start(Vendor::Okta, false).await;
    if remediate {
        w.app.drift = DriftConfig {
            remediate,
            max_removal_share,
        };
        w.app.restart().await;
    }
    w.grant("DR-1", "alice@example.com").await;
    w.grant("DR-2", "bob@example.com").await;
    assert_eq!(w.run_jobs().await["done"], 2);
    w
}

#[tokio::test]
async fn members_added_or_removed_behind_clearances_back_are_found_across_pages() {
    let w = two_members(false, 0.1).await;
    for n in 1..=2 {
        w.idp.add_user(
            &format!("u-c{n}"),
            &format!("c{n}@example.com"),
            &format!("c{n}@example.com"),
        );
    }
    // Behind clearance's back: two added, bob removed, and one nobody can name.
    w.idp.add_group(
        GROUP,
        "ChatGPT users",
        &["u-alice", "u-c1", "u-c2", "u-ghost"],
    );
    {
        let mut idp = w.idp.lock();
        idp.page_size = Some(2);
        idp.empty_page_after = Some(1);
    }
    let run = drift(&w).await;
    assert!(run["run_id"].as_str().unwrap().starts_with("drf_"), "{run}");
    assert_eq!(run["tools"][0]["members"], 4);
    assert_eq!(
        kinds(&run),
        vec![
            finding("missing_member", "bob@example.com"),
            finding("unknown_identity", "u-ghost"),
            finding("unmanaged_member", "c1@example.com"),
            finding("unmanaged_member", "c2@example.com"),
        ]
    );
    let pages: Vec<String> = w
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.starts_with(&format!("GET /api/v1/groups/{GROUP}/users")))
        .collect();
    assert_eq!(pages.len(), 3, "three pages, the second empty: {pages:?}");
    assert!(pages[0].ends_with("limit=200"), "{pages:?}");
    // Report only: nothing changed, and the run is listed with one audit entry.
    assert_eq!(w.run_jobs().await["done"], 0);
    assert_eq!(w.idp.members(GROUP).len(), 4);
    let runs: Value = w.app.get("/v1/drift").await.json().await.unwrap();
    assert_eq!(runs["runs"][0]["run_id"], run["run_id"]);
    let audited = w
        .app
        .audit_events()
        .await
        .into_iter()
        .find(|e| e["type"] == "drift.checked")
        .unwrap();
    assert_eq!(audited["data"]["unmanaged_member"], 2, "{audited}");
    assert_eq!(audited["data"]["missing_member"], 1);
    w.assert_specs_held();
}

#[tokio::test]
async fn remediation_removes_unmanaged_members_and_adds_back_missing_ones() {
    let w = two_members(true, 0.5).await;
    w.idp.add_user("u-c1", "c1@example.com", "c1@example.com");
    w.idp
        .add_group(GROUP, "ChatGPT users", &["u-alice", "u-c1", "u-ghost"]);
    let run = drift(&w).await;
    assert_eq!(run["tools"][0]["remediation_jobs"], 2, "{run}");
    assert_eq!(w.run_jobs().await["done"], 2);
    let mut members = w.idp.members(GROUP);
    members.sort();
    // The member nobody can name stays: clearance removes only whom it can identify.
    assert_eq!(members, vec!["u-alice", "u-bob", "u-ghost"]);
    let again = drift(&w).await;
    assert_eq!(kinds(&again), vec![finding("unknown_identity", "u-ghost")]);
    assert_eq!(again["tools"][0]["remediation_jobs"], 0);
    w.assert_specs_held();
}

#[tokio::test]
async fn an_empty_listing_or_too_many_removals_change_nothing() {
    let w = two_members(true, 0.1).await;
    w.idp.lock().empty_lists = true;
    let run = drift(&w).await;
    assert_eq!(run["tools"][0]["findings"].as_array().unwrap().len(), 2);
    assert_eq!(run["tools"][0]["remediation_jobs"], 0);
    let held = run["tools"][0]["remediation_held"].as_str().unwrap();
    assert!(held.contains("listed no members"), "{held}");

    w.idp.lock().empty_lists = false;
    for n in 1..=3 {
        w.idp.add_user(
            &format!("u-c{n}"),
            &format!("c{n}@example.com"),
            &format!("c{n}@example.com"),
        );
    }
    w.idp.add_group(
        GROUP,
        "ChatGPT users",
        &["u-alice", "u-bob", "u-c1", "u-c2", "u-c3"],
    );
    let run = drift(&w).await;
    let held = run["tools"][0]["remediation_held"].as_str().unwrap();
    assert!(held.contains("3 removals exceed the cap of 0"), "{held}");
    assert_eq!(w.run_jobs().await["done"], 0);
    assert_eq!(w.idp.members(GROUP).len(), 5);
    w.assert_specs_held();
}

#[tokio::test]
async fn drift_runs_are_pruned_after_the_retention_period() {
    let w = two_members(false, 0.1).await;
    drift(&w).await;
    w.app.clock.advance(chrono::Duration::days(366));
    let report = w.app.sweep().await;
    assert_eq!(report["records_pruned"], 1, "{report}");
    let runs: Value = w.app.get("/v1/drift").await.json().await.unwrap();
    assert_eq!(runs["runs"], json!([]));
}
