//! Signed checkpoints and exports: a mutation suite over real exports, checked with the
//! offline verifier (the real binary, no server or database).

use crate::helpers::{TestApp, error_code, request_body, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files an auditor keeps: the public key, and checkpoints they pinned.
struct Auditor {
    dir: tempfile::TempDir,
    hmac_key: PathBuf,
}

impl Auditor {
    async fn new(app: &TestApp) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key: Value = app.get("/v1/audit/public-key").await.json().await.unwrap();
        std::fs::write(dir.path().join("public.json"), key.to_string()).unwrap();
        Self {
            dir,
            hmac_key: app.data_dir.path().join("audit-hmac.key"),
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `clearance audit verify` on `lines`; returns the exit code and the report.
    fn verify(&self, lines: &[String], pinned: Option<&Path>) -> (i32, Value) {
        let export = self.file("export.jsonl", &(lines.join("\n") + "\n"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_clearance"));
        command.args(["audit", "verify", "--public-key"]);
        command.arg(self.dir.path().join("public.json"));
        command.arg("--hmac-key").arg(&self.hmac_key);
        if let Some(pinned) = pinned {
            command.arg("--pinned").arg(pinned);
        }
        let out = command.arg(export).output().unwrap();
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap(), report)
    }

    /// The first bad seq and the kind of fault the verifier reports for `lines`.
    fn fault(&self, lines: &[String]) -> (u64, String) {
        let (code, report) = self.verify(lines, None);
        assert_eq!(code, 1, "{report}");
        let fault = &report["fault"];
        (
            fault["seq"].as_u64().unwrap(),
            fault["kind"].as_str().unwrap().to_owned(),
        )
    }
}

async fn export(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.get(&format!("/v1/audit/export{query}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    text.lines().map(str::to_owned).collect()
}

/// Decisions a day apart, so that the time rule signs checkpoints between them.
async fn decide_days_apart(app: &TestApp, keys: &[&str]) {
    for key in keys {
        app.advance_days(1);
        app.decide(&request_body(key, "alice@example.com", "chatgpt", 14))
            .await;
    }
}

fn parsed(line: &str) -> Value {
    serde_json::from_str(line).unwrap()
}

/// The index of the line holding entry `seq`.
fn line_of(lines: &[String], seq: u64) -> usize {
    lines.iter().position(|l| parsed(l)["seq"] == seq).unwrap()
}

#[tokio::test]
async fn every_mutation_of_a_real_export_is_found_at_its_first_bad_seq() {
    let app = spawn_app().await.with_defaults().await;
    decide_days_apart(&app, &["EV-1", "EV-2", "EV-3", "EV-4"]).await;
    let auditor = Auditor::new(&app).await;
    let lines = export(&app, "").await;

    let header = parsed(&lines[0]);
    let end = header["export"]["end"]["seq"].as_u64().unwrap();
    assert!(header["export"]["start"].is_null());
    assert!(
        lines
            .iter()
            .filter(|l| parsed(l)["checkpoint"].is_object())
            .count()
            >= 4
    );
    let (code, report) = auditor.verify(&lines, None);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["anchored_seq"], end);
    assert!(report["unanchored"].is_null());
    assert_eq!(report["head"]["seq"], end);

    // One byte of each field of entry k.
    let k = end / 2;
    let at = line_of(&lines, k);
    for field in [
        "seq",
        "at",
        "type",
        "actor",
        "subject",
        "data",
        "prev_hash",
        "entry_hash",
        "entry_mac",
    ] {
        let mut entry = parsed(&lines[at]);
        entry[field] = match &entry[field] {
            Value::Number(n) => json!(n.as_u64().unwrap() + 100),
            Value::String(s) if field == "at" => json!(s.replacen("T0", "T1", 1)),
            Value::String(s) => {
                let mut s = s.clone();
                let first = if s.starts_with('0') { "1" } else { "0" };
                s.replace_range(0..1, first);
                json!(s)
            }
            other => json!({"was": other}),
        };
        let mut mutated = lines.clone();
        mutated[at] = entry.to_string();
        let (seq, kind) = auditor.fault(&mutated);
        assert_eq!(seq, k, "{field}");
        assert!(
            ["changed", "malformed"].contains(&kind.as_str()),
            "{field}: {kind}"
        );
    }

    let mut deleted = lines.clone();
    deleted.remove(at);
    assert_eq!(auditor.fault(&deleted), (k, "deleted".into()));

    let mut swapped = lines.clone();
    swapped.swap(at, line_of(&lines, k + 1));
    assert_eq!(auditor.fault(&swapped), (k, "reordered".into()));

    // A forger without the MAC key: well formed and chained, but not sealed.
    let mut forged = parsed(&lines[at]);
    forged["subject"] = json!("req_forged");
    let mut inserted = lines.clone();
    inserted.insert(at, forged.to_string());
    assert_eq!(auditor.fault(&inserted), (k, "inserted".into()));

    // Cut after entry k: the closing checkpoint in the header shows what is missing.
    let truncated: Vec<String> = lines[..=at].to_vec();
    assert_eq!(auditor.fault(&truncated), (k + 1, "truncated".into()));

    // An entry appended after the export's closing checkpoint.
    let mut appended = lines.clone();
    let mut extra = parsed(&lines[line_of(&lines, end)]);
    extra["seq"] = json!(end + 1);
    appended.push(extra.to_string());
    assert_eq!(auditor.fault(&appended), (end + 1, "inserted".into()));

    // Rollback: the auditor pins a checkpoint signed after more work, then is shown the
    // earlier export again.
    decide_days_apart(&app, &["EV-5"]).await;
    let checkpoints: Value = app.get("/v1/audit/checkpoints").await.json().await.unwrap();
    let newest = checkpoints.as_array().unwrap().last().unwrap().clone();
    assert!(newest["seq"].as_u64().unwrap() > end);
    let pinned = auditor.file("pinned.json", &newest.to_string());
    let (code, report) = auditor.verify(&lines, Some(&pinned));
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["fault"]["seq"], end + 1);
    assert_eq!(report["fault"]["kind"], "truncated");
    let later = export(&app, "").await;
    let (code, report) = auditor.verify(&later, Some(&pinned));
    assert_eq!(code, 0, "{report}");

    // A pinned checkpoint with another hash: the export is another history.
    let mut other = newest.clone();
    other["head_hash"] = json!("0".repeat(64));
    let other = auditor.file("other.json", &other.to_string());
    let (code, report) = auditor.verify(&later, Some(&other));
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["fault"]["kind"], "bad_checkpoint");
}

#[tokio::test]
async fn a_window_starts_at_the_checkpoint_before_it_and_csv_lists_the_same_entries() {
    let app = spawn_app().await.with_defaults().await;
    decide_days_apart(&app, &["EV-1", "EV-2"]).await;
    let from = app
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    decide_days_apart(&app, &["EV-3", "EV-4"]).await;
    let auditor = Auditor::new(&app).await;

    let query = format!("?from={}", from.replace('+', "%2B"));
    let lines = export(&app, &query).await;
    let header = parsed(&lines[0]);
    let start = header["export"]["start"]["seq"].as_u64().unwrap();
    assert!(start > 1);
    assert_eq!(parsed(&lines[1])["seq"], start + 1);
    let (code, report) = auditor.verify(&lines, None);
    assert_eq!(code, 0, "{report}");

    // Cut off the start: entries the start anchor promises are missing.
    let mut headless = lines.clone();
    headless.remove(1);
    assert_eq!(auditor.fault(&headless), (start + 1, "deleted".into()));

    let csv = app
        .get(&format!("/v1/audit/export{query}&format=csv"))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    let entries = lines.iter().filter(|l| parsed(l)["seq"].is_u64()).count();
    assert!(csv.starts_with("seq,at,type,actor,subject,data,"));
    assert_eq!(csv.lines().count(), entries + 1);

    let too_long = app
        .get("/v1/audit/export?from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z")
        .await;
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(too_long).await, "export_window_too_large");
    let backwards = app
        .get("/v1/audit/export?from=2026-03-01T00:00:00Z&to=2026-01-01T00:00:00Z")
        .await;
    assert_eq!(backwards.status(), StatusCode::BAD_REQUEST);
    // A window ending at the last instant there is holds nothing yet, and is no failure.
    let end = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    let at = |t: chrono::DateTime<chrono::Utc>| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .replace('+', "%2B")
    };
    let last_day = app
        .get(&format!(
            "/v1/audit/export?from={}&to={}",
            at(end - chrono::Duration::days(1)),
            at(end)
        ))
        .await;
    assert_eq!(last_day.status(), StatusCode::OK);
    // Its default length before the first instant there is: the window starts there.
    let first = chrono::DateTime::<chrono::Utc>::MIN_UTC + chrono::Duration::days(1);
    let first_day = app.get(&format!("/v1/audit/export?to={}", at(first))).await;
    assert_eq!(first_day.status(), StatusCode::OK);
}

