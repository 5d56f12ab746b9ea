//! Each step of a request's life reaches its issue: the decision with its reviews and policy
//! version, each approval, the transition, grant active, expiry and revocation.

use super::JiraWorld;
use crate::helpers::request_body;
use serde_json::{Value, json};

#[tokio::test]
async fn a_reviewed_request_is_commented_step_by_step_and_approved_through_approve() {
    let w = JiraWorld::start("internal").await;
    w.jira.add_issue("AIR-10", "Waiting for approval");
    let answer = w
        .app
        .decide(&request_body("AIR-10", "alice@example.com", "otter-ai", 7))
        .await;
    assert_eq!(answer["decision"]["outcome"], "needs_review");
    let version = answer["decision"]["policy_version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.deliver().await["done"], 1);
    let first = w.comments("AIR-10");
    assert_eq!(first.len(), 1);
    assert!(
        first[0].contains("waiting for review by manager, security"),
        "{first:?}"
    );
    assert!(
        first[0].contains(&version),
        "names the policy version: {first:?}"
    );
    let issue = w.jira.issue("AIR-10");
    assert!(!issue.comments[0].public, "an internal note");
    assert_eq!(issue.comments[0].body["type"], "doc", "an ADF body");
    assert!(
        issue.comments[0]
            .properties
            .contains_key("clearance.delivery")
    );

    let id = answer["request_id"].as_str().unwrap();
    w.app.put_user("sec@example.com", &["security"], None).await;
    for approver in ["bob@example.com", "sec@example.com"] {
        let response = w.app.approve(id, approver).await;
        assert_eq!(response.status(), 200, "{approver}");
    }
    let run = w.deliver().await;
    assert!(run["done"].as_u64().unwrap() >= 2, "{run}");
    let all = w.comments("AIR-10");
    assert!(
        all[1].contains("bob@example.com signed the manager review"),
        "{all:?}"
    );
    assert!(all[2].contains("the last one"), "{all:?}");
    assert_eq!(w.jira.issue("AIR-10").status, "Approved");
    assert!(
        w.jira
            .requests()
            .iter()
            .any(|r| r == "POST /rest/api/3/issue/AIR-10/transitions")
    );
    w.assert_spec_held();
}

#[tokio::test]
async fn a_transition_is_found_by_its_target_status_and_a_denial_declines() {
    let w = JiraWorld::start("internal").await;
    w.jira.lock().transitions = vec![
        ("41".into(), "Sign off".into(), "Approved".into()),
        ("21".into(), "Decline".into(), "Declined".into()),
    ];
    w.jira.add_issue("AIR-11", "Open");
    w.jira.add_issue("AIR-12", "Open");
    w.app
        .decide(&request_body("AIR-11", "alice@example.com", "grammarly", 7))
        .await;
    let reviewed = w
        .app
        .decide(&request_body("AIR-12", "alice@example.com", "otter-ai", 7))
        .await;
    let response = w
        .app
        .deny(reviewed["request_id"].as_str().unwrap(), "bob@example.com")
        .await;
    assert_eq!(response.status(), 200);
    w.deliver().await;
    assert_eq!(w.jira.issue("AIR-11").status, "Approved");
    assert_eq!(w.jira.issue("AIR-12").status, "Declined");
    let denial = w.comments("AIR-12");
    assert!(
        denial.last().unwrap().contains("Denied by bob@example.com"),
        "{denial:?}"
    );
    // Nothing more when the issue is already there.
    let delivered = w.deliveries("done").await;
    let notes: Vec<&str> = delivered
        .iter()
        .filter_map(|d| d["transition_note"].as_str())
        .collect();
    assert!(notes.contains(&"moved through \"Sign off\""), "{notes:?}");
    w.assert_spec_held();
}

#[tokio::test]
async fn public_comments_go_through_jsm_and_the_grant_life_is_told() {
    let w = JiraWorld::start("public").await;
    w.jira.add_issue("AIR-13", "Open");
    let answer = w
        .app
        .decide(&request_body("AIR-13", "alice@example.com", "grammarly", 7))
        .await;
    let grant = answer["grant"]["grant_id"].as_str().unwrap().to_owned();
    w.app
        .post(&format!("/v1/grants/{grant}/fulfill"), &json!({}))
        .await;
    w.deliver().await;
    let issue = w.jira.issue("AIR-13");
    let public: Vec<bool> = issue.comments.iter().map(|c| c.public).collect();
    // The decision and activation are for the requester; the grant's creation is a note.
    assert_eq!(
        public,
        vec![true, false, true],
        "{:?}",
        w.comments("AIR-13")
    );
    assert!(
        w.jira
            .requests()
            .iter()
            .any(|r| r == "POST /rest/servicedeskapi/request/AIR-13/comment")
    );
    assert!(issue.comments[2].text().contains("is active by hand"));
    // Public comments are marked by a second call.
    assert!(
        issue.comments[0]
            .properties
            .contains_key("clearance.delivery")
    );

    // Within the review window first (it opens a recertification), then past the expiry.
    w.app.clock.advance(chrono::Duration::days(1));
    w.app.sweep().await;
    w.app.clock.advance(chrono::Duration::days(7));
    w.app.sweep().await;
    let texts = w.comments("AIR-13");
    assert!(texts.iter().any(|t| t.contains("expires on")), "{texts:?}");
    assert!(texts.last().unwrap().contains("expired"), "{texts:?}");

    w.jira.add_issue("AIR-14", "Open");
    let answer = w
        .app
        .decide(&request_body("AIR-14", "bob@example.com", "grammarly", 7))
        .await;
    let grant = answer["grant"]["grant_id"].as_str().unwrap().to_owned();
    w.app
        .post(
            &format!("/v1/grants/{grant}/revoke"),
            &json!({"reason": "left the team"}),
        )
        .await;
    w.deliver().await;
    let texts = w.comments("AIR-14");
    assert!(
        texts.last().unwrap().contains("revoked: left the team"),
        "{texts:?}"
    );
    let site: Value = w
        .app
        .get("/v1/integrations/jira")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(site["credentials"]["api_token"], "set");
    assert!(!site.to_string().contains(crate::fake_jira::JIRA_TOKEN));
    w.assert_spec_held();
}

#[tokio::test]
async fn a_recertification_gets_one_issue_and_its_outcome_is_told_there() {
    let w = JiraWorld::start("internal").await;
    w.configure(json!({"recertification": {"project": "REC", "issue_type_id": "10005"}}))
        .await;
    w.jira.add_issue("AIR-15", "Open");
    let answer = w
        .app
        .decide(&request_body("AIR-15", "alice@example.com", "grammarly", 7))
        .await;
    let grant = answer["grant"]["grant_id"].as_str().unwrap().to_owned();
    w.app
        .post(&format!("/v1/grants/{grant}/fulfill"), &json!({}))
        .await;
    w.app.clock.advance(chrono::Duration::days(1));
    w.app.sweep().await;
    w.app.sweep().await;
    w.deliver().await;
    let created: Vec<String> = w
        .jira
        .lock()
        .issues
        .keys()
        .filter(|k| k.starts_with("REC-"))
        .cloned()
        .collect();
    assert_eq!(
        created.len(),
        1,
        "one issue, however often the sweep runs: {created:?}"
    );
    let issue = w.jira.issue(&created[0]);
    assert!(
        issue.fields["summary"]
            .as_str()
            .unwrap()
            .contains("alice@example.com")
    );
    assert_eq!(issue.fields["issuetype"]["id"], "10005");
    let recerts: Value = w
        .app
        .get("/v1/recertifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(recerts[0]["jira_issue"], created[0].as_str(), "{recerts}");
    let id = recerts[0]["recert_id"].as_str().unwrap();
    let kept = w
        .app
        .post(
            &format!("/v1/recertifications/{id}/keep"),
            &json!({"reviewer": "bob@example.com"}),
        )
        .await;
    assert_eq!(kept.status(), 200);
    w.deliver().await;
    let texts = w.comments(&created[0]);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("kept by"), "{texts:?}");
    w.assert_spec_held();
}

#[tokio::test]
async fn delivered_write_backs_are_pruned_after_the_retention_period() {
    let w = JiraWorld::start("internal").await;
    w.jira.add_issue("AIR-16", "Open");
    w.app
        .decide(&request_body("AIR-16", "alice@example.com", "otter-ai", 7))
        .await;
    w.deliver().await;
    assert_eq!(w.deliveries("done").await.len(), 1);
    w.app.clock.advance(chrono::Duration::days(364));
    assert_eq!(w.app.sweep().await["records_pruned"], 0);
    w.app.clock.advance(chrono::Duration::days(2));
    assert_eq!(w.app.sweep().await["records_pruned"], 1);
    assert!(w.deliveries("done").await.is_empty());
    assert_eq!(w.comments("AIR-16").len(), 1, "Jira keeps its comment");
}
