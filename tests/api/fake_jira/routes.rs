//! The fake Jira's endpoints: the wire shapes of `jira-jsm-subset.json`.

use super::{Comment, Issue, JIRA_EMAIL, Shared, error};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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

pub(super) async fn myself() -> Response {
    ok(
        StatusCode::OK,
        json!({"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": JIRA_EMAIL, "active": true}),
    )
}

pub(super) async fn issue(State(s): State<Shared>, Path(key): Path<String>) -> Response {
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

pub(super) async fn internal_comment(
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

pub(super) async fn public_comment(
    State(s): State<Shared>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let public = body["public"].as_bool().unwrap_or(true);
    // JSM answers its own shape, nothing more.
    let jsm = |c: &Comment| json!({"id": c.id, "body": c.body, "public": c.public});
    add_comment(&s, &key, body["body"].clone(), public, &[], jsm)
}

pub(super) async fn comments(State(s): State<Shared>, Path(key): Path<String>) -> Response {
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

pub(super) async fn set_property(
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

pub(super) async fn transitions(State(s): State<Shared>, Path(key): Path<String>) -> Response {
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

pub(super) async fn transition(
    State(s): State<Shared>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
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

pub(super) async fn create_issue(State(s): State<Shared>, body: Bytes) -> Response {
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
