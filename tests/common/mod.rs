//! The real server binary, started on 127.0.0.1:0, for tests that drive it as users do.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "binary-test-admin-token-0123456789";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts `clearance serve` on 127.0.0.1:0 over `data` and `policies`; returns the child and
/// its base URL.
pub fn serve(data: &Path, policies: &Path) -> (Child, String) {
    let (child, base, _) = serve_with(data, policies, &[]);
    (child, base)
}

/// Like [`serve`], with more arguments; also returns what the server logged before it
/// listened. Tests sign an audit checkpoint every 25 entries.
pub fn serve_with(data: &Path, policies: &Path, args: &[&str]) -> (Child, String, Vec<String>) {
    let mut all = vec!["--checkpoint-every", "25"];
    all.extend_from_slice(args);
    spawn_server(data, policies, &all)
}

/// Starts `clearance serve` on 127.0.0.1:0 over `data` and `policies`, with `args` added and
/// `TOKEN` as the bootstrap admin token; returns the child, its base URL and what it logged
/// before it listened. The rest of its log is drained on a thread, so that a long run never
/// blocks the server on a full pipe.
pub fn spawn_server(data: &Path, policies: &Path, args: &[&str]) -> (Child, String, Vec<String>) {
    let (child, base, logged, _) =
        spawn_server_logging(data, policies, args, "info,tower_http=warn");
    (child, base, logged)
}

/// Like [`spawn_server`] with `RUST_LOG=filter`, also keeping every line logged after it
/// listened (for tests that read the whole log).
pub fn spawn_server_logging(
    data: &Path,
    policies: &Path,
    args: &[&str],
    filter: &str,
) -> (Child, String, Vec<String>, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sweep-interval-secs",
            "0",
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--policies")
        .arg(policies)
        .arg("--schema")
        .arg(repo().join("schemas/clearance.cedarschema"))
        .args(args)
        .env("CLEARANCE_ADMIN_TOKEN", TOKEN)
        // Fixed, so that the startup lines tests look for are logged whatever the caller's
        // environment says.
        .env("RUST_LOG", filter)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut logged = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(at) = line.find("127.0.0.1:") {
            let addr: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            let rest: Arc<Mutex<Vec<String>>> = Arc::default();
            let keep = rest.clone();
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    keep.lock().unwrap().push(line);
                }
            });
            return (child, format!("http://{addr}"), logged, rest);
        }
        logged.push(line);
    }
    panic!("the server did not say where it listens");
}

pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> reqwest::Result<reqwest::Response> {
    let mut request = client.request(method, url).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await
}

pub async fn get(client: &reqwest::Client, url: String) -> reqwest::Response {
    call(client, reqwest::Method::GET, url, None).await.unwrap()
}
