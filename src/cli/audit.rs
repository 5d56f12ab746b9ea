//! `clearance audit verify`: checks an exported log offline, with no server or database.

use super::unusable;
use crate::evidence::{Checkpoint, MacKey, PublicKey, Verifier, VerifyReport};
use clap::Args;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `clearance audit verify`.
#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// The audit HMAC key file (the server's `audit-hmac.key`); without it only hashes,
    /// `seq` and links are checked.
    #[arg(long)]
    hmac_key: Option<PathBuf>,
    /// The checkpoint public key (the body of `GET /v1/audit/public-key`, or its hex); with
    /// it checkpoints are verified, and cut-off tails and rewritten histories show.
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// A checkpoint pinned earlier (one item of `GET /v1/audit/checkpoints`): the export
    /// must reach it with the same hash, or it was rolled back or forked. Needs
    /// `--public-key`.
    #[arg(long, requires = "public_key")]
    pinned: Option<PathBuf>,
    /// An export (`GET /v1/audit/export`): JSON lines, oldest first.
    export: PathBuf,
}

/// Verifies the export line by line in constant memory; prints the report as JSON and exits
/// 0 when every entry verifies, 1 at the first fault, 2 when the files cannot be read.
pub(super) fn verify(args: &VerifyArgs) -> ExitCode {
    let key = match args.hmac_key.as_deref().map(MacKey::load).transpose() {
        Ok(key) => key,
        Err(e) => return unusable(&e),
    };
    let public_key = match args.public_key.as_deref().map(read_public_key).transpose() {
        Ok(key) => key,
        Err(e) => return unusable(&e),
    };
    let pinned = match args.pinned.as_deref().map(read_checkpoint).transpose() {
        Ok(pinned) => pinned,
        Err(e) => return unusable(&e),
    };
    match verify_file(&args.export, key, public_key, pinned) {
        Ok(report) => verdict(&report, report.ok),
        Err(e) => unusable(&e),
    }
}

/// Prints `answer` as JSON; exit 0 when `ok`, else 1.
pub(super) fn verdict(answer: &impl serde::Serialize, ok: bool) -> ExitCode {
    println!(
        "{}",
        serde_json::to_string_pretty(answer).unwrap_or_default()
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Verifies the export at `path` line by line, in constant memory.
pub(super) fn verify_file(
    path: &Path,
    key: Option<MacKey>,
    public_key: Option<PublicKey>,
    pinned: Option<Checkpoint>,
) -> Result<VerifyReport, String> {
    let unreadable = |e: std::io::Error| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut verifier = Verifier::export(key, public_key);
    if let Some(pinned) = pinned {
        verifier.expect(pinned);
    }
    for line in std::io::BufReader::new(file).lines() {
        verifier.push_line(&line.map_err(unreadable)?);
    }
    Ok(verifier.finish())
}

pub(super) fn read_public_key(path: &Path) -> Result<PublicKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    PublicKey::parse(&text).ok_or_else(|| format!("{}: not an Ed25519 public key", path.display()))
}

fn read_checkpoint(path: &Path) -> Result<Checkpoint, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a checkpoint: {e}", path.display()))
}
