//! Auditors' questions: decisions by version and window, version history, diffs, replay and
//! what-if over recorded requests.

use crate::helpers::{TestApp, error_code, request_body, spawn_app};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The shipped policy files with one edit applied, as a what-if body.
fn candidate(app: &TestApp, file: &str, from: &str, to: &str) -> Vec<Value> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(app.policies_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let mut content = std::fs::read_to_string(&path).unwrap();
        if name == file {
            assert!(content.contains(from), "{file} does not contain {from:?}");
            content = content.replace(from, to);
        }
        files.push(json!({"path": name, "content": content}));
    }
    files
}

fn issue_keys(items: &Value, field: &str) -> BTreeSet<String> {
    items[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["issue_key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn what_if_lowering_the_high_risk_maximum_lists_exactly_the_longer_high_risk_requests() {
    let app = spawn_app().await.with_defaults().await;
    app.put_tool("deepthink", "high", "approved").await;
    app.put_tool("scribe", "medium", "approved").await;
    app.put_tool("jotter", "low", "approved").await;
    // (issue key, tool, days); each by its own requester so none is a duplicate.
    let asked = [
        ("AIR-1", "deepthink", 3),
        ("AIR-2", "deepthink", 7),
        ("AIR-3", "deepthink", 8),
        ("AIR-4", "deepthink", 20),
        ("AIR-5", "deepthink", 30),
        ("AIR-6", "scribe", 20),
        ("AIR-7", "scribe", 60),
        ("AIR-8", "jotter", 14),
        ("AIR-9", "jotter", 120),
    ];
    for (n, (key, tool, days)) in asked.iter().enumerate() {
        let user = format!("user{n}@example.com");
        app.put_user(&user, &["employees"], Some("bob@example.com"))
            .await;
        app.decide(&request_body(key, &user, tool, *days)).await;
        app.clock.advance(chrono::Duration::hours(1));
    }

    let files = candidate(
        &app,
        "duration.cedar",
        "resource.risk == \"high\" && context.duration_days > 30",
        "resource.risk == \"high\" && context.duration_days > 7",
    );
    let response = app
        .post("/v1/policies/what-if", &json!({ "files": files }))
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["evaluated"], 9);
    assert_eq!(answer["changed_count"], 3);
    assert_eq!(
        issue_keys(&answer, "changed"),
        BTreeSet::from(["AIR-3".to_owned(), "AIR-4".into(), "AIR-5".into()])
    );
    for changed in answer["changed"].as_array().unwrap() {
        assert_eq!(changed["before"]["outcome"], "needs_review");
        assert_eq!(changed["after"]["outcome"], "denied");
        assert_eq!(
            changed["after"]["reasons"][0]["code"],
            "duration_exceeds_max"
        );
    }
    // Nothing was activated or recorded.
    assert_eq!(app.active_policy().await["seq"], 1);

    // A window leaves out requests decided before it.
    let from = app.now() - chrono::Duration::minutes(330);
    let windowed: Value = app
        .post(
            "/v1/policies/what-if",
            &json!({ "files": files, "from": from }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(windowed["evaluated"], 5, "{windowed}");
    assert_eq!(
        issue_keys(&windowed, "changed"),
        BTreeSet::from(["AIR-5".to_owned()])
    );
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn what_if_refuses_bad_candidates_and_windows_and_is_for_auditors() {
    let app = spawn_app().await.with_defaults().await;
    let broken = json!({"files": [{"path": "x.cedar", "content": "permit (principal,"}]});
    let response = app.post("/v1/policies/what-if", &broken).await;
    assert_eq!(response.status(), 422);
    assert_eq!(error_code(response).await, "invalid_policy");

    for files in [
        json!([]),
        json!([{"path": "../x.cedar", "content": ""}]),
        json!([{"path": "x.txt", "content": ""}]),
    ] {
        let response = app
            .post("/v1/policies/what-if", &json!({ "files": files }))
            .await;
        assert_eq!(response.status(), 400, "{files}");
        assert_eq!(error_code(response).await, "validation_failed");
    }

    let files = candidate(&app, "duration.cedar", "", "");
    let too_long = json!({"files": files, "from": "2024-01-01T00:00:00Z",
        "to": "2026-01-01T00:00:00Z"});
    let response = app.post("/v1/policies/what-if", &too_long).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "export_window_too_large");

    // A bundle may be larger than other bodies (up to 1 MiB), but not without bound.
    let mut big = files.clone();
    big.push(json!({"path": "notes.cedar", "content": format!("// {}\n", "x".repeat(200_000))}));
    let response = app
        .post("/v1/policies/what-if", &json!({ "files": big }))
        .await;
    assert_eq!(response.status(), 200);
    big.push(json!({"path": "more.cedar", "content": format!("// {}\n", "x".repeat(1_100_000))}));
    let response = app
        .post("/v1/policies/what-if", &json!({ "files": big }))
        .await;
    assert_eq!(response.status(), 413);

    for (role, status) in [("automation", 403), ("approver", 403), ("auditor", 200)] {
        let token = app.create_token(role).await;
        let body = json!({ "files": files });
        let post = reqwest::Method::POST;
        let response = app
            .send_as(&token, post, "/v1/policies/what-if", Some(&body))
            .await;
        assert_eq!(response.status(), status, "{role}");
    }
    assert_eq!(app.active_policy().await["seq"], 1);
}

/// Two decisions under version 1, a reload, two under version 2.
async fn two_versions(app: &TestApp) {
    for (key, user) in [("AIR-1", "alice@example.com"), ("AIR-2", "bob@example.com")] {
        app.decide(&request_body(key, user, "otter-ai", 10)).await;
        app.clock.advance(chrono::Duration::hours(1));
    }
    app.edit_policy(
        "duration.cedar",
        "context.duration_days > 30",
        "context.duration_days > 7",
    );
    assert_eq!(app.reload().await.status(), 200);
    app.clock.advance(chrono::Duration::hours(1));
    for (key, user) in [("AIR-3", "alice@example.com"), ("AIR-4", "bob@example.com")] {
        app.decide(&request_body(key, user, "grammarly", 10)).await;
        app.clock.advance(chrono::Duration::hours(1));
    }
}

#[tokio::test]
async fn decisions_are_listed_by_version_and_window_page_by_page() {
    let app = spawn_app().await.with_defaults().await;
    let start = app.now();
    two_versions(&app).await;
    let history: Value = app.get("/v1/policies/history").await.json().await.unwrap();
    let v1 = history[0]["version"].as_str().unwrap();

    let all = app.decisions("").await;
    assert_eq!(issue_keys(&all, "decisions").len(), 4);
    assert!(all["next"].is_null());
    let by_hash = app.decisions(&format!("policy_version={v1}")).await;
    let by_seq = app.decisions("policy_version=2").await;
    assert_eq!(
        issue_keys(&by_hash, "decisions"),
        BTreeSet::from(["AIR-1".to_owned(), "AIR-2".into()])
    );
    assert_eq!(by_hash["decisions"][0]["decision"]["policy_version"], v1);
    assert_eq!(
        issue_keys(&by_seq, "decisions"),
        BTreeSet::from(["AIR-3".to_owned(), "AIR-4".into()])
    );

    // Windows are inclusive at both ends; pages follow `next`.
    let to = start + chrono::Duration::hours(1);
    let window = app
        .decisions(&format!("from={}&to={}", q(start), q(to)))
        .await;
    assert_eq!(
        issue_keys(&window, "decisions"),
        BTreeSet::from(["AIR-1".to_owned(), "AIR-2".into()])
    );
    let first = app.decisions("limit=3").await;
    let next = first["next"].as_str().unwrap();
    let rest = app.decisions(&format!("limit=3&after={next}")).await;
    assert_eq!(first["decisions"].as_array().unwrap().len(), 3);
    assert_eq!(rest["decisions"][0]["issue_key"], "AIR-4");
    assert!(rest["next"].is_null());
    // The last instant there is: a window to the end of time, not a failed request.
    let to_the_end = app
        .decisions(&format!(
            "to={}",
            q(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        ))
        .await;
    assert_eq!(to_the_end["decisions"].as_array().unwrap().len(), 4);

    for (query, status) in [
        ("policy_version=nope", 400),
        ("policy_version=9", 404),
        ("after=AIR-1", 400),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400),
    ] {
        let response = app.get(&format!("/v1/decisions?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
    }
    assert_eq!(app.assert_every_decision_replays().await, 4);
}

fn q(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .replace('+', "%2B")
}

#[tokio::test]
async fn version_history_shows_each_period_in_force_with_its_decisions_and_diffs() {
    let app = spawn_app().await.with_defaults().await;
    two_versions(&app).await;
    let history: Value = app.get("/v1/policies/history").await.json().await.unwrap();
    let periods = history.as_array().unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[0]["seq"], 1);
    assert_eq!(periods[0]["decisions"], 2);
    assert_eq!(periods[0]["to"], periods[1]["from"]);
    assert_eq!(periods[1]["seq"], 2);
    assert_eq!(periods[1]["decisions"], 2);
    assert!(periods[1]["to"].is_null());

    let diff: Value = app
        .get("/v1/policies/diff?from=1&to=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(diff["from"], periods[0]["version"]);
    assert_eq!(diff["to_seq"], 2);
    let files = diff["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{diff}");
    assert_eq!(files[0]["path"], "duration.cedar");
    assert_eq!(files[0]["change"], "modified");
    let text = files[0]["diff"].as_str().unwrap();
    assert!(text.starts_with("--- a/duration.cedar\n+++ b/duration.cedar\n@@"));
    assert!(text.contains("\n-when { resource.risk == \"high\" && context.duration_days > 30 };"));
    assert!(text.contains("\n+when { resource.risk == \"high\" && context.duration_days > 7 };"));

    let v2 = periods[1]["version"].as_str().unwrap();
    let same: Value = app
        .get(&format!("/v1/policies/diff?from={v2}&to=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(same["files"], json!([]));
    assert_eq!(app.get("/v1/policies/diff?from=1&to=7").await.status(), 404);
    assert_eq!(app.get("/v1/policies/diff?from=x&to=2").await.status(), 400);
    assert_eq!(app.get("/v1/policies/diff?from=1").await.status(), 400);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_replay_reports_a_decision_that_no_longer_matches_its_recorded_facts() {
    let app = spawn_app().await.with_defaults().await;
    let answer = app
        .decide(&request_body("AIR-1", "alice@example.com", "grammarly", 7))
        .await;
    let id = answer["request_id"].as_str().unwrap();
    let replayed = app.replay(id).await;
    assert_eq!(replayed["matches"], true);
    assert_eq!(replayed["original"], replayed["replayed"]);
    assert_eq!(
        replayed["policy_version"],
        answer["decision"]["policy_version"]
    );
    // Replay by issue key, after a reload: the recorded version still decides.
    app.edit_policy(
        "duration.cedar",
        "context.duration_days > 180",
        "context.duration_days > 1",
    );
    assert_eq!(app.reload().await.status(), 200);
    assert_eq!(app.replay("AIR-1").await["matches"], true);
    let response = app.post("/v1/requests/AIR-404/replay", &json!({})).await;
    assert_eq!(response.status(), 404);
}
