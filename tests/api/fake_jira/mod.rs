//! A stateful fake of the Jira Cloud and JSM endpoints clearance writes back through: issues
//! with a status, comments with properties, transitions; with injectable faults (429 with
//! `Retry-After`, 5xx, an answer lost after the write, 401). Tests start it on 127.0.0.1:0
//! behind Prism with `jira-jsm-subset.json`. The endpoints are in `routes.rs`.

mod routes;

use crate::fake_idp::Fault;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

pub const JIRA_EMAIL: &str = "clearance-bot@example.com";
pub const JIRA_TOKEN: &str = "jira-test-token-3c9d";

/// What a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JiraOp {
    Comment,
    Mark,
    Transition,
    Any,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub body: Value,
    pub public: bool,
    pub properties: BTreeMap<String, Value>,
}

impl Comment {
    /// The comment's text, whatever its format.
    pub fn text(&self) -> String {
        match &self.body {
            Value::String(s) => s.clone(),
            adf => adf
                .pointer("/content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.pointer("/content/0/text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n\n"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Issue {
    pub status: String,
    pub comments: Vec<Comment>,
    /// The fields it was created with, for issues clearance creates.
    pub fields: Value,
}

#[derive(Debug, Default)]
pub struct Site {
    pub issues: BTreeMap<String, Issue>,
    /// `(id, name, target status)` offered on every issue.
    pub transitions: Vec<(String, String, String)>,
    faults: Vec<(JiraOp, VecDeque<Fault>)>,
    pub requests: Vec<String>,
    pub authorizations: Vec<String>,
    pub(super) next_id: u64,
}

pub struct FakeJira {
    pub address: String,
    pub state: Arc<Mutex<Site>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeJira {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) type Shared = Arc<Mutex<Site>>;

impl FakeJira {
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        {
            let mut s = state.lock().unwrap();
            for (id, name, to) in [
                ("11", "Approve", "Approved"),
                ("21", "Decline", "Declined"),
                ("31", "Escalate", "Waiting for support"),
            ] {
                s.transitions.push((id.into(), name.into(), to.into()));
            }
        }
        let app = Router::new()
            .route("/rest/api/3/myself", get(routes::myself))
            .route("/rest/api/3/issue", post(routes::create_issue))
            .route("/rest/api/3/issue/{key}", get(routes::issue))
            .route(
                "/rest/api/3/issue/{key}/comment",
                get(routes::comments).post(routes::internal_comment),
            )
            .route(
                "/rest/servicedeskapi/request/{key}/comment",
                post(routes::public_comment),
            )
            .route(
                "/rest/api/3/comment/{id}/properties/{property}",
                put(routes::set_property),
            )
            .route(
                "/rest/api/3/issue/{key}/transitions",
                get(routes::transitions).post(routes::transition),
            )
            .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
            .with_state(state.clone());
        let (address, task) = crate::fake_idp::serve(app).await;
        Self {
            address,
            state,
            task,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Site> {
        self.state.lock().unwrap()
    }

    pub fn add_issue(&self, key: &str, status: &str) {
        self.lock().issues.insert(
            key.into(),
            Issue {
                status: status.into(),
                ..Issue::default()
            },
        );
    }

    pub fn issue(&self, key: &str) -> Issue {
        self.lock().issues.get(key).cloned().unwrap_or_default()
    }

    pub fn fail_next(&self, op: JiraOp, n: usize, fault: Fault) {
        self.lock()
            .faults
            .push((op, std::iter::repeat_n(fault, n).collect()));
    }

    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }
}

impl Site {
    /// Jira is well again.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }
}

fn op_of(method: &axum::http::Method, path: &str) -> JiraOp {
    match (method.as_str(), path) {
        ("POST", p) if p.ends_with("/comment") => JiraOp::Comment,
        ("PUT", p) if p.contains("/properties/") => JiraOp::Mark,
        ("POST", p) if p.ends_with("/transitions") => JiraOp::Transition,
        _ => JiraOp::Any,
    }
}

pub(super) fn error(status: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        json!({"errorMessages": [message], "errors": {}}).to_string(),
    )
        .into_response()
}

async fn gate(
    State(state): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let op = op_of(request.method(), request.uri().path());
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let fault = {
        let mut s = state.lock().unwrap();
        s.requests
            .push(format!("{} {}", request.method(), request.uri()));
        s.authorizations.push(auth.clone());
        let queue = s
            .faults
            .iter_mut()
            .find(|(o, q)| (*o == op || *o == JiraOp::Any) && !q.is_empty());
        queue.and_then(|(_, q)| q.pop_front())
    };
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{JIRA_EMAIL}:{JIRA_TOKEN}")
        )
    );
    if let Some(fault) = fault {
        return fault
            .answer(request, next, |status| error(status, "injected"))
            .await;
    }
    if auth != expected {
        return error(401, "Client must be authenticated to access this resource.");
    }
    next.run(request).await
}
