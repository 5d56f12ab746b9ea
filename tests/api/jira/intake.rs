//! Signed webhook intake: the fixture payload, correctly signed, is decided; a wrong
//! signature or another project stores nothing.

use super::JiraWorld;
use crate::prism::fixture;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET: &str = "webhook-secret-8e1f";

fn signature(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn send(w: &JiraWorld, body: &[u8], signature: Option<String>) -> reqwest::Response {
    let mut request = w
        .app
        .client
        .post(w.app.url("/v1/intake/jira"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        request = request.header("x-hub-signature", s);
    }
    request.send().await.unwrap()
}

async fn intake_world() -> JiraWorld {
    let w = JiraWorld::start("internal").await;
    w.configure(
        json!({"intake": {"webhook_secret": SECRET, "projects": ["AIREQ"],
        "request_types": ["25"],
        "fields": {"tool": "customfield_10050", "purpose": "customfield_10051"}}}),
    )
    .await;
    w
}

fn payload() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixture("jira-issue-created.synthetic.json")).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_signed_webhook_is_decided_once_and_redelivery_gets_the_stored_answer() {
    let w = intake_world().await;
    let body = serde_json::to_vec(&payload()).unwrap();
    let response = send(&w, &body, Some(signature(&body, SECRET))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let decided: Value = response.json().await.unwrap();
    assert_eq!(decided["issue_key"], "AIREQ-42");
    let stored: Value = w.app.request("AIREQ-42").await.json().await.unwrap();
    assert_eq!(
        stored["tool"], "github-copilot",
        "matched by name: {stored}"
    );
    assert_eq!(stored["requester"], "alice@example.com");
    assert_eq!(stored["purpose"], "Need it for project X");
    assert_eq!(stored["duration_days"], 180, "the tool's default");
    let again = send(&w, &body, Some(signature(&body, SECRET))).await;
    assert_eq!(again.status(), StatusCode::OK);
    let replayed: Value = again.json().await.unwrap();
    assert_eq!(replayed["request_id"], decided["request_id"]);
    let view: Value = w
        .app
        .get("/v1/integrations/jira")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["intake"]["webhook_secret"], "set");
    assert!(!view.to_string().contains(SECRET));
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_401_and_stores_nothing() {
    let w = intake_world().await;
    let body = serde_json::to_vec(&payload()).unwrap();
    for sig in [
        Some(signature(&body, "another-secret")),
        Some("sha256=00".into()),
        Some(signature(b"another body", SECRET)),
        None,
    ] {
        let response = send(&w, &body, sig).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unauthenticated");
    }
    assert_eq!(
        w.app.request("AIREQ-42").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn other_projects_and_request_types_are_accepted_and_not_stored() {
    let w = intake_world().await;
    let mut other = payload();
    other["issue"]["fields"]["project"]["key"] = json!("HR");
    other["issue"]["key"] = json!("HR-1");
    let mut kind = payload();
    kind["issue"]["fields"]["customfield_10010"]["requestType"]["id"] = json!("99");
    for p in [other, kind] {
        let body = serde_json::to_vec(&p).unwrap();
        let response = send(&w, &body, Some(signature(&body, SECRET))).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["ingested"], false);
        assert!(
            answer["reason"].as_str().unwrap().contains("not taken in"),
            "{answer}"
        );
    }
    let all: Value = w.app.get("/v1/requests").await.json().await.unwrap();
    assert_eq!(all["requests"].as_array().map_or(0, Vec::len), 0, "{all}");
}

#[tokio::test]
async fn a_hidden_email_is_found_by_the_users_account_id_and_aliases_name_tools() {
    let w = intake_world().await;
    let account = "557058:c9ebf848-dfac-4c49-9408-dc34bd0e2d85";
    let response = w
        .app
        .put(
            "/v1/users/alice@example.com",
            &json!({"groups": ["employees"], "manager": "bob@example.com",
                "jira_account_id": account}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tool: Value = w.app.get("/v1/tools/grammarly").await.json().await.unwrap();
    let mut tool = tool.as_object().unwrap().clone();
    tool.remove("id");
    tool.insert("aliases".into(), json!(["Writing Assistant"]));
    let response = w.app.put("/v1/tools/grammarly", &Value::Object(tool)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut p = payload();
    p["issue"]["fields"]["reporter"]
        .as_object_mut()
        .unwrap()
        .remove("emailAddress");
    p["issue"]["fields"]["customfield_10050"]["value"] = json!("writing assistant");
    let body = serde_json::to_vec(&p).unwrap();
    let response = send(&w, &body, Some(signature(&body, SECRET))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Value = w.app.request("AIREQ-42").await.json().await.unwrap();
    assert_eq!(stored["requester"], "alice@example.com");
    assert_eq!(stored["tool"], "grammarly");
}

/// The JSM automation template rendered for the fixture issue, as JSM would send it.
fn rendered_template(email: Option<&str>) -> String {
    let template =
        std::fs::read_to_string(fixture("jsm-automation-send-web-request.body.template")).unwrap();
    let issue = payload()["issue"].clone();
    let fields = &issue["fields"];
    let json = |v: &Value| v.to_string();
    template
        .replace("{{issue.key}}", issue["key"].as_str().unwrap())
        .replace("{{issue.id}}", issue["id"].as_str().unwrap())
        .replace(
            "{{reporter.accountId}}",
            fields["reporter"]["accountId"].as_str().unwrap(),
        )
        .replace(
            "{{reporter.emailAddress.asJsonString}}",
            &json(&email.map_or(Value::Null, |e| json!(e))),
        )
        .replace(
            "{{issue.customfield_10050.value.asJsonString}}",
            &json(&fields["customfield_10050"]["value"]),
        )
        .replace(
            "{{issue.customfield_10051.asJsonString}}",
            &json(&fields["customfield_10051"]),
        )
        .replace(
            "{{issue.status.name.asJsonString}}",
            &json(&fields["status"]["name"]),
        )
}

#[tokio::test]
async fn the_automation_templates_body_is_decided_through_post_requests() {
    let w = intake_world().await;
    let body = rendered_template(Some("alice@example.com"));
    assert!(!body.contains("{{"), "every placeholder filled: {body}");
    let response = w.app.post_raw(body.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Value = w.app.request("AIREQ-42").await.json().await.unwrap();
    assert_eq!(stored["tool"], "github-copilot");
    assert_eq!(stored["purpose"], "Need it for project X");
    assert_eq!(stored["requester"], "alice@example.com");
    assert_eq!(w.app.post_raw(body).await.status(), StatusCode::OK);

    // Email hidden: the account id names the user, once the directory knows it.
    let hidden = rendered_template(None).replace("AIREQ-42", "AIREQ-43");
    let response = w.app.post_raw(hidden.clone()).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "no user has that account id yet"
    );
    w.app
        .put(
            "/v1/users/bob@example.com",
            &json!({"groups": ["employees"],
                "jira_account_id": "557058:c9ebf848-dfac-4c49-9408-dc34bd0e2d85"}),
        )
        .await;
    assert_eq!(w.app.post_raw(hidden).await.status(), StatusCode::CREATED);
    let stored: Value = w.app.request("AIREQ-43").await.json().await.unwrap();
    assert_eq!(stored["requester"], "bob@example.com");
}
