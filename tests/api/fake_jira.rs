//! A stateful fake of the Jira Cloud and JSM endpoints clearance writes back through: issues
//! with a status, comments with properties, transitions; with injectable faults (429 with
//! `Retry-After`, 5xx, an answer lost after the write, 401). Tests start it on 127.0.0.1:0
//! behind Prism with `jira-jsm-subset.json`.

use crate::fake_idp::Fault;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
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
    next_id: u64,
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

type Shared = Arc<Mutex<Site>>;

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
            .route("/rest/api/3/myself", get(myself))
            .route("/rest/api/3/issue", post(create_issue))
            .route("/rest/api/3/issue/{key}", get(issue))
            .route(
                "/rest/api/3/issue/{key}/comment",
                get(comments).post(internal_comment),
            )
            .route(
                "/rest/servicedeskapi/request/{key}/comment",
                post(public_comment),
            )
            .route(
                "/rest/api/3/comment/{id}/properties/{property}",
                put(set_property),
            )
            .route(
                "/rest/api/3/issue/{key}/transitions",
                get(transitions).post(transition),
            )
            .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
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

fn error(status: u16, message: &str) -> Response {
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
        if fault.status == 0 {
            // The write happens; the answer comes too late.
            let response = next.run(request).await;
            tokio::time::sleep(fault.delay).await;
            return response;
        }
        tokio::time::sleep(fault.delay).await;
        let mut response = error(fault.status, "injected");
        for (name, value) in &fault.headers {
            response.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        return response;
    }
    if auth != expected {
        return error(401, "Client must be authenticated to access this resource.");
    }
    next.run(request).await
}

fn ok(status: StatusCode, value: Value) -> Response {
    (
        status,
        [
            ("content-type", "application/json"),
            ("x-arequestid", "jira-req"),
        ],
        value.to_string(),
    )
        .into_response()
}

async fn myself() -> Response {
    ok(
        StatusCode::OK,
        json!({"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": JIRA_EMAIL, "active": true}),
    )
}

async fn issue(State(s): State<Shared>, Path(key): Path<String>) -> Response {
    let s = s.lock().unwrap();
    match s.issues.get(&key) {
        Some(i) => ok(
            StatusCode::OK,
            json!({"id": "10001", "key": key, "fields": {"status": {"name": i.status}}}),
        ),
        None => error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        ),
    }
}

fn comment_json(c: &Comment) -> Value {
    let properties: Vec<Value> = c
        .properties
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    json!({"id": c.id, "body": c.body, "jsdPublic": c.public, "properties": properties})
}

fn add_comment(
    s: &Shared,
    key: &str,
    body: Value,
    public: bool,
    properties: &[Value],
    answer: fn(&Comment) -> Value,
) -> Response {
    let mut s = s.lock().unwrap();
    s.next_id += 1;
    let id = (10_000 + s.next_id).to_string();
    let Some(issue) = s.issues.get_mut(key) else {
        return error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    let comment = Comment {
        id,
        body,
        public,
        properties: properties
            .iter()
            .filter_map(|p| Some((p["key"].as_str()?.to_owned(), p["value"].clone())))
            .collect(),
    };
    let json = answer(&comment);
    issue.comments.push(comment);
    ok(StatusCode::CREATED, json)
}

async fn internal_comment(
    State(s): State<Shared>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let properties = body["properties"].as_array().cloned().unwrap_or_default();
    let internal = properties
        .iter()
        .any(|p| p["key"] == "sd.public.comment" && p["value"]["internal"] == true);
    add_comment(
        &s,
        &key,
        body["body"].clone(),
        !internal,
        &properties,
        comment_json,
    )
}

async fn public_comment(State(s): State<Shared>, Path(key): Path<String>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let public = body["public"].as_bool().unwrap_or(true);
    // JSM answers its own shape, nothing more.
    let jsm = |c: &Comment| json!({"id": c.id, "body": c.body, "public": c.public});
    add_comment(&s, &key, body["body"].clone(), public, &[], jsm)
}

async fn comments(State(s): State<Shared>, Path(key): Path<String>) -> Response {
    let s = s.lock().unwrap();
    let Some(issue) = s.issues.get(&key) else {
        return error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    let all: Vec<Value> = issue.comments.iter().rev().map(comment_json).collect();
    ok(
        StatusCode::OK,
        json!({"startAt": 0, "maxResults": 100, "total": all.len(), "comments": all}),
    )
}

async fn set_property(
    State(s): State<Shared>,
    Path((id, property)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut s = s.lock().unwrap();
    let found = s
        .issues
        .values_mut()
        .flat_map(|i| i.comments.iter_mut())
        .find(|c| c.id == id);
    match found {
        Some(c) => {
            let existed = c.properties.insert(property, value).is_some();
            let status = if existed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            ok(status, json!({}))
        }
        None => error(404, "The comment does not exist."),
    }
}

async fn transitions(State(s): State<Shared>, Path(key): Path<String>) -> Response {
    let s = s.lock().unwrap();
    if !s.issues.contains_key(&key) {
        return error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        );
    }
    let offered: Vec<Value> = s
        .transitions
        .iter()
        .map(|(id, name, to)| json!({"id": id, "name": name, "to": {"id": "3", "name": to}}))
        .collect();
    ok(StatusCode::OK, json!({"transitions": offered}))
}

async fn transition(State(s): State<Shared>, Path(key): Path<String>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = body["transition"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut s = s.lock().unwrap();
    let Some(to) = s
        .transitions
        .iter()
        .find(|t| t.0 == id)
        .map(|t| t.2.clone())
    else {
        return error(400, "Transition id is not valid for this issue.");
    };
    match s.issues.get_mut(&key) {
        Some(issue) => {
            issue.status = to;
            // The spec gives this 204 a JSON media type.
            (
                StatusCode::NO_CONTENT,
                [
                    ("content-type", "application/json"),
                    ("x-arequestid", "jira-req"),
                ],
            )
                .into_response()
        }
        None => error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        ),
    }
}

async fn create_issue(State(s): State<Shared>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(project) = body["fields"]["project"]["key"].as_str() else {
        return error(400, "Specify a project.");
    };
    let mut s = s.lock().unwrap();
    s.next_id += 1;
    let key = format!("{project}-{}", s.next_id);
    let id = (20_000 + s.next_id).to_string();
    s.issues.insert(
        key.clone(),
        Issue {
            status: "Open".into(),
            comments: Vec::new(),
            fields: body["fields"].clone(),
        },
    );
    ok(
        StatusCode::CREATED,
        json!({"id": id, "key": key, "self": format!("https://example.atlassian.net/rest/api/3/issue/{id}")}),
    )
}
