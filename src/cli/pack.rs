//! `clearance audit pack`: an evidence pack an auditor verifies offline — the export of a
//! window, every policy version in force in it (full text), the checkpoints and the public
//! key, with a manifest of SHA-256 digests.

use super::audit::{read_public_key, verdict, verify_file};
use super::client::{Client, ServerArgs, runtime};
use super::{new_folder, unusable};
use crate::clock::{Clock, SystemClock};
use crate::domain::PolicyFile;
use crate::evidence::{ExportLine, VerifyReport};
use crate::policy::Bundle;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `clearance audit pack`.
#[derive(Debug, Args)]
pub(super) struct PackArgs {
    /// Start of the window (RFC 3339; default: 90 days before `--to`).
    #[arg(long)]
    from: Option<DateTime<Utc>>,
    /// End of the window (RFC 3339; default: now); at most 365 days after `--from`.
    #[arg(long)]
    to: Option<DateTime<Utc>>,
    /// The folder to write; it must not exist or be empty.
    out: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
}

/// The files of a pack, by name.
const EXPORT: &str = "audit.jsonl";
const PUBLIC_KEY: &str = "public-key.json";
const CHECKPOINTS: &str = "checkpoints.json";
const HISTORY: &str = "policies/history.json";
const MANIFEST: &str = "MANIFEST.json";

/// Writes the pack, then verifies its export with its public key; prints the report and
/// exits 0 when it verifies, 1 when it does not, 2 when the pack could not be written.
pub(super) fn pack(args: &PackArgs) -> ExitCode {
    let written = runtime().and_then(|rt| rt.block_on(write_pack(args)));
    match written.and_then(|()| verify_pack(&args.out)) {
        Ok(report) => verdict(&json!({"pack": args.out, "verify": report}), report.ok),
        Err(e) => unusable(&e),
    }
}

async fn write_pack(args: &PackArgs) -> Result<(), String> {
    let out = &args.out;
    prepare(out)?;
    let client = Client::new(&args.server);
    let key: Value = client.get("/v1/audit/public-key", &[]).await?;
    write_json(out, PUBLIC_KEY, &key)?;

    let mut query = Vec::new();
    query.extend(args.from.map(|f| ("from", f.to_rfc3339())));
    query.extend(args.to.map(|t| ("to", t.to_rfc3339())));
    client
        .download("/v1/audit/export", &query, &out.join(EXPORT))
        .await?;
    let (from, to) = export_window(&out.join(EXPORT))?;

    let mut checkpoints: Vec<Value> = Vec::new();
    loop {
        let after = checkpoints
            .last()
            .and_then(|c| c["seq"].as_u64())
            .unwrap_or(0);
        let page: Vec<Value> = client
            .get(
                "/v1/audit/checkpoints",
                &[("after_seq", after.to_string()), ("limit", "1000".into())],
            )
            .await?;
        if page.is_empty() {
            break;
        }
        checkpoints.extend(page);
    }
    write_json(out, CHECKPOINTS, &Value::Array(checkpoints))?;

    let history: Vec<Value> = client.get("/v1/policies/history", &[]).await?;
    write_json(out, HISTORY, &Value::Array(history.clone()))?;
    let mut versions: Vec<&str> = history
        .iter()
        .filter(|p| in_force_during(p, from, to))
        .filter_map(|p| p.get("version")?.as_str())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    for version in versions {
        let record: Value = client
            .get(&format!("/v1/policies/versions/{version}"), &[])
            .await?;
        write_version(out, version, &record)?;
    }
    write_manifest(out, &client, from, to)
}

/// The folder must be new or empty, so that a pack holds nothing else.
fn prepare(out: &Path) -> Result<(), String> {
    new_folder(out)?;
    std::fs::create_dir_all(out.join("policies")).map_err(|e| format!("{}: {e}", out.display()))
}

/// The window the server exported, from the export's header line.
fn export_window(export: &Path) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let file = std::fs::File::open(export).map_err(|e| format!("{}: {e}", export.display()))?;
    let first = std::io::BufReader::new(file).lines().next();
    match first
        .and_then(Result::ok)
        .map(|l| serde_json::from_str::<ExportLine>(&l))
    {
        Some(Ok(ExportLine::Header { export })) => Ok((export.from, export.to)),
        _ => Err(format!(
            "{}: the export has no header line",
            export.display()
        )),
    }
}

/// Whether a history period overlaps `[from, to]`.
fn in_force_during(period: &Value, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let at = |field: &str| {
        period
            .get(field)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let began_in_time = at("from").is_some_and(|start| start <= to);
    let not_over = at("to").is_none_or(|end| end >= from);
    began_in_time && not_over
}

/// `policies/<seq>-<version>/`: every file, the schema, and `version.json` (the server's
/// record). Refuses text that does not hash to its version.
fn write_version(out: &Path, version: &str, record: &Value) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Text {
        files: Vec<PolicyFile>,
        schema: PolicyFile,
    }
    let text = record.get("text").cloned().unwrap_or_default();
    let Text { files, schema } =
        serde_json::from_value(text).map_err(|e| format!("version {version}: {e}"))?;
    let bundle = Bundle::new(files, schema);
    if bundle.version().as_str() != version {
        return Err(format!(
            "version {version}: its text hashes to {}",
            bundle.version()
        ));
    }
    let seq = record
        .get("seq")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let dir = format!("policies/{seq}-{version}");
    for file in bundle.files.iter().chain([&bundle.schema]) {
        write(
            out,
            &format!("{dir}/{}", file.path),
            file.content.as_bytes(),
        )?;
    }
    let mut meta = record.clone();
    if let Some(map) = meta.as_object_mut() {
        map.remove("text");
    }
    write_json(out, &format!("{dir}/version.json"), &meta)
}

/// `MANIFEST.json`: what the pack is, and the SHA-256 of every other file in it.
fn write_manifest(
    out: &Path,
    client: &Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), String> {
    let mut files = Vec::new();
    for path in walk(out, out)? {
        let bytes = std::fs::read(out.join(&path)).map_err(|e| format!("{path}: {e}"))?;
        files.push(json!({"path": path, "bytes": bytes.len(),
            "sha256": hex::encode(Sha256::digest(&bytes))}));
    }
    let manifest = json!({
        "server": client.base(),
        "created_at": SystemClock.now(),
        "from": from,
        "to": to,
        "verify": format!("clearance audit verify --public-key {PUBLIC_KEY} {EXPORT}"),
        "files": files,
    });
    write_json(out, MANIFEST, &manifest)
}

/// Every file under `dir`, relative to `root`, `/`-separated and sorted.
fn walk(root: &Path, dir: &Path) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            found.extend(walk(root, &path)?);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
            found.push(parts.join("/"));
        }
    }
    found.sort();
    Ok(found)
}

/// Verifies the pack's export with the pack's public key.
fn verify_pack(out: &Path) -> Result<VerifyReport, String> {
    let key = read_public_key(&out.join(PUBLIC_KEY))?;
    verify_file(&out.join(EXPORT), None, Some(key), None)
}

fn write_json(out: &Path, name: &str, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    write(out, name, text.as_bytes())
}

fn write(out: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = out.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
