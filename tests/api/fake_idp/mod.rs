//! A stateful fake of Okta's and Microsoft Graph's group APIs and Entra's token endpoint:
//! users, groups and members, with injectable faults (429 with `Retry-After` or
//! `X-Rate-Limit-Reset`, 5xx, slow answers, 401) and an optional announced rate limit. Tests
//! start it on 127.0.0.1:0 and put Prism in front of it (see `prism.rs`). Okta's wire shapes
//! are in `okta.rs`, Graph's and the token endpoint's in `graph.rs`.

mod graph;
mod okta;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
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

    /// This answer, `delay` late (the change is not made).
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The fault's answer: the vendor's `error` for its status, with its headers, after the
    /// delay; or for status 0 the real answer (the change made), the delay late.
    pub async fn answer(
        self,
        request: axum::extract::Request,
        next: axum::middleware::Next,
        error: impl FnOnce(u16) -> Response,
    ) -> Response {
        if self.status == 0 {
            let response = next.run(request).await;
            tokio::time::sleep(self.delay).await;
            return response;
        }
        tokio::time::sleep(self.delay).await;
        with_headers(error(self.status), &self.headers)
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
    /// Calls being answered now, and the most there ever were at once.
    in_flight: u32,
    pub max_in_flight: u32,
    next_id: u64,
}

impl Directory {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }

    pub(super) fn user_by(&self, key: &str) -> Option<&User> {
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

pub(super) type Shared = Arc<Mutex<Directory>>;

/// Serves `app` on 127.0.0.1:0; its base URL and the task serving it.
pub async fn serve(app: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (address, task)
}

impl FakeIdp {
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/api/v1/users", get(okta::search_users))
            .route("/api/v1/users/{id}", get(okta::user))
            .route("/api/v1/groups", get(okta::groups).post(okta::create_group))
            .route("/api/v1/groups/{group}/users", get(okta::members))
            .route(
                "/api/v1/groups/{group}/users/{user}",
                put(okta::add).delete(okta::remove),
            )
            .route("/{tenant}/oauth2/v2.0/token", post(graph::token))
            .route("/users", get(graph::search_users))
            .route("/users/{id}", get(graph::user))
            .route(
                "/users/{id}/checkMemberGroups",
                post(graph::check_member_groups),
            )
            .route("/groups", get(graph::groups).post(graph::create_group))
            .route("/groups/{group}/members", get(graph::members))
            .route("/groups/{group}/members/$ref", post(graph::add))
            .route(
                "/groups/{group}/members/{user}/$ref",
                axum::routing::delete(graph::remove),
            )
            .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
            .with_state(state.clone());
        let (address, task) = serve(app).await;
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

/// Counts the calls in flight around [`answer`].
async fn gate(
    State(state): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    {
        let mut s = state.lock().unwrap();
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
    }
    let response = answer(State(state.clone()), request, next).await;
    state.lock().unwrap().in_flight -= 1;
    response
}

/// Records every call, checks credentials, applies faults and the rate limit.
async fn answer(
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
        let error = |status| error_body(op, okta, status).into_response();
        return with_headers(fault.answer(request, next, error).await, &rate_headers);
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

pub(super) fn ok_json(status: StatusCode, value: Value, request_id: &str) -> Response {
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

/// One page of `members` from the cursor `after` (an index, or `e<index>`: an empty page, then
/// on from the index), and the next page's cursor.
pub(super) fn page(
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

pub(super) fn membership(s: &mut Directory, group: &str, user: &str, add: bool) -> Option<bool> {
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
