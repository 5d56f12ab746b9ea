//! The command line: `serve`, `sweep`, `policy validate|test|what-if`, `audit verify|pack`,
//! `token` and `backup`. Each command family has its file; the server's options are in
//! `options.rs`.

mod audit;
mod backup;
mod client;
mod options;
mod pack;
mod policy;
mod token;
mod what_if;

use crate::clock::SystemClock;
use crate::startup::{Application, shutdown_signal, sweep_once};
use clap::{Parser, Subcommand};
use options::{ServeArgs, StoreArgs};
use policy::PolicyCommand;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Governs access to AI tools with Cedar policies.
#[derive(Debug, Parser)]
#[command(name = "clearance", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Work with policy bundles (for security teams' CI).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run the lifecycle sweeps once and print what they changed (for cron; the server must
    /// not be running on the same data folder).
    Sweep(StoreArgs),
    /// Work with exported audit evidence, offline.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Create, list and revoke API tokens on a running server (admin token).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Fetch an online backup of a running server (admin token) into a new folder and check
    /// it: it opens, its audit log verifies, and it holds what the server copied.
    Backup(backup::BackupArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify an exported audit log: hashes, MACs, `seq` and links; reports the first bad
    /// `seq` and what is wrong there.
    Verify(audit::VerifyArgs),
    /// Write an evidence pack from a running server: the export of a window, every policy
    /// version in force in it, the checkpoints and the public key, with a manifest; then
    /// verify it.
    Pack(pack::PackArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Serve(args) => serve(args),
            Command::Sweep(args) => sweep(args),
            Command::Audit(AuditCommand::Verify(args)) => audit::verify(&args),
            Command::Audit(AuditCommand::Pack(args)) => pack::pack(&args),
            Command::Token(command) => token::run(command),
            Command::Backup(args) => backup::backup(&args),
            Command::Policy(command) => policy::run(command),
        }
    }
}

/// Creates the folder `out` for a command's output; it must not exist or be empty.
fn new_folder(out: &Path) -> Result<(), String> {
    let shown = out.display();
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| format!("{shown}: {e}"))?
            .next()
            .is_some()
    {
        return Err(format!("{shown} is not empty"));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{shown}: {e}"))
}

/// Reports an error that kept a command from running; exit code 2.
fn unusable(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}

/// Where a command logs: the server to stdout, as a service does; a one-shot command to
/// stderr, so that its stdout holds only its result (what cron mails or a script reads).
#[derive(Debug, Clone, Copy)]
enum LogTo {
    Stdout,
    Stderr,
}

fn init_logging(to: LogTo) {
    use std::io::IsTerminal;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: not in files, pipes or a service's journal.
    let (writer, ansi) = match to {
        LogTo::Stdout => (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        ),
        LogTo::Stderr => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    if std::env::var("CLEARANCE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging(LogTo::Stdout);
    let config = args.config();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let app = match Application::build(config, Arc::new(SystemClock)).await {
            Ok(app) => app,
            Err(e) => {
                report_startup(&e);
                return ExitCode::FAILURE;
            }
        };
        if let Ok(addr) = app.local_addr() {
            tracing::info!(%addr, "clearance is serving");
        }
        match app.run_until(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}

fn report_startup(error: &crate::startup::StartupError) {
    use crate::service::ServiceError;
    tracing::error!(%error, "cannot start");
    if let crate::startup::StartupError::Service(ServiceError::InvalidPolicy(details)) = error {
        for d in details {
            eprintln!("{d}");
        }
    }
}

fn sweep(args: StoreArgs) -> ExitCode {
    init_logging(LogTo::Stderr);
    match sweep_once(args.config(String::new(), None)) {
        Ok(report) => {
            println!(
                "{} requests expired, {} escalations, {} grants expired, {} recertifications opened, {} audit entries pruned; connector jobs: {} done, {} retrying, {} failed, {} held",
                report.requests_expired,
                report.escalations,
                report.grants_expired,
                report.recertifications,
                report.audit_entries_pruned,
                report.jobs.done,
                report.jobs.retrying,
                report.jobs.failed,
                report.jobs.held
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_startup(&e);
            ExitCode::FAILURE
        }
    }
}
