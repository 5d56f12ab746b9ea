//! One helper per review, grant and lifecycle endpoint.

use crate::helpers::{ADMIN_TOKEN, TestApp};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

impl TestApp {
    /// `POST /v1/requests/{id}/approve` as `approver` (named in the body, admin token).
    pub async fn approve(&self, id: &str, approver: &str) -> Response {
        self.post(
            &format!("/v1/requests/{id}/approve"),
            &json!({"approver": approver, "comment": "ok"}),
        )
        .await
    }

    /// `POST /v1/requests/{id}/deny` as `approver`.
    pub async fn deny(&self, id: &str, approver: &str) -> Response {
        self.post(
            &format!("/v1/requests/{id}/deny"),
            &json!({"approver": approver, "reason": "not needed"}),
        )
        .await
    }

    /// `POST /v1/requests/bulk` with `token`.
    pub async fn bulk(
        &self,
        token: &str,
        action: &str,
        ids: &[String],
        approver: &str,
    ) -> Response {
        let body = json!({"action": action, "ids": ids, "approver": approver});
        self.send_as(token, Method::POST, "/v1/requests/bulk", Some(&body))
            .await
    }

    /// `GET /v1/approvals?approver=`.
    pub async fn approval_queue(&self, approver: &str) -> Value {
        ok_json(
            self.get(&format!("/v1/approvals?approver={approver}"))
                .await,
        )
        .await
    }

    /// One page of `GET /v1/approvals?{query}`: the entries, and the path of the next page
    /// if the `Link` header gives one.
    pub async fn approval_page(&self, query: &str) -> (Vec<Value>, Option<String>) {
        let response = self.get(&format!("/v1/approvals?{query}")).await;
        let next = response
            .headers()
            .get("link")
            .map(|link| link.to_str().expect("ascii link").to_owned());
        let entries = ok_json(response).await.as_array().expect("array").clone();
        let next = next.map(|link| {
            let path = link
                .strip_prefix('<')
                .and_then(|rest| rest.strip_suffix(">; rel=\"next\""))
                .unwrap_or_else(|| panic!("not a next link: {link}"));
            path.to_owned()
        });
        (entries, next)
    }

    /// `GET /v1/grants/{id}`.
    pub async fn grant(&self, id: &str) -> Value {
        ok_json(self.get(&format!("/v1/grants/{id}")).await).await
    }

    /// `GET /v1/grants?{query}`.
    pub async fn grants(&self, query: &str) -> Vec<Value> {
        let list = ok_json(self.get(&format!("/v1/grants?{query}")).await).await;
        list.as_array().expect("array").clone()
    }

    /// `POST /v1/grants/{id}/fulfill`.
    pub async fn fulfill(&self, id: &str) -> Response {
        self.send_as(
            ADMIN_TOKEN,
            Method::POST,
            &format!("/v1/grants/{id}/fulfill"),
            None,
        )
        .await
    }

    /// `POST /v1/grants/{id}/revoke`.
    pub async fn revoke(&self, id: &str) -> Response {
        self.post(
            &format!("/v1/grants/{id}/revoke"),
            &json!({"reason": "left the team"}),
        )
        .await
    }

    /// `POST /v1/grants/{id}/extend`.
    pub async fn extend(&self, id: &str, days: i64) -> Response {
        self.post(&format!("/v1/grants/{id}/extend"), &json!({"days": days}))
            .await
    }

    /// `GET /v1/users/{email}/access`.
    pub async fn access(&self, email: &str) -> Vec<Value> {
        let list = ok_json(self.get(&format!("/v1/users/{email}/access")).await).await;
        list.as_array().expect("array").clone()
    }

    /// `GET /v1/jobs?kind=`.
    pub async fn jobs(&self, kind: &str) -> Vec<Value> {
        let list = ok_json(self.get(&format!("/v1/jobs?kind={kind}")).await).await;
        list.as_array().expect("array").clone()
    }

    /// `POST /v1/jobs/{id}/complete`.
    pub async fn complete_job(&self, id: &str, outcome: &str) -> Response {
        self.post(
            &format!("/v1/jobs/{id}/complete"),
            &json!({"outcome": outcome}),
        )
        .await
    }

    /// `GET /v1/recertifications`.
    pub async fn recerts(&self) -> Vec<Value> {
        let list = ok_json(self.get("/v1/recertifications").await).await;
        list.as_array().expect("array").clone()
    }

    /// `POST /v1/recertifications/{id}/keep` by `reviewer`.
    pub async fn keep(&self, id: &str, reviewer: &str) -> Response {
        self.post(
            &format!("/v1/recertifications/{id}/keep"),
            &json!({"reviewer": reviewer}),
        )
        .await
    }

    /// `POST /v1/sweeps/run`; returns the report.
    pub async fn sweep(&self) -> Value {
        ok_json(self.post("/v1/sweeps/run", &json!({})).await).await
    }

    /// `GET /v1/escalations`.
    pub async fn escalations(&self) -> Vec<Value> {
        let list = ok_json(self.get("/v1/escalations").await).await;
        list.as_array().expect("array").clone()
    }

    /// `GET /v1/insights`.
    pub async fn insights(&self) -> Value {
        ok_json(self.get("/v1/insights").await).await
    }

    /// The injected clock's now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        clearance::clock::Clock::now(&self.clock)
    }

    /// Moves the injected clock forward.
    pub fn advance_days(&self, days: i64) {
        self.clock.advance(chrono::Duration::days(days));
    }
}

/// The JSON of a 200 answer.
pub async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The reason codes of a 403 `*_not_permitted` answer.
pub async fn refusal_codes(response: Response) -> Vec<String> {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.expect("json");
    body["error"]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["code"].as_str().expect("code").to_owned())
        .collect()
}
