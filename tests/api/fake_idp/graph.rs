//! The fake's Microsoft Graph and Entra token endpoint: OData collections and errors,
//! `@odata.nextLink` paging, `$ref` membership.

use super::{ENTRA_CLIENT, ENTRA_SECRET, Group, Shared, User, membership, ok_json, page};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

pub(super) async fn token(State(s): State<Shared>, body: Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let ok = form.get("client_id").map(String::as_str) == Some(ENTRA_CLIENT)
        && form.get("client_secret").map(String::as_str) == Some(ENTRA_SECRET)
        && form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("scope").map(String::as_str) == Some("https://graph.microsoft.com/.default");
    if !ok {
        return ok_json(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215"}),
            "req-token",
        );
    }
    let mut s = s.lock().unwrap();
    s.tokens_issued += 1;
    let token = format!("graph-access-{}", s.tokens_issued);
    s.valid_tokens.push(token.clone());
    ok_json(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token}),
        "req-token",
    )
}

fn graph_user_json(u: &User) -> Value {
    json!({"id": u.id, "userPrincipalName": u.login, "mail": u.email})
}

fn graph_not_found() -> Response {
    ok_json(
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource does not exist."}}),
        "req-404",
    )
}

fn odata_value(filter: &str) -> String {
    filter
        .split_once('\'')
        .map(|(_, rest)| rest.trim_end_matches('\'').replace("''", "'"))
        .unwrap_or_default()
}

pub(super) async fn user(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let s = s.lock().unwrap();
    match s.user_by(&id) {
        Some(u) => ok_json(StatusCode::OK, graph_user_json(u), "req-user"),
        None => graph_not_found(),
    }
}

pub(super) async fn search_users(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mail = odata_value(q.get("$filter").map(String::as_str).unwrap_or_default());
    let s = s.lock().unwrap();
    let found: Vec<Value> = s
        .users
        .iter()
        .filter(|u| u.email.eq_ignore_ascii_case(&mail))
        .map(graph_user_json)
        .collect();
    ok_json(StatusCode::OK, json!({"value": found}), "req-search")
}

pub(super) async fn groups(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let name = q.get("$filter").map(|f| odata_value(f));
    let s = s.lock().unwrap();
    let found: Vec<Value> = s
        .groups
        .iter()
        .filter(|(_, g)| name.as_ref().is_none_or(|n| *n == g.name))
        .map(|(id, g)| json!({"id": id, "displayName": g.name}))
        .collect();
    ok_json(StatusCode::OK, json!({"value": found}), "req-groups")
}

pub(super) async fn create_group(State(s): State<Shared>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut s = s.lock().unwrap();
    let id = s.id("grp-");
    let name = body["displayName"].as_str().unwrap_or_default().to_owned();
    s.groups.insert(
        id.clone(),
        Group {
            name: name.clone(),
            members: Vec::new(),
        },
    );
    ok_json(
        StatusCode::CREATED,
        json!({"id": id, "displayName": name, "securityEnabled": true}),
        "req-create",
    )
}

pub(super) async fn members(
    State(s): State<Shared>,
    Path(group): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = s.lock().unwrap();
    let Some(g) = s.groups.get(&group) else {
        return graph_not_found();
    };
    let after = q.get("$skiptoken").cloned().unwrap_or_default();
    let top = q.get("$top").and_then(|a| a.parse().ok()).unwrap_or(100);
    let (ids, next) = page(&s, &g.members, &after, top);
    let value: Vec<Value> = ids
        .iter()
        .map(|id| match s.user_by(id) {
            Some(u) => graph_user_json(u),
            None => json!({"id": id}),
        })
        .collect();
    let mut body = json!({"value": value});
    if let Some(next) = next {
        body["@odata.nextLink"] = json!(format!(
            "{}/groups/{group}/members?$top={top}&$skiptoken={next}",
            s.public_graph
        ));
    }
    ok_json(StatusCode::OK, body, "req-members")
}

pub(super) async fn add(
    State(s): State<Shared>,
    Path(group): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let user = body["@odata.id"]
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or_default()
        .to_owned();
    match membership(&mut s.lock().unwrap(), &group, &user, true) {
        Some(false) => (StatusCode::NO_CONTENT, [("request-id", "req-add")]).into_response(),
        Some(true) => ok_json(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "Request_BadRequest",
                "message": "One or more added object references already exist for the following modified properties: 'members'."}}),
            "req-add",
        ),
        None => graph_not_found(),
    }
}

pub(super) async fn remove(
    State(s): State<Shared>,
    Path((group, user)): Path<(String, String)>,
    _uri: Uri,
    _headers: HeaderMap,
) -> Response {
    match membership(&mut s.lock().unwrap(), &group, &user, false) {
        Some(true) => (StatusCode::NO_CONTENT, [("request-id", "req-remove")]).into_response(),
        _ => graph_not_found(),
    }
}

pub(super) async fn check_member_groups(
    State(s): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let s = s.lock().unwrap();
    let Some(user) = s.user_by(&id) else {
        return graph_not_found();
    };
    let found: Vec<Value> = body["groupIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|g| {
            s.groups
                .get(*g)
                .is_some_and(|g| g.members.contains(&user.id))
        })
        .map(|g| json!(g))
        .collect();
    ok_json(StatusCode::OK, json!({"value": found}), "req-check")
}
