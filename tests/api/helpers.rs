//! `spawn_app` and one helper per endpoint: each test talks HTTP to a real server.

use chrono::{TimeZone, Utc};
use clearance::clock::ManualClock;
use clearance::http::Timeouts;
use clearance::startup::{Application, Config};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running server with its own data and policies folders.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub data_dir: TempDir,
    pub policies_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    timeouts: Timeouts,
    /// Faults injected into the database file, for [`spawn_app_with_faults`].
    pub faults: Option<Arc<clearance::store::StorageFaults>>,
    /// How often the connector worker looks for due jobs (`None`: only when asked).
    pub job_poll: Option<std::time::Duration>,
    /// How long one connector call may take.
    pub call_timeout: std::time::Duration,
    /// How drift runs act (report only unless a test turns remediation on and restarts).
    pub drift: clearance::service::DriftConfig,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts a server on 127.0.0.1:0 with a copy of the shipped policies and an empty data folder.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Timeouts::default()).await
}

/// [`spawn_app`] with other deadlines.
pub async fn spawn_app_with(timeouts: Timeouts) -> TestApp {
    spawn(timeouts, Some(std::time::Duration::from_millis(50))).await
}

/// [`spawn_app`] without the connector worker: connector jobs run only when a test asks
/// (`POST /v1/jobs/run`), so each attempt happens at a known clock reading.
pub async fn spawn_app_without_worker() -> TestApp {
    spawn(Timeouts::default(), None).await
}

async fn spawn(timeouts: Timeouts, job_poll: Option<std::time::Duration>) -> TestApp {
    let policies_dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(repo().join("policies")).expect("policies") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "cedar") {
            std::fs::copy(
                &path,
                policies_dir.path().join(path.file_name().expect("name")),
            )
            .expect("copy policy");
        }
    }
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap());
    let mut app = TestApp {
        address: String::new(),
        client: clearance::connect::http_client(),
        clock,
        data_dir: tempfile::tempdir().expect("temp dir"),
        policies_dir,
        shutdown: None,
        server: None,
        timeouts,
        faults: None,
        job_poll,
        call_timeout: std::time::Duration::from_secs(5),
        drift: Default::default(),
    };
    app.start().await;
    app
}

/// [`spawn_app`] over a database file whose disk can be made full (`app.faults`).
pub async fn spawn_app_with_faults() -> TestApp {
    let mut app = spawn_app().await;
    app.faults = Some(Arc::default());
    app.restart().await;
    app
}

