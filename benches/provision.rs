//! Provisioning under a vendor's rate limit: 1,000 auto-approved grants of a tool bound to
//! the fake Okta group, which announces 600 calls a minute in `X-Rate-Limit-*` and answers 429
//! beyond it. Reports the calls made, the time from the first call to the last, and the 429s,
//! against the ideal (calls ÷ limit): clearance should use the limit fully without hammering
//! it. `cargo bench --bench provision [-- --grants N --limit PER_MINUTE]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[allow(dead_code)]
#[path = "../tests/api/fake_idp/mod.rs"]
mod fake_idp;

use clearance::clock::SystemClock;
use clearance::startup::{Application, Config};
use fake_idp::{FakeIdp, OKTA_TOKEN};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-admin-token";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn put(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::PUT, path, body).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, body).await
    }
}

async fn start_server(data: &std::path::Path) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data.to_path_buf(),
        policies_dir: root.join("policies"),
        schema_path: root.join("schemas/clearance.cedarschema"),
        admin_token: Some(TOKEN.into()),
        lifecycle: Default::default(),
        store: Default::default(),
        sweep_every: None,
        timeouts: Default::default(),
        job_poll: Some(Duration::from_millis(100)),
        drift_every: None,
        connected: Default::default(),
    };
    let app = Application::build(config, Arc::new(SystemClock))
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(async move {
        app.run_until(std::future::pending()).await.unwrap();
    });
    base
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let grants = arg("--grants", 1_000);
    let limit = arg("--limit", 600);
    let idp = FakeIdp::start().await;
    idp.add_group("00gbench", "Bench", &[]);
    let data = tempfile::tempdir().unwrap();
    let client = Client {
        http: clearance::connect::http_client(),
        base: start_server(data.path()).await,
    };
    client
        .put(
            "/v1/connectors/okta-main",
            json!({"type": "okta", "base_url": idp.address, "credentials": {"api_token": OKTA_TOKEN}}),
        )
        .await;
    client
        .put(
            "/v1/tools/chat",
            json!({"name": "Chat", "provider": "Vendor", "status": "approved", "risk": "low",
                "default_duration_days": 30,
                "connector": {"type": "okta-group", "connector_id": "okta-main", "group": "00gbench"}}),
        )
        .await;
    for n in 0..grants {
        let email = format!("user{n}@example.com");
        idp.add_user(&format!("00u{n:08}"), &email, &email);
        client
            .put(
                &format!("/v1/users/{email}"),
                json!({"groups": ["employees"]}),
            )
            .await;
    }
    idp.limit_rate(u32::try_from(limit).unwrap());
    let started = Instant::now();
    for n in 0..grants {
        let answer = client
            .post(
                "/v1/requests",
                json!({"issue_key": format!("BENCH-{}", n + 1),
                    "requester": format!("user{n}@example.com"), "tool": "chat",
                    "purpose": "Draft customer emails", "duration_days": 7}),
            )
            .await;
        assert_eq!(answer["decision"]["outcome"], "auto_approved");
    }
    let submitted = started.elapsed();
    while idp.members("00gbench").len() < grants {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            started.elapsed() < Duration::from_secs(3_600),
            "never finished"
        );
    }
    let took = started.elapsed();
    let (calls, limited) = {
        let state = idp.lock();
        (state.requests.len(), state.rate_limited)
    };
    let ideal = Duration::from_secs_f64(calls as f64 * 60.0 / limit as f64);
    println!(
        "provision: {grants} grants, {calls} calls ({:.2} per grant), limit {limit}/min: {:.1} s \
         (ideal {:.1} s, ratio {:.3}), {limited} answered 429; requests submitted in {:.1} s",
        calls as f64 / grants as f64,
        took.as_secs_f64(),
        ideal.as_secs_f64(),
        took.as_secs_f64() / ideal.as_secs_f64(),
        submitted.as_secs_f64(),
    );
}
