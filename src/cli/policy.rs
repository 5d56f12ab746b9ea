//! `clearance policy validate|test|what-if`: a bundle checked, tested or replayed the way a
//! security team's CI runs it.

use super::options::BundleArgs;
use super::what_if;
use crate::policy::{Bundle, PolicyEngine, PolicyError, testing};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum PolicyCommand {
    /// Parse, lint and strictly validate a bundle; print file:line for each problem.
    Validate(BundleArgs),
    /// Run the JSON test cases (default: `<policies>/tests`).
    Test {
        #[command(flatten)]
        bundle: BundleArgs,
        /// Folder of `*.json` test cases.
        #[arg(long)]
        tests: Option<PathBuf>,
    },
    /// Decide the requests a running server recorded again under this bundle and list each
    /// decision that would change (nothing is activated).
    WhatIf(what_if::WhatIfArgs),
}

/// Runs a `policy` command.
pub(super) fn run(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::WhatIf(args) => what_if::what_if(&args),
        PolicyCommand::Validate(args) => validate(&args),
        PolicyCommand::Test { bundle, tests } => test(&bundle, tests),
    }
}

/// The bundle compiled, or the exit code once its problems are printed.
pub(super) fn compile(args: &BundleArgs) -> Result<PolicyEngine, ExitCode> {
    let compiled = Bundle::load(&args.policies, &args.schema)
        .and_then(|bundle| PolicyEngine::compile(&bundle));
    match compiled {
        Ok(engine) => Ok(engine),
        Err(PolicyError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{}", located(&args.policies, p));
            }
            eprintln!("{} problem(s); the bundle is invalid", problems.len());
            Err(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// The diagnostic with its file shown as a path a person can open.
fn located(dir: &std::path::Path, p: &crate::policy::PolicyDiagnostic) -> String {
    let mut p = p.clone();
    if p.file.ends_with(".cedar") {
        p.file = dir.join(&p.file).display().to_string();
    }
    p.to_string()
}

fn validate(args: &BundleArgs) -> ExitCode {
    match compile(args) {
        Ok(engine) => {
            println!(
                "ok: {} policies, stages [{}], version {}",
                engine.policy_ids().len(),
                engine.stages().join(", "),
                engine.version()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn test(args: &BundleArgs, tests: Option<PathBuf>) -> ExitCode {
    let engine = match compile(args) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let dir = tests.unwrap_or_else(|| args.policies.join("tests"));
    let results = match testing::run_dir(&engine, &dir) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let failed: Vec<_> = results.iter().filter(|r| r.failure.is_some()).collect();
    for r in &failed {
        eprintln!(
            "FAIL {}: {}",
            r.label,
            r.failure.as_deref().unwrap_or_default()
        );
    }
    println!(
        "{} passed, {} failed",
        results.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        if results.is_empty() {
            eprintln!("no test cases found in {}", dir.display());
        }
        ExitCode::FAILURE
    }
}
