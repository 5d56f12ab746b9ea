//! Jira as the record, against a stateful fake Jira behind Prism: every step of a request's
//! life is written back to its issue (`writeback`), exactly once whatever Jira's faults
//! (`exactly_once`).

mod exactly_once;
mod intake;
mod writeback;

use crate::fake_jira::{FakeJira, JIRA_EMAIL, JIRA_TOKEN};
use crate::helpers::{TestApp, spawn_app_without_worker};
use crate::prism::Prism;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server without its worker, the fake Jira and Prism in front of it.
pub struct JiraWorld {
    pub app: TestApp,
    pub jira: FakeJira,
    pub prism: Prism,
}

impl JiraWorld {
    /// Configured with `comments` (`internal`, `public` or `off`).
    pub async fn start(comments: &str) -> Self {
        let jira = FakeJira::start().await;
        let prism = Prism::start("jira-jsm-subset.json", &jira.address).await;
        let app = spawn_app_without_worker().await.with_defaults().await;
        let w = Self { app, jira, prism };
        w.configure(json!({"comments": comments})).await;
        w
    }

    /// `PUT /v1/integrations/jira` with the site, credentials and `extra`.
    pub async fn configure(&self, extra: Value) -> Value {
        let mut body = json!({"base_url": self.prism.url,
            "credentials": {"email": JIRA_EMAIL, "api_token": JIRA_TOKEN}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = self.app.put("/v1/integrations/jira", &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `POST /v1/deliveries/run`.
    pub async fn deliver(&self) -> Value {
        let response = self.app.post("/v1/deliveries/run", &json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
        self.prism.assert_clean();
        response.json().await.unwrap()
    }

    /// `GET /v1/deliveries?state=`.
    pub async fn deliveries(&self, state: &str) -> Vec<Value> {
        let response = self.app.get(&format!("/v1/deliveries?state={state}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// The texts of the issue's comments, in order.
    pub fn comments(&self, key: &str) -> Vec<String> {
        self.jira
            .issue(key)
            .comments
            .iter()
            .map(|c| c.text())
            .collect()
    }

    pub fn assert_spec_held(&self) {
        self.prism.assert_clean();
    }
}