impl TestApp {
    async fn start(&mut self) {
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: self.data_dir.path().to_path_buf(),
            policies_dir: self.policies_dir.path().to_path_buf(),
            schema_path: repo().join("schemas/clearance.cedarschema"),
            admin_token: Some(ADMIN_TOKEN.into()),
            lifecycle: Default::default(),
            store: clearance::store::StoreOptions {
                faults: self.faults.clone(),
                // With faults, the writer makes the database durable after every batch, so
                // a full disk shows at the next batch rather than seconds later.
                sync_every: match self.faults {
                    Some(_) => std::time::Duration::ZERO,
                    None => clearance::store::StoreOptions::default().sync_every,
                },
                // And it tries to reopen whenever asked, so a test needs no wait.
                recover_every: std::time::Duration::ZERO,
                ..Default::default()
            },
            sweep_every: None,
            timeouts: self.timeouts,
            job_poll: self.job_poll,
            drift_every: None,
            connected: clearance::service::ConnectedConfig {
                call_timeout: self.call_timeout,
                drift: self.drift,
                allowed_hosts: Some(vec!["127.0.0.1".into()]),
            },
        };
        let app = Application::build(config, Arc::new(self.clock.clone()))
            .await
            .expect("server starts");
        self.address = format!("http://{}", app.local_addr().expect("address"));
        let (tx, rx) = oneshot::channel();
        self.shutdown = Some(tx);
        self.server = Some(tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        }));
    }

    /// Stops the server (finishing in-flight requests, closing the store) and starts it again
    /// on the same folders.
    pub async fn restart(&mut self) {
        // Idle keep-alive connections would hold the graceful shutdown open.
        self.client = clearance::connect::http_client();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server stops");
        }
        self.start().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn policy_path(&self, name: &str) -> PathBuf {
        self.policies_dir.path().join(name)
    }

    pub fn write_policy(&self, name: &str, content: &str) {
        std::fs::write(self.policy_path(name), content).expect("write policy");
    }

    pub fn edit_policy(&self, name: &str, from: &str, to: &str) {
        let path = self.policy_path(name);
        let text = std::fs::read_to_string(&path).expect("read policy");
        assert!(text.contains(from), "{name} does not contain {from:?}");
        std::fs::write(&path, text.replace(from, to)).expect("write policy");
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(ADMIN_TOKEN, path).await
    }

    pub async fn send_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.expect("request sent")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send_as(ADMIN_TOKEN, reqwest::Method::POST, path, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.send_as(ADMIN_TOKEN, reqwest::Method::PUT, path, Some(body))
            .await
    }

    /// `POST /v1/requests` with a raw body.
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(self.url("/v1/requests"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Every audit entry (up to 1,000), oldest first.
    pub async fn audit_events(&self) -> Vec<Value> {
        let page: Value = self
            .get("/v1/audit/events?limit=1000")
            .await
            .json()
            .await
            .expect("json");
        page["events"].as_array().expect("events").clone()
    }

    /// `GET /v1/admin/backup` as `token`.
    pub async fn backup_as(&self, token: &str) -> Response {
        self.get_as(token, "/v1/admin/backup").await
    }

    /// `POST /v1/requests`.
    pub async fn submit(&self, body: &Value) -> Response {
        self.post("/v1/requests", body).await
    }

    /// `POST /v1/requests`, expecting 201; returns the answer.
    pub async fn decide(&self, body: &Value) -> Value {
        let response = self.submit(body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "submit {body}");
        response.json().await.expect("json")
    }

    /// `POST /v1/tools/seed`.
    pub async fn seed_catalog(&self) {
        let response = self.post("/v1/tools/seed", &json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// `PUT /v1/users/{email}`.
    pub async fn put_user(&self, email: &str, groups: &[&str], manager: Option<&str>) {
        let mut body = json!({ "groups": groups });
        if let Some(m) = manager {
            body["manager"] = json!(m);
        }
        let response = self.put(&format!("/v1/users/{email}"), &body).await;
        assert_eq!(response.status(), StatusCode::OK, "put user {email}");
    }

    /// `PUT /v1/tools/{id}`.
    pub async fn put_tool(&self, id: &str, risk: &str, status: &str) {
        let body = json!({"name": id, "provider": "Vendor", "status": status, "risk": risk,
            "default_duration_days": 30});
        let response = self.put(&format!("/v1/tools/{id}"), &body).await;
        assert_eq!(response.status(), StatusCode::OK, "put tool {id}");
    }

    /// `PUT /v1/groups/{id}`.
    pub async fn put_group(&self, id: &str, parents: &[&str]) -> Response {
        self.put(&format!("/v1/groups/{id}"), &json!({ "parents": parents }))
            .await
    }

    /// `POST /v1/tokens`; returns the secret.
    pub async fn create_token(&self, role: &str) -> String {
        let response = self.post("/v1/tokens", &json!({ "role": role })).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// `POST /v1/policies/reload`.
    pub async fn reload(&self) -> Response {
        self.post("/v1/policies/reload", &json!({})).await
    }

    /// `GET /v1/policies/active`.
    pub async fn active_policy(&self) -> Value {
        self.get("/v1/policies/active")
            .await
            .json()
            .await
            .expect("json")
    }

    /// `GET /v1/requests/{id}`.
    pub async fn request(&self, id: &str) -> Response {
        self.get(&format!("/v1/requests/{id}")).await
    }

    /// `GET /v1/decisions` with a query string; expects 200.
    pub async fn decisions(&self, query: &str) -> Value {
        let response = self.get(&format!("/v1/decisions?{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "decisions {query}");
        response.json().await.expect("json")
    }

    /// `POST /v1/requests/{id}/replay`; expects 200.
    pub async fn replay(&self, id: &str) -> Value {
        let response = self
            .post(&format!("/v1/requests/{id}/replay"), &json!({}))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "replay {id}");
        response.json().await.expect("json")
    }

    /// Replays every recorded decision (all pages of `GET /v1/decisions`) and asserts that
    /// each matches; returns how many there were.
    pub async fn assert_every_decision_replays(&self) -> usize {
        let mut query = "limit=1000".to_owned();
        let mut count = 0;
        loop {
            let page = self.decisions(&query).await;
            for decision in page["decisions"].as_array().expect("decisions") {
                let id = decision["request_id"].as_str().expect("id");
                let replayed = self.replay(id).await;
                assert_eq!(replayed["matches"], true, "replay of {id}: {replayed}");
                count += 1;
            }
            match page["next"].as_str() {
                Some(next) => query = format!("limit=1000&after={next}"),
                None => return count,
            }
        }
    }

    /// The standard test directory: alice (employee, managed by bob), the seeded catalog.
    pub async fn with_defaults(self) -> Self {
        self.seed_catalog().await;
        self.put_user("alice@example.com", &["employees"], Some("bob@example.com"))
            .await;
        self.put_user("bob@example.com", &["employees"], None).await;
        self
    }
}

/// A request body for `POST /v1/requests`.
pub fn request_body(issue_key: &str, requester: &str, tool: &str, days: i64) -> Value {
    json!({"issue_key": issue_key, "requester": requester, "tool": tool,
        "purpose": "Draft customer emails", "duration_days": days,
        "project": "AIR", "request_type": "42"})
}

/// The reason codes of an answer.
pub fn codes(answer: &Value) -> Vec<String> {
    answer["decision"]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["code"].as_str().expect("code").to_owned())
        .collect()
}

/// The error code of an error answer.
pub async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.expect("json error");
    body["error"]["code"]
        .as_str()
        .expect("error code")
        .to_owned()
}
