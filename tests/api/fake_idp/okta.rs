//! The fake's Okta: users, groups, members, with Okta's paging (`limit`, `after`, `Link`).

use super::{Group, Shared, User, membership, ok_json, page};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

fn okta_user_json(u: &User) -> Value {
    json!({"id": u.id, "status": "ACTIVE",
        "profile": {"login": u.login, "email": u.email, "firstName": "Test", "lastName": "User"}})
}

fn okta_not_found() -> Response {
    ok_json(
        StatusCode::NOT_FOUND,
        json!({"errorCode": "E0000007", "errorSummary": "Not found: Resource not found"}),
        "req-404",
    )
}

fn quoted(search: &str) -> String {
    search
        .split_once('"')
        .map(|(_, rest)| rest.trim_end_matches('"').to_owned())
        .unwrap_or_default()
}

pub(super) async fn user(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let s = s.lock().unwrap();
    if id == "me" {
        return ok_json(
            StatusCode::OK,
            json!({"id": "00uadmin", "status": "ACTIVE",
            "profile": {"login": "admin@example.com"}}),
            "req-me",
        );
    }
    match s.user_by(&id) {
        Some(u) => ok_json(StatusCode::OK, okta_user_json(u), "req-user"),
        None => okta_not_found(),
    }
}

pub(super) async fn search_users(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let email = quoted(q.get("search").map(String::as_str).unwrap_or_default());
    let s = s.lock().unwrap();
    let found: Vec<Value> = s
        .users
        .iter()
        .filter(|u| u.email.eq_ignore_ascii_case(&email))
        .map(okta_user_json)
        .collect();
    ok_json(StatusCode::OK, Value::Array(found), "req-search")
}

fn okta_group_json(id: &str, g: &Group) -> Value {
    json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": g.name, "description": "fake"}})
}

pub(super) async fn groups(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let name = quoted(q.get("search").map(String::as_str).unwrap_or_default());
    let s = s.lock().unwrap();
    let found: Vec<Value> = s
        .groups
        .iter()
        .filter(|(_, g)| g.name == name)
        .map(|(id, g)| okta_group_json(id, g))
        .collect();
    ok_json(StatusCode::OK, Value::Array(found), "req-groups")
}

pub(super) async fn create_group(State(s): State<Shared>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut s = s.lock().unwrap();
    let id = s.id("00g");
    let group = Group {
        name: body["profile"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        members: Vec::new(),
    };
    let json = okta_group_json(&id, &group);
    s.groups.insert(id, group);
    ok_json(StatusCode::OK, json, "req-create")
}

pub(super) async fn members(
    State(s): State<Shared>,
    Path(group): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = s.lock().unwrap();
    let Some(g) = s.groups.get(&group) else {
        return okta_not_found();
    };
    let after = q.get("after").cloned().unwrap_or_default();
    let limit = q.get("limit").and_then(|a| a.parse().ok()).unwrap_or(200);
    let (ids, next) = page(&s, &g.members, &after, limit);
    let users: Vec<Value> = ids
        .iter()
        .map(|id| match s.user_by(id) {
            Some(u) => okta_user_json(u),
            None => json!({"id": id, "status": "ACTIVE", "profile": {}}),
        })
        .collect();
    let mut response = ok_json(StatusCode::OK, Value::Array(users), "req-members");
    if let Some(next) = next {
        let link = format!(
            "<{}/api/v1/groups/{group}/users?after={next}&limit={limit}>; rel=\"next\"",
            s.public_okta
        );
        response.headers_mut().insert("link", link.parse().unwrap());
    }
    response
}

pub(super) async fn add(
    State(s): State<Shared>,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    match membership(&mut s.lock().unwrap(), &group, &user, true) {
        Some(_) => (StatusCode::NO_CONTENT, [("x-okta-request-id", "req-add")]).into_response(),
        None => okta_not_found(),
    }
}

pub(super) async fn remove(
    State(s): State<Shared>,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    match membership(&mut s.lock().unwrap(), &group, &user, false) {
        Some(true) => (
            StatusCode::NO_CONTENT,
            [("x-okta-request-id", "req-remove")],
        )
            .into_response(),
        _ => okta_not_found(),
    }
}
