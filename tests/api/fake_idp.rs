//! A stateful fake of Okta's and Microsoft Graph's group APIs and Entra's token endpoint:
//! users, groups and members, with injectable faults (429 with `Retry-After` or
//! `X-Rate-Limit-Reset`, 5xx, slow answers, 401) and an optional announced rate limit. Tests
//! start it on 127.0.0.1:0 and put Prism in front of it (see `prism.rs`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

pub const OKTA_TOKEN: &str = "okta-test-token-7f3a";
pub const ENTRA_CLIENT: &str = "app-0001";
pub const ENTRA_SECRET: &str = "entra-test-secret-91c2";

/// What a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    FindUser,
    Add,
    Remove,
    List,
    Groups,
    Token,
}

/// An answer given instead of the real one (after `delay`); status 0 gives the real answer,
/// `delay` after making the change (an answer lost after the work was done).
#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
}

impl Fault {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    /// The real answer, `delay` late.
    pub fn slow(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    /// Okta login, Entra userPrincipalName.
    pub login: String,
    pub email: String,
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    pub members: Vec<String>,
}

/// The announced limit: `per_minute` calls a window, 429 beyond.
#[derive(Debug)]
struct RateLimit {
    per_minute: u32,
    window_start: Instant,
    window_end: SystemTime,
    used: u32,
}

#[derive(Debug, Default)]
pub struct Directory {
    pub users: Vec<User>,
    pub groups: BTreeMap<String, Group>,
    /// Members per page at most (default: the page size asked for).
    pub page_size: Option<usize>,
    /// An empty page is answered after this many pages (a vendor may do so).
    pub empty_page_after: Option<usize>,
    /// Every member list answers empty (an IdP having a bad day).
    pub empty_lists: bool,
    /// The origin clients reach this fake at (Prism's), for next-page links.
    pub public_okta: String,
    pub public_graph: String,
    faults: Vec<(Op, VecDeque<Fault>)>,
    /// `METHOD path?query` of every call, in order.
    pub requests: Vec<String>,
    /// Every header value received, for the secrets check.
    pub authorizations: Vec<String>,
    pub tokens_issued: u32,
    valid_tokens: Vec<String>,
    rate: Option<RateLimit>,
    pub rate_limited: u32,
    next_id: u64,
}

impl Directory {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }

    fn user_by(&self, key: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.id == key || u.login.eq_ignore_ascii_case(key))
    }

    fn take_fault(&mut self, op: Op) -> Option<Fault> {
        let (_, queue) = self
            .faults
            .iter_mut()
            .find(|(o, q)| *o == op && !q.is_empty())?;
        queue.pop_front()
    }
}

/// A running fake.
pub struct FakeIdp {
    pub address: String,
    pub state: Arc<Mutex<Directory>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<Mutex<Directory>>;

impl FakeIdp {
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/api/v1/users", get(okta_search_users))
            .route("/api/v1/users/{id}", get(okta_user))
            .route("/api/v1/groups", get(okta_groups).post(okta_create_group))
            .route("/api/v1/groups/{group}/users", get(okta_members))
            .route(
                "/api/v1/groups/{group}/users/{user}",
                put(okta_add).delete(okta_remove),
            )
            .route("/{tenant}/oauth2/v2.0/token", post(entra_token))
            .route("/users", get(graph_search_users))
            .route("/users/{id}", get(graph_user))
            .route(
                "/users/{id}/checkMemberGroups",
                post(graph_check_member_groups),
            )
            .route("/groups", get(graph_groups).post(graph_create_group))
            .route("/groups/{group}/members", get(graph_members))
            .route("/groups/{group}/members/$ref", post(graph_add))
            .route(
                "/groups/{group}/members/{user}/$ref",
                axum::routing::delete(graph_remove),
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

    pub fn lock(&self) -> MutexGuard<'_, Directory> {
        self.state.lock().unwrap()
    }

    pub fn add_user(&self, id: &str, login: &str, email: &str) {
        self.lock().users.push(User {
            id: id.into(),
            login: login.into(),
            email: email.into(),
        });
    }

