//! Each default rule of the shipped policy pack, deciding through the real server.

use crate::helpers::{TestApp, codes, request_body, spawn_app};
use serde_json::json;

#[tokio::test]
async fn low_risk_tool_is_auto_approved_with_a_pending_grant() {
    let app = spawn_app().await.with_defaults().await;
    let answer = app
        .decide(&request_body("AIR-1", "alice@example.com", "grammarly", 30))
        .await;
    assert_eq!(answer["status"], "approved");
    assert_eq!(answer["decision"]["outcome"], "auto_approved");
    assert_eq!(
        answer["decision"]["determining_policies"],
        json!(["auto-approve-low-risk"])
    );
    assert_eq!(answer["grant"]["state"], "pending_provision");
    let active = app.active_policy().await;
    assert_eq!(answer["decision"]["policy_version"], active["version"]);
    assert_eq!(answer["decision"]["policy_seq"], active["seq"]);

    let grant_id = answer["grant"]["grant_id"].as_str().unwrap();
    let grant: serde_json::Value = app
        .get(&format!("/v1/grants/{grant_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grant["user"], "alice@example.com");
    assert_eq!(grant["tool"], "grammarly");
    assert_eq!(grant["state"], "pending_provision");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn unknown_tools_are_denied_whether_named_or_new() {
    let app = spawn_app().await.with_defaults().await;
    let named = app
        .decide(&request_body(
            "AIR-1",
            "alice@example.com",
            "not-in-catalog",
            7,
        ))
        .await;
    assert_eq!(named["status"], "denied");
    assert_eq!(codes(&named), ["unknown_tool"]);

    let new_tool = app
        .decide(
            &json!({"issue_key": "AIR-2", "requester": "alice@example.com",
            "new_tool": {"name": "Super AI", "url": "https://super.example"},
            "purpose": "Summaries", "duration_days": 7}),
        )
        .await;
    assert_eq!(codes(&new_tool), ["unknown_tool"]);
    let stored: serde_json::Value = app.request("AIR-2").await.json().await.unwrap();
    assert_eq!(stored["tool"], "unknown:super-ai");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn blocked_and_denied_tools_are_not_requestable() {
    let app = spawn_app().await.with_defaults().await;
    app.put_tool("shadow-ai", "low", "blocked").await;
    app.put_tool("banned-ai", "low", "denied").await;
    for (key, tool) in [("AIR-1", "shadow-ai"), ("AIR-2", "banned-ai")] {
        let answer = app
            .decide(&request_body(key, "alice@example.com", tool, 7))
            .await;
        assert_eq!(answer["status"], "denied");
        assert_eq!(codes(&answer), ["tool_not_approved"], "{tool}");
        assert!(answer["grant"].is_null());
    }
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn duration_maximum_follows_risk() {
    let app = spawn_app().await.with_defaults().await;
    // grammarly low, cursor medium, otter-ai high, elevenlabs critical (seeded catalog).
    let cases = [
        ("grammarly", 180),
        ("cursor", 90),
        ("otter-ai", 30),
        ("elevenlabs", 14),
    ];
    for (i, (tool, max)) in cases.into_iter().enumerate() {
        let over = app
            .decide(&request_body(
                &format!("OVER-{}", i + 1),
                "alice@example.com",
                tool,
                max + 1,
            ))
            .await;
        assert_eq!(
            codes(&over),
            ["duration_exceeds_max"],
            "{tool} for {} days",
            max + 1
        );
        let user = format!("user{i}@example.com");
        let at_max = app
            .decide(&request_body(&format!("MAX-{}", i + 1), &user, tool, max))
            .await;
        assert_ne!(
            at_max["status"], "denied",
            "{tool} for {max} days: {at_max}"
        );
    }
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_second_request_for_the_same_tool_is_a_duplicate() {
    let app = spawn_app().await.with_defaults().await;
    let first = app
        .decide(&request_body("AIR-1", "alice@example.com", "cursor", 30))
        .await;
    assert_eq!(first["status"], "pending");
    let second = app
        .decide(&request_body("AIR-2", "alice@example.com", "cursor", 30))
        .await;
    assert_eq!(codes(&second), ["duplicate_request"]);

    // An open grant blocks as well.
    app.decide(&request_body("AIR-3", "alice@example.com", "grammarly", 30))
        .await;
    let again = app
        .decide(&request_body("AIR-4", "alice@example.com", "grammarly", 30))
        .await;
    assert_eq!(codes(&again), ["duplicate_request"]);
    // Another user is not affected.
    let bob = app
        .decide(&request_body("AIR-5", "bob@example.com", "cursor", 30))
        .await;
    assert_eq!(bob["status"], "pending");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn high_and_critical_risk_need_security_review() {
    let app = spawn_app().await.with_defaults().await;
    let medium = app
        .decide(&request_body("AIR-1", "alice@example.com", "cursor", 30))
        .await;
    assert_eq!(medium["decision"]["outcome"], "needs_review");
    assert_eq!(medium["decision"]["required_reviews"], json!(["manager"]));
    let high = app
        .decide(&request_body("AIR-2", "alice@example.com", "otter-ai", 30))
        .await;
    assert_eq!(
        high["decision"]["required_reviews"],
        json!(["manager", "security"])
    );
    assert_eq!(codes(&high), ["manager_review", "security_review"]);
    let critical = app
        .decide(&request_body(
            "AIR-3",
            "alice@example.com",
            "elevenlabs",
            14,
        ))
        .await;
    assert_eq!(
        critical["decision"]["required_reviews"],
        json!(["manager", "security"])
    );
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn low_risk_for_non_employees_or_long_periods_needs_review() {
    let app = spawn_app().await.with_defaults().await;
    app.put_user("carol@example.com", &["contractors"], None)
        .await;
    let contractor = app
        .decide(&request_body("AIR-1", "carol@example.com", "grammarly", 30))
        .await;
    assert_eq!(contractor["decision"]["outcome"], "needs_review");
    let long = app
        .decide(&request_body("AIR-2", "alice@example.com", "grammarly", 31))
        .await;
    assert_eq!(long["decision"]["outcome"], "needs_review");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn nested_groups_reach_the_policies() {
    let app = spawn_app().await.with_defaults().await;
    assert_eq!(
        app.put_group("contractors-eu", &["employees"])
            .await
            .status(),
        200
    );
    app.put_user("dora@example.com", &["contractors-eu"], None)
        .await;
    let answer = app
        .decide(&request_body("AIR-1", "dora@example.com", "grammarly", 30))
        .await;
    assert_eq!(answer["decision"]["outcome"], "auto_approved");
    app.assert_every_decision_replays().await;
}

/// An app whose `pilot` group (`pilot0` to `pilot5`) gets critical tools without review, so
/// that grants of one accumulate.
async fn pilot_app() -> TestApp {
    let app = spawn_app().await.with_defaults().await;
    app.write_policy(
        "pilot.cedar",
        r#"@id("pilot-critical")
@code("pilot_auto_approved")
@reason("The voice pilot group gets critical tools without review.")
permit (principal in Clearance::Group::"pilot", action == Clearance::Action::"auto_approve", resource)
when { resource.risk == "critical" };
"#,
    );
    assert_eq!(app.reload().await.status(), 200);
    for i in 0..6 {
        app.put_user(&format!("pilot{i}@example.com"), &["pilot"], None)
            .await;
    }
    app
}

/// Pilots 0 to 4 get the critical tool `elevenlabs`; their grants' ids.
async fn five_critical_grants(app: &TestApp) -> Vec<String> {
    let mut grants = Vec::new();
    for i in 0..5 {
        let answer = app
            .decide(&request_body(
                &format!("VOX-{}", i + 1),
                &format!("pilot{i}@example.com"),
                "elevenlabs",
                14,
            ))
            .await;
        assert_eq!(answer["status"], "approved", "{answer}");
        grants.push(answer["grant"]["grant_id"].as_str().unwrap().to_owned());
    }
    grants
}

#[tokio::test]
async fn critical_tool_grant_limit_is_enforced() {
    let app = pilot_app().await;
    five_critical_grants(&app).await;
    let sixth = app
        .decide(&request_body(
            "VOX-6",
            "pilot5@example.com",
            "elevenlabs",
            14,
        ))
        .await;
    assert_eq!(codes(&sixth), ["critical_grant_limit"]);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_critical_tools_limit_stops_counting_a_grant_at_its_expiry_before_any_sweep() {
    let app = pilot_app().await;
    let grants = five_critical_grants(&app).await;
    for id in &grants {
        assert_eq!(app.fulfill(id).await.status(), 200);
    }
    let sixth = |key: &str| request_body(key, "pilot5@example.com", "elevenlabs", 14);
    assert_eq!(
        codes(&app.decide(&sixth("VOX-6")).await),
        ["critical_grant_limit"]
    );

    // The five expire; no sweep has run, so they are still recorded as active.
    app.clock
        .advance(chrono::Duration::days(14) + chrono::Duration::minutes(1));
    assert_eq!(app.grant(&grants[0]).await["state"], "active");
    let after = app.decide(&sixth("VOX-7")).await;
    assert_eq!(after["status"], "approved", "{after}");
    assert_eq!(
        after["decision"]["reasons"][0]["code"],
        "pilot_auto_approved"
    );
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn directory_and_catalog_changes_decide_the_next_request() {
    let app = spawn_app().await.with_defaults().await;
    for tool in ["tool-a", "tool-b", "tool-c", "tool-d"] {
        app.put_tool(tool, "low", "approved").await;
    }
    // Not yet an employee: low risk is not approved automatically.
    app.put_user("dave@example.com", &["staff"], Some("bob@example.com"))
        .await;
    let before = app
        .decide(&request_body("DIR-1", "dave@example.com", "tool-a", 14))
        .await;
    assert_eq!(before["decision"]["outcome"], "needs_review");

    // The group gains a parent: dave now reaches employees.
    let response = app.put_group("staff", &["employees"]).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let nested = app
        .decide(&request_body("DIR-2", "dave@example.com", "tool-b", 14))
        .await;
    assert_eq!(nested["decision"]["outcome"], "auto_approved");

    // The user leaves the group: back to review.
    app.put_user("dave@example.com", &[], Some("bob@example.com"))
        .await;
    let left = app
        .decide(&request_body("DIR-3", "dave@example.com", "tool-c", 14))
        .await;
    assert_eq!(left["decision"]["outcome"], "needs_review");

    // The catalog blocks a tool someone was just approved for.
    let approved = app
        .decide(&request_body("DIR-4", "alice@example.com", "tool-d", 14))
        .await;
    assert_eq!(approved["decision"]["outcome"], "auto_approved");
    app.put_tool("tool-d", "low", "blocked").await;
    let blocked = app
        .decide(&request_body("DIR-5", "bob@example.com", "tool-d", 14))
        .await;
    assert_eq!(codes(&blocked), ["tool_not_approved"]);
    app.assert_every_decision_replays().await;
}
