//! The real server binary, started on 127.0.0.1:0, for tests that drive it as users do.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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
/// listened.
pub fn serve_with(data: &Path, policies: &Path, args: &[&str]) -> (Child, String, Vec<String>) {
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
        .args(["--checkpoint-every", "25"])
        .args(args)
        .env("CLEARANCE_ADMIN_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut logged = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(at) = line.find("127.0.0.1:") {
            let addr: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            return (child, format!("http://{addr}"), logged);
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