    pub fn add_group(&self, id: &str, name: &str, members: &[&str]) {
        self.lock().groups.insert(
            id.into(),
            Group {
                name: name.into(),
                members: members.iter().map(|m| (*m).to_owned()).collect(),
            },
        );
    }

    pub fn members(&self, group: &str) -> Vec<String> {
        self.lock()
            .groups
            .get(group)
            .map(|g| g.members.clone())
            .unwrap_or_default()
    }

    /// Answers the next `n` calls of `op` with `fault`.
    pub fn fail_next(&self, op: Op, n: usize, fault: Fault) {
        let mut state = self.lock();
        state
            .faults
            .push((op, std::iter::repeat_n(fault, n).collect()));
    }

    /// Makes every token issued so far invalid (Graph answers 401 to it).
    pub fn expire_tokens(&self) {
        self.lock().valid_tokens.clear();
    }

    /// Announces and enforces `per_minute` calls a minute.
    pub fn limit_rate(&self, per_minute: u32) {
        self.lock().rate = Some(RateLimit {
            per_minute,
            window_start: Instant::now(),
            window_end: SystemTime::now() + Duration::from_secs(60),
            used: 0,
        });
    }

    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }
}

fn op_of(method: &Method, path: &str) -> Op {
    if path.ends_with("/checkMemberGroups") {
        return Op::List;
    }
    let okta = path.starts_with("/api/v1/");
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), okta, parts.as_slice()) {
        ("POST", _, [_, "oauth2", ..]) => Op::Token,
        ("PUT", true, _) | ("POST", false, [_, _, "members", "$ref"]) => Op::Add,
        ("DELETE", _, _) => Op::Remove,
        ("GET", true, [_, _, "groups", _, "users"]) | ("GET", false, [_, _, "members"]) => Op::List,
        (_, true, [_, _, "groups", ..]) | (_, false, ["groups", ..]) => Op::Groups,
        _ => Op::FindUser,
    }
}

