//! A stateful fake of Okta's and Microsoft Graph's group APIs and Entra's token endpoint:
//! users, groups and members, with injectable faults (429 with `Retry-After` or
//! `X-Rate-Limit-Reset`, 5xx, slow answers, 401) and an optional announced rate limit. Tests
//! start it on 127.0.0.1:0 and put Prism in front of it (see `prism.rs`). Okta's wire shapes
//! are in `okta.rs`, Graph's and the token endpoint's in `graph.rs`; what every call passes
//! first (recording, credentials, faults, the rate limit) in `gate.rs`.

mod gate;
mod graph;
mod okta;

pub use gate::{Fault, Op};
use gate::{RateLimit, gate};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

pub const OKTA_TOKEN: &str = "okta-test-token-7f3a";
pub const ENTRA_CLIENT: &str = "app-0001";
pub const ENTRA_SECRET: &str = "entra-test-secret-91c2";

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
