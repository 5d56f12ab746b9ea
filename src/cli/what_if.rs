//! `clearance policy what-if`: how a candidate bundle would have decided the requests a
//! running server recorded, so that a policy pull request shows its effect on real work.

use super::client::{Client, ServerArgs, runtime};
use super::options::BundleArgs;
use super::policy::compile;
use super::unusable;
use crate::clock::{Clock, SystemClock};
use crate::policy::Bundle;
use crate::service::WhatIf;
use chrono::Duration;
use clap::Args;
use std::process::ExitCode;

/// Arguments of `clearance policy what-if`.
#[derive(Debug, Args)]
pub(super) struct WhatIfArgs {
    #[command(flatten)]
    bundle: BundleArgs,
    /// How far back to look: `30d`, `12h` (at most 365 days).
    #[arg(long, default_value = "30d", value_parser = parse_since)]
    since: Duration,
    /// Exit 1 when any decision would change (for CI gates).
    #[arg(long)]
    fail_on_change: bool,
    /// Print the server's whole answer as JSON instead of a summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// `30d` or `12h`.
fn parse_since(raw: &str) -> Result<Duration, String> {
    let (number, unit) = raw.split_at(raw.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{raw:?} is not a positive number of days or hours"))?;
    match unit {
        // The server looks back at most 365 days.
        "d" => Ok(Duration::days(n.min(365))),
        "h" => Ok(Duration::hours(n.min(365 * 24))),
        _ => Err(format!("{raw:?} must end in d (days) or h (hours)")),
    }
}

/// Checks the bundle locally (problems are shown by file and line), then asks the server to
/// decide the recorded requests again under it; exits 0, 1 on changes with
/// `--fail-on-change` or an invalid bundle, 2 when the server cannot answer.
pub(super) fn what_if(args: &WhatIfArgs) -> ExitCode {
    if let Err(code) = compile(&args.bundle) {
        return code;
    }
    let bundle = match Bundle::load(&args.bundle.policies, &args.bundle.schema) {
        Ok(bundle) => bundle,
        Err(e) => return unusable(&e),
    };
    let now = SystemClock.now();
    let body = serde_json::json!({
        "files": bundle.files,
        "schema": bundle.schema,
        "from": now - args.since,
        "to": now,
    });
    let client = Client::new(&args.server);
    let answer = runtime().and_then(|rt| {
        rt.block_on(client.post::<serde_json::Value>("/v1/policies/what-if", &body))
    });
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return unusable(&e),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).unwrap_or_default()
        );
    }
    let report: WhatIf = match serde_json::from_value(answer) {
        Ok(report) => report,
        Err(e) => return unusable(&format!("unexpected answer: {e}")),
    };
    if !args.json {
        print_summary(&report);
    }
    if args.fail_on_change && report.changed_count > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_summary(report: &WhatIf) {
    println!(
        "candidate {}: {} of {} requests decided since {} would change",
        report.candidate_version, report.changed_count, report.evaluated, report.from
    );
    for c in &report.changed {
        let codes = |d: &crate::domain::Decision| {
            d.reasons
                .iter()
                .map(|r| r.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "  {}  {} [{}] -> {} [{}]",
            c.issue_key,
            c.before.outcome.as_str(),
            codes(&c.before),
            c.after.outcome.as_str(),
            codes(&c.after)
        );
    }
    let unlisted = report
        .changed_count
        .saturating_sub(report.changed.len() as u64);
    if unlisted > 0 {
        println!("  … and {unlisted} more");
    }
}
