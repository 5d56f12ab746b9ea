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
    let file = match std::fs::File::open(&args.export) {
        Ok(file) => file,
        Err(e) => return unusable(&format!("{}: {e}", args.export.display())),
    };
    let public_key = match args.public_key.as_deref().map(read_public_key).transpose() {
        Ok(key) => key,
        Err(e) => return unusable(&e),
    };
    let pinned = match args.pinned.as_deref().map(read_checkpoint).transpose() {
        Ok(pinned) => pinned,
        Err(e) => return unusable(&e),
    };
    let report = match verify_lines(file, key, public_key, pinned) {
        Ok(report) => report,
        Err(e) => return unusable(&format!("{}: {e}", args.export.display())),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Verifies an export read line by line, in constant memory.
pub(super) fn verify_lines(
    export: impl std::io::Read,
    key: Option<MacKey>,
    public_key: Option<PublicKey>,
    pinned: Option<Checkpoint>,
) -> Result<VerifyReport, std::io::Error> {
    let mut verifier = Verifier::export(key, public_key);
    if let Some(pinned) = pinned {
        verifier.expect(pinned);
    }
    for line in std::io::BufReader::new(export).lines() {
        verifier.push_line(&line?);
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
