//! `clearance audit verify`: checks an exported log offline, with no server or database.

use crate::evidence::{AuditRecord, MacKey, Verifier};
use clap::Args;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `clearance audit verify`.
#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// The audit HMAC key file (the server's `audit-hmac.key`); without it only hashes,
    /// `seq` and links are checked.
    #[arg(long)]
    hmac_key: Option<PathBuf>,
    /// An export: one JSON entry per line, oldest first.
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
    let mut verifier = Verifier::new(key);
    for line in std::io::BufReader::new(file).lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => return unusable(&format!("{}: {e}", args.export.display())),
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<AuditRecord>(&line) {
            Ok(record) => verifier.push(&record),
            Err(_) => verifier.push_malformed(),
        }
    }
    let report = verifier.finish();
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

fn unusable(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}