#[tokio::test]
async fn retention_prunes_old_entries_behind_a_signed_anchor_and_the_rest_still_verifies() {
    let app = spawn_app().await.with_defaults().await;
    decide_days_apart(&app, &["AIR-1", "AIR-2", "AIR-3"]).await;
    let old: Value = app.get("/v1/audit/verify").await.json().await.unwrap();
    let old_entries = old["entries"].as_u64().unwrap();

    // A year and more later: every entry so far is past the 365-day retention.
    app.advance_days(400);
    app.decide(&request_body("AIR-4", "bob@example.com", "chatgpt", 14))
        .await;
    let report = app.sweep().await;
    assert_eq!(report["audit_entries_pruned"], old_entries);

    let verified: Value = app.get("/v1/audit/verify").await.json().await.unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
    // What is kept: the new decision and the pruning's own entry, after the anchor.
    assert_eq!(verified["entries"], 2, "{verified}");
    assert_eq!(verified["head"]["seq"], old_entries + 2);
    let entries = app.audit_events().await;
    assert_eq!(
        entries[0]["seq"],
        old_entries + 1,
        "the oldest kept follows the anchor"
    );
    let pruned = entries
        .iter()
        .find(|e| e["type"] == "audit.pruned")
        .unwrap();
    assert_eq!(pruned["data"]["from_seq"], 1);
    assert_eq!(pruned["data"]["through_seq"], old_entries);
    assert_eq!(pruned["data"]["anchor"]["seq"], old_entries);
    let checkpoints: Value = app.get("/v1/audit/checkpoints").await.json().await.unwrap();
    assert_eq!(
        checkpoints[0]["seq"], old_entries,
        "the anchor is the oldest checkpoint"
    );

    // An export reaching back past the anchor starts at it and verifies offline.
    let auditor = Auditor::new(&app).await;
    let lines = export(&app, "").await;
    assert_eq!(parsed(&lines[0])["export"]["start"]["seq"], old_entries);
    let (code, offline) = auditor.verify(&lines, None);
    assert_eq!(code, 0, "{offline}");
    // Nothing else is due: a second sweep prunes nothing.
    assert_eq!(app.sweep().await["audit_entries_pruned"], 0);
    app.assert_every_decision_replays().await;
}
