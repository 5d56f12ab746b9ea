//! What every call to the fake passes before its handler: recorded, its credentials checked,
//! an injected fault or the announced rate limit applied, and counted while in flight.

use super::{Directory, OKTA_TOKEN, Shared};
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime};

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

/// The announced limit: `per_minute` calls a window, 429 beyond.
#[derive(Debug)]
pub(super) struct RateLimit {
    pub per_minute: u32,
    pub window_start: Instant,
    pub window_end: SystemTime,
    pub used: u32,
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
pub(super) async fn gate(
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
