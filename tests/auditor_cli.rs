//! `clearance policy what-if` and `clearance audit pack` against the real server binary, as
//! a security team's CI and an auditor would run them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::zombie_processes,
    missing_docs
)]

mod common;

use common::{TOKEN, call, get, repo, serve};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};

fn clearance(args: &[&str], base: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(args)
        .env("CLEARANCE_URL", base)
        .env("CLEARANCE_TOKEN", TOKEN)
        .env_remove("CLEARANCE_POLICIES")
        .env_remove("CLEARANCE_SCHEMA")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn copy_policies(to: &Path) {
    for entry in std::fs::read_dir(repo().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let content = std::fs::read_to_string(&path).unwrap();
    assert!(content.contains(from));
    std::fs::write(&path, content.replace(from, to)).unwrap();
}

const HIGH_30: &str = "resource.risk == \"high\" && context.duration_days > 30";
const HIGH_7: &str = "resource.risk == \"high\" && context.duration_days > 7";

/// A server with alice..dave, the seeded catalog, and four requests: otter-ai (high risk)
/// for 5 and 20 days, grammarly (low) for 7 and 60.
async fn server_with_requests(data: &Path, policies: &Path) -> (std::process::Child, String) {
    let (child, base) = serve(data, policies);
    let client = clearance::connect::http_client();
    let put = reqwest::Method::PUT;
    let post = reqwest::Method::POST;
    let seed = call(
        &client,
        post.clone(),
        format!("{base}/v1/tools/seed"),
        Some(json!({})),
    );
    assert_eq!(seed.await.unwrap().status(), 200);
    let asked = [
        ("AIR-1", "alice", "otter-ai", 5),
        ("AIR-2", "bob", "otter-ai", 20),
        ("AIR-3", "carol", "grammarly", 7),
        ("AIR-4", "dave", "grammarly", 60),
    ];
    for (key, user, tool, days) in asked {
        let url = format!("{base}/v1/users/{user}@example.com");
        let body = json!({"groups": ["employees"], "manager": "mgr@example.com"});
        assert_eq!(
            call(&client, put.clone(), url, Some(body))
                .await
                .unwrap()
                .status(),
            200
        );
        let body = json!({"issue_key": key, "requester": format!("{user}@example.com"),
            "tool": tool, "purpose": "Draft customer emails", "duration_days": days});
        let url = format!("{base}/v1/requests");
        assert_eq!(
            call(&client, post.clone(), url, Some(body))
                .await
                .unwrap()
                .status(),
            201
        );
    }
    (child, base)
}

#[tokio::test]
async fn what_if_from_the_command_line_lists_the_decisions_a_candidate_changes() {
    let data = tempfile::tempdir().unwrap();
    let live = tempfile::tempdir().unwrap();
    copy_policies(live.path());
    let (mut child, base) = server_with_requests(data.path(), live.path()).await;

    let candidate = tempfile::tempdir().unwrap();
    copy_policies(candidate.path());
    let policies = candidate.path().to_str().unwrap();
    let schema = repo().join("schemas/clearance.cedarschema");
    let schema = schema.to_str().unwrap();
    let args = [
        "policy",
        "what-if",
        "--policies",
        policies,
        "--schema",
        schema,
        "--since",
        "1d",
    ];

    let unchanged = clearance(&[&args[..], &["--fail-on-change"]].concat(), &base);
    assert!(unchanged.status.success(), "{}", text(&unchanged.stderr));
    assert!(
        text(&unchanged.stdout).contains(": 0 of 4 requests"),
        "{}",
        text(&unchanged.stdout)
    );

    edit(candidate.path(), "duration.cedar", HIGH_30, HIGH_7);
    let changed = clearance(&[&args[..], &["--fail-on-change"]].concat(), &base);
    let out = text(&changed.stdout);
    assert_eq!(
        changed.status.code(),
        Some(1),
        "{out}{}",
        text(&changed.stderr)
    );
    assert!(out.contains(": 1 of 4 requests"), "{out}");
    assert!(out.contains("AIR-2  needs_review"), "{out}");
    assert!(out.contains("-> denied [duration_exceeds_max]"), "{out}");
    let json_out = clearance(&[&args[..], &["--json"]].concat(), &base);
    assert!(json_out.status.success());
    let answer: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(answer["changed"][0]["issue_key"], "AIR-2");

    // A broken candidate is refused locally, by file and line; the server is not asked.
    std::fs::write(
        candidate.path().join("broken.cedar"),
        "permit (principal,\n",
    )
    .unwrap();
    let broken = clearance(&args, &base);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        text(&broken.stderr).contains("broken.cedar:"),
        "{}",
        text(&broken.stderr)
    );

    let wrong_token = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args([
            "policy",
            "what-if",
            "--policies",
            live.path().to_str().unwrap(),
            "--schema",
            schema,
        ])
        .env("CLEARANCE_URL", &base)
        .env("CLEARANCE_TOKEN", "nope")
        .output()
        .unwrap();
    assert_eq!(wrong_token.status.code(), Some(2));
    assert!(
        text(&wrong_token.stderr).contains("401"),
        "{}",
        text(&wrong_token.stderr)
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn an_evidence_pack_holds_the_export_every_version_in_force_and_verifies_offline() {
    let data = tempfile::tempdir().unwrap();
    let live = tempfile::tempdir().unwrap();
    copy_policies(live.path());
    let (mut child, base) = server_with_requests(data.path(), live.path()).await;
    edit(live.path(), "duration.cedar", HIGH_30, HIGH_7);
    let client = clearance::connect::http_client();
    let reload = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/policies/reload"),
        None,
    );
    assert_eq!(reload.await.unwrap().status(), 200);
    let history: Value = get(&client, format!("{base}/v1/policies/history"))
        .await
        .json()
        .await
        .unwrap();

    let out = tempfile::tempdir().unwrap();
    let pack_dir = out.path().join("pack");
    let pack = clearance(&["audit", "pack", pack_dir.to_str().unwrap()], &base);
    assert!(
        pack.status.success(),
        "{}{}",
        text(&pack.stdout),
        text(&pack.stderr)
    );
    let printed: Value = serde_json::from_slice(&pack.stdout).unwrap();
    assert_eq!(printed["verify"]["ok"], true, "{printed}");

    for period in history.as_array().unwrap() {
        let dir = pack_dir.join(format!(
            "policies/{}-{}",
            period["seq"],
            period["version"].as_str().unwrap()
        ));
        assert!(dir.join("duration.cedar").is_file(), "{}", dir.display());
        assert!(dir.join("clearance.cedarschema").is_file());
        let meta: Value =
            serde_json::from_slice(&std::fs::read(dir.join("version.json")).unwrap()).unwrap();
        assert_eq!(meta["version"], period["version"]);
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(pack_dir.join("MANIFEST.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for name in [
        "audit.jsonl",
        "checkpoints.json",
        "public-key.json",
        "policies/history.json",
    ] {
        assert!(listed.contains(&name), "{name} not in {listed:?}");
    }
    for file in manifest["files"].as_array().unwrap() {
        let bytes = std::fs::read(pack_dir.join(file["path"].as_str().unwrap())).unwrap();
        assert_eq!(
            file["sha256"],
            hex::encode(Sha256::digest(&bytes)),
            "{}",
            file["path"]
        );
    }
    let checkpoints: Value =
        serde_json::from_slice(&std::fs::read(pack_dir.join("checkpoints.json")).unwrap()).unwrap();
    assert!(!checkpoints.as_array().unwrap().is_empty());

    // The auditor's own check, with no server: the export against the pack's key, pinned to
    // the last checkpoint.
    let last = checkpoints.as_array().unwrap().last().unwrap();
    std::fs::write(out.path().join("pin.json"), last.to_string()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let verify = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["audit", "verify", "--public-key"])
        .arg(pack_dir.join("public-key.json"))
        .arg("--pinned")
        .arg(out.path().join("pin.json"))
        .arg(pack_dir.join("audit.jsonl"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify.stdout));

    // A pack is never written over another.
    let again = clearance(&["audit", "pack", pack_dir.to_str().unwrap()], &base);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("is not empty"));
}

#[tokio::test]
async fn tokens_are_created_listed_and_revoked_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, base) = server_with_requests(data.path(), &repo().join("policies")).await;

    let created = clearance(
        &[
            "token",
            "create",
            "--role",
            "approver",
            "--subject",
            "alice@example.com",
            "--expires-in-days",
            "30",
        ],
        &base,
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let client = clearance::connect::http_client();
    let with_it = client.get(format!("{base}/v1/tools")).bearer_auth(secret);
    assert_eq!(with_it.send().await.unwrap().status(), 200);

    let listed = clearance(&["token", "list"], &base);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listed = text(&listed.stdout);
    assert!(listed.contains(id) && !listed.contains(secret), "{listed}");

    let revoked = clearance(&["token", "revoke", id], &base);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let with_it = client.get(format!("{base}/v1/tools")).bearer_auth(secret);
    assert_eq!(with_it.send().await.unwrap().status(), 401);
    let unknown = clearance(
        &[
            "token",
            "create",
            "--role",
            "admin",
            "--subject",
            "nobody@example.com",
        ],
        &base,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no such user"),
        "{}",
        text(&unknown.stderr)
    );
    child.kill().unwrap();
}