/// Records every call, checks credentials, applies faults and the rate limit.
async fn gate(
    State(state): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let op = op_of(&method, uri.path());
    let okta = uri.path().starts_with("/api/v1/");
    let (fault, limited, rate_headers) = {
        let mut s = state.lock().unwrap();
        s.requests.push(format!("{method} {uri}"));
        s.authorizations.push(auth.clone());
        let fault = s.take_fault(op);
        let (limited, headers) = rate(&mut s);
        (fault, limited, headers)
    };
    if let Some(fault) = fault {
        if fault.status == 0 {
            let response = next.run(request).await;
            tokio::time::sleep(fault.delay).await;
            return with_headers(response, &rate_headers);
        }
        tokio::time::sleep(fault.delay).await;
        let mut response = error_body(op, okta, fault.status).into_response();
        for (name, value) in &fault.headers {
            response.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        return with_headers(response, &rate_headers);
    }
    if limited {
        return with_headers(error_body(op, okta, 429).into_response(), &rate_headers);
    }
    let authorised = {
        let s = state.lock().unwrap();
        match op {
            Op::Token => true,
            _ if okta => auth == format!("SSWS {OKTA_TOKEN}"),
            _ => auth
                .strip_prefix("Bearer ")
                .is_some_and(|t| s.valid_tokens.iter().any(|v| v == t)),
        }
    };
    if !authorised {
        return error_body(op, okta, 401).into_response();
    }
    with_headers(next.run(request).await, &rate_headers)
}

fn rate(s: &mut Directory) -> (bool, Vec<(String, String)>) {
    let Some(rate) = s.rate.as_mut() else {
        return (false, Vec::new());
    };
    if rate.window_start.elapsed() >= Duration::from_secs(60) {
        rate.window_start = Instant::now();
        rate.window_end = SystemTime::now() + Duration::from_secs(60);
        rate.used = 0;
    }
    rate.used += 1;
    let limited = rate.used > rate.per_minute;
    let remaining = rate.per_minute.saturating_sub(rate.used);
    let reset = rate
        .window_end
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let headers = vec![
        ("x-rate-limit-limit".into(), rate.per_minute.to_string()),
        ("x-rate-limit-remaining".into(), remaining.to_string()),
        ("x-rate-limit-reset".into(), reset.to_string()),
    ];
    if limited {
        s.rate_limited += 1;
    }
    (limited, headers)
}

fn with_headers(mut response: Response, headers: &[(String, String)]) -> Response {
    for (name, value) in headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

fn error_body(
    op: Op,
    okta: bool,
    status: u16,
) -> (StatusCode, [(&'static str, &'static str); 2], String) {
    let code = StatusCode::from_u16(status).unwrap();
    let body = match (op, okta) {
        (Op::Token, _) => json!({"error": "invalid_client", "error_description": "refused"}),
        (_, true) => json!({"errorCode": format!("E{status:07}"), "errorSummary": "injected"}),
        (_, false) => json!({"error": {"code": format!("Fault{status}"), "message": "injected"}}),
    };
    (
        code,
        [
            ("content-type", "application/json"),
            ("x-okta-request-id", "fault"),
        ],
        body.to_string(),
    )
}

fn okta_user_json(u: &User) -> Value {
    json!({"id": u.id, "status": "ACTIVE",
        "profile": {"login": u.login, "email": u.email, "firstName": "Test", "lastName": "User"}})
}

fn ok_json(status: StatusCode, value: Value, request_id: &str) -> Response {
    (
        status,
        [
            ("content-type", "application/json".to_owned()),
            ("x-okta-request-id", request_id.to_owned()),
            ("request-id", request_id.to_owned()),
        ],
        value.to_string(),
    )
        .into_response()
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

async fn okta_user(State(s): State<Shared>, Path(id): Path<String>) -> Response {
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

async fn okta_search_users(
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

async fn okta_groups(
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

async fn okta_create_group(State(s): State<Shared>, body: Bytes) -> Response {
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

/// One page of `members` from the cursor `after` (an index, or `e<index>`: an empty page, then
/// on from the index), and the next page's cursor.
fn page(
    s: &Directory,
    members: &[String],
    after: &str,
    asked: usize,
) -> (Vec<String>, Option<String>) {
    if s.empty_lists {
        return (Vec::new(), None);
    }
    if let Some(rest) = after.strip_prefix('e') {
        return (Vec::new(), Some(rest.to_owned()));
    }
    let start: usize = after.parse().unwrap_or(0);
    let size = s.page_size.unwrap_or(asked).max(1);
    let end = (start + size).min(members.len());
    let items = members.get(start..end).unwrap_or_default().to_vec();
    let next = (end < members.len()).then(|| match s.empty_page_after {
        Some(k) if end / size == k => format!("e{end}"),
        _ => end.to_string(),
    });
    (items, next)
}

async fn okta_members(
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

fn membership(s: &mut Directory, group: &str, user: &str, add: bool) -> Option<bool> {
    s.user_by(user)?;
    let g = s.groups.get_mut(group)?;
    let present = g.members.iter().any(|m| m == user);
    match (add, present) {
        (true, false) => g.members.push(user.to_owned()),
        (false, true) => g.members.retain(|m| m != user),
        _ => {}
    }
    Some(present)
}

async fn okta_add(
    State(s): State<Shared>,
    Path((group, user)): Path<(String, String)>,
) -> Response {
    match membership(&mut s.lock().unwrap(), &group, &user, true) {
        Some(_) => (StatusCode::NO_CONTENT, [("x-okta-request-id", "req-add")]).into_response(),
        None => okta_not_found(),
    }
}

async fn okta_remove(
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

async fn entra_token(State(s): State<Shared>, body: Bytes) -> Response {
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

async fn graph_user(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let s = s.lock().unwrap();
    match s.user_by(&id) {
        Some(u) => ok_json(StatusCode::OK, graph_user_json(u), "req-user"),
        None => graph_not_found(),
    }
}

async fn graph_search_users(
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

async fn graph_groups(
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

async fn graph_create_group(State(s): State<Shared>, body: Bytes) -> Response {
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

async fn graph_members(
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

async fn graph_add(State(s): State<Shared>, Path(group): Path<String>, body: Bytes) -> Response {
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

async fn graph_remove(
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

async fn graph_check_member_groups(
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
