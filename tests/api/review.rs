//! Approvals under contention, bulk review, duplicate grants, and approval rules that change
//! with the policies.

use crate::helpers::{ADMIN_TOKEN, error_code, request_body};
use crate::lifecycle::{high_risk_request, review_app};
use crate::review_helpers::{ok_json, refusal_codes};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn thirty_two_concurrent_approvals_create_exactly_one_grant() {
    let app = review_app().await;
    for i in 0..32 {
        app.put_user(&format!("approver{i}@example.com"), &["approvers"], None)
            .await;
    }
    // cursor is medium risk: the manager stage only.
    let answer = app
        .decide(&request_body("AIR-1", "alice@example.com", "cursor", 30))
        .await;
    let id = answer["request_id"].as_str().unwrap().to_owned();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..32 {
        let client = app.client.clone();
        let url = app.url(&format!("/v1/requests/{id}/approve"));
        let body = json!({"approver": format!("approver{i}@example.com")});
        calls.spawn(async move {
            client
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
        });
    }
    let mut approved = 0;
    while let Some(response) = calls.join_next().await {
        let response = response.unwrap();
        match response.status() {
            StatusCode::OK => approved += 1,
            StatusCode::CONFLICT => assert_eq!(error_code(response).await, "request_not_pending"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(approved, 1);
    let grants = app.grants("user=alice@example.com&tool=cursor").await;
    assert_eq!(grants.len(), 1);
    let stored = ok_json(app.request(&id).await).await;
    assert_eq!(stored["approvals"].as_array().unwrap().len(), 1);
    assert_eq!(app.jobs("fulfil").await.len(), 1);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn approving_while_the_user_holds_an_open_grant_is_a_conflict() {
    let app = review_app().await;
    // Let a second pending request for the same tool in, so two can race to a grant.
    app.edit_policy(
        "request.cedar",
        "when { context.has_open_request };",
        "when { context.has_open_request && context.duration_days > 365 };",
    );
    assert_eq!(app.reload().await.status(), StatusCode::OK);
    let first = high_risk_request(&app, "AIR-1").await;
    let second = high_risk_request(&app, "AIR-2").await;
    ok_json(app.approve(&first, "bob@example.com").await).await;
    ok_json(app.approve(&first, "carol@example.com").await).await;
    let dup = app.approve(&second, "bob@example.com").await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(dup).await, "duplicate_grant");
    assert_eq!(app.grants("user=alice@example.com").await.len(), 1);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_tool_blocked_since_filing_cannot_be_approved() {
    let app = review_app().await;
    let id = high_risk_request(&app, "AIR-1").await;
    app.put_tool("midjourney", "high", "blocked").await;
    let refused = app.approve(&id, "bob@example.com").await;
    assert_eq!(refusal_codes(refused).await, ["tool_not_approved"]);
    let stored = ok_json(app.request(&id).await).await;
    assert_eq!(stored["status"], "pending");
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn letting_approvers_sign_the_security_stage_takes_effect_on_reload() {
    let app = review_app().await;
    let id = high_risk_request(&app, "AIR-1").await;
    ok_json(app.approve(&id, "bob@example.com").await).await;
    let before = app.approve(&id, "erin@example.com").await;
    assert_eq!(refusal_codes(before).await, ["no_permit"]);

    app.edit_policy(
        "approve.cedar",
        r#"when { context.stage == "security" && principal in Clearance::Group::"security" };"#,
        r#"when { context.stage == "security" &&
  (principal in Clearance::Group::"security" || principal in Clearance::Group::"approvers") };"#,
    );
    let reloaded: Value = ok_json(app.reload().await).await;
    let after = ok_json(app.approve(&id, "erin@example.com").await).await;
    assert_eq!(after["status"], "approved");
    let stored = ok_json(app.request(&id).await).await;
    assert_eq!(
        stored["approvals"][1]["policy_version"],
        reloaded["version"]
    );
    assert_ne!(stored["decision"]["policy_version"], reloaded["version"]);
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn the_approval_queue_pages_by_link_past_other_approvers_requests() {
    let app = review_app().await;
    // Four requests bob (alice's manager, in no reviewing group) may not sign off, then one
    // of alice's, which he may.
    let others = [
        ("AIR-1", "dave@example.com", "midjourney"),
        ("AIR-2", "erin@example.com", "midjourney"),
        ("AIR-3", "carol@example.com", "midjourney"),
        ("AIR-4", "dave@example.com", "otter-ai"),
    ];
    for (key, who, tool) in others {
        let answer = app.decide(&request_body(key, who, tool, 30)).await;
        assert_eq!(answer["status"], "pending", "{key}: {answer}");
    }
    let alices = high_risk_request(&app, "AIR-5").await;

    // A page of one asks the policies about at most four pending requests: none of the
    // four is bob's, so the page is empty and says where the next begins.
    let (first, next) = app
        .approval_page("approver=bob%40example.com&limit=1")
        .await;
    assert_eq!(first, Vec::<Value>::new());
    let next = next.expect("a next page");
    assert!(
        next.starts_with("/v1/approvals?approver=bob%40example.com&limit=1&after=req_"),
        "{next}"
    );
    let (second, next) = app
        .approval_page(next.trim_start_matches("/v1/approvals?"))
        .await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["request_id"], alices.as_str());
    assert_eq!(second[0]["stage"], "manager");
    // A full page may have more after it; the page after alice's has none and no link.
    let (third, next) = app
        .approval_page(
            next.expect("a next page")
                .trim_start_matches("/v1/approvals?"),
        )
        .await;
    assert!(third.is_empty());
    assert_eq!(next, None);

    // The whole queue at once, as before: one page, no link.
    let (all, next) = app.approval_page("approver=bob%40example.com").await;
    assert_eq!(all.len(), 1);
    assert_eq!(next, None);

    let bad = app
        .get("/v1/approvals?approver=bob%40example.com&after=grt_1")
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(bad).await, "validation_failed");
}

#[tokio::test]
async fn the_approval_queue_lists_what_this_approver_may_sign_off() {
    let app = review_app().await;
    let id = high_risk_request(&app, "AIR-1").await;
    let for_carol = app.approval_queue("carol@example.com").await;
    assert_eq!(for_carol.as_array().unwrap().len(), 1);
    assert_eq!(for_carol[0]["request_id"], id.as_str());
    assert_eq!(for_carol[0]["stage"], "security");
    let for_bob = app.approval_queue("bob@example.com").await;
    assert_eq!(for_bob[0]["stage"], "manager");
    assert!(
        app.approval_queue("dave@example.com")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        app.approval_queue("alice@example.com")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn bulk_review_reports_each_id_and_is_limited() {
    let app = review_app().await;
    let token = app.create_token("automation").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let user = format!("user{i}@example.com");
        app.put_user(&user, &["employees"], Some("bob@example.com"))
            .await;
        let answer = app
            .decide(&request_body(
                &format!("AIR-{}", i + 1),
                &user,
                "cursor",
                30,
            ))
            .await;
        ids.push(answer["request_id"].as_str().unwrap().to_owned());
    }
    ids.push("req_00000000000000000000000000000000".into());

    let too_many: Vec<String> = (0..51).map(|_| ids[0].clone()).collect();
    let refused = app
        .bulk(&token, "approve", &too_many, "bob@example.com")
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(refused).await, "bulk_limit_exceeded");
    assert!(
        app.grants("tool=cursor").await.is_empty(),
        "a refused call changes nothing"
    );

    let done = ok_json(app.bulk(&token, "approve", &ids, "bob@example.com").await).await;
    let results = done["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for result in &results[..3] {
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["status"], "approved");
    }
    assert_eq!(results[3]["ok"], false);
    assert_eq!(results[3]["error"]["code"], "not_found");
    assert_eq!(app.grants("tool=cursor").await.len(), 3);

    for _ in 0..4 {
        ok_json(app.bulk(&token, "deny", &ids[..1], "bob@example.com").await).await;
    }
    let sixth = app.bulk(&token, "deny", &ids[..1], "bob@example.com").await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = sixth.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(error_code(sixth).await, "rate_limited");
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        app.bulk(&token, "deny", &ids[..1], "bob@example.com")
            .await
            .status(),
        StatusCode::OK
    );
    app.assert_every_decision_replays().await;
}

#[tokio::test]
async fn a_token_without_a_person_names_a_known_reviewer_who_is_recorded_beside_it() {
    let app = review_app().await;
    let automation = app.create_token("automation").await;
    let answer = app
        .decide(&request_body("AIR-1", "alice@example.com", "cursor", 30))
        .await;
    let id = answer["request_id"].as_str().unwrap();
    let approve = format!("/v1/requests/{id}/approve");
    let before = app.audit_events().await.len();

    let unknown = json!({"approver": "stranger@example.com"});
    let refused = app
        .send_as(&automation, reqwest::Method::POST, &approve, Some(&unknown))
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["field"], "approver");
    assert_eq!(app.audit_events().await.len(), before, "nothing recorded");

    // The issue key works as well as the request id.
    let named = json!({"approver": "bob@example.com"});
    let approved = app
        .send_as(
            &automation,
            reqwest::Method::POST,
            "/v1/requests/AIR-1/approve",
            Some(&named),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let events = app.audit_events().await;
    let entry = events
        .iter()
        .rev()
        .find(|e| e["type"] == "request.approved")
        .unwrap();
    assert!(
        entry["actor"].as_str().unwrap().starts_with("token:tok_"),
        "{entry}"
    );
    assert_eq!(entry["data"]["approver"], "bob@example.com", "{entry}");
}
