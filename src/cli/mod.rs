//! The command line: `serve`, `sweep`, `policy validate|test|what-if`, `audit verify|pack`.

mod audit;
mod backup;
mod client;
mod pack;
mod token;
mod what_if;

use crate::clock::SystemClock;
use crate::http::Timeouts;
use crate::policy::{Bundle, PolicyEngine, PolicyError, testing};
use crate::service::LifecycleConfig;
use crate::service::{ConnectedConfig, DriftConfig};
use crate::startup::{Application, Config, shutdown_signal, sweep_once};
use crate::store::{CheckpointPolicy, StoreOptions};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
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

#[derive(Debug, Args)]
struct BundleArgs {
    /// Folder of `*.cedar` files.
    #[arg(long, env = "CLEARANCE_POLICIES", default_value = "./policies")]
    policies: PathBuf,
    /// The Cedar schema.
    #[arg(
        long,
        env = "CLEARANCE_SCHEMA",
        default_value = "./schemas/clearance.cedarschema"
    )]
    schema: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CLEARANCE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Run the lifecycle sweeps every this many seconds (0: never; use `clearance sweep`).
    #[arg(long, env = "CLEARANCE_SWEEP_INTERVAL_SECS", default_value_t = 300)]
    sweep_interval_secs: u64,
    /// Seconds a client may take to send a request's headers (and an idle keep-alive
    /// connection stays open).
    #[arg(
        long,
        env = "CLEARANCE_HEADER_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = at_least_one::<u64>
    )]
    header_timeout_secs: u64,
    /// Seconds one request may take before it is answered 503 with Retry-After.
    #[arg(
        long,
        env = "CLEARANCE_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = at_least_one::<u64>
    )]
    request_timeout_secs: u64,
    /// Look for due connector jobs every this many milliseconds (0: never; they run with
    /// the sweeps, `clearance sweep` or `POST /v1/jobs/run`).
    #[arg(long, env = "CLEARANCE_JOB_POLL_MS", default_value_t = 1000)]
    job_poll_ms: u64,
    /// Compare every connected group with its grants every this many seconds (0: never;
    /// `POST /v1/drift/run` runs it on demand).
    #[arg(long, env = "CLEARANCE_DRIFT_INTERVAL_SECS", default_value_t = 3600)]
    drift_interval_secs: u64,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// Folder for the database.
    #[arg(long, env = "CLEARANCE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Seconds one call to an identity provider may take before it counts as a timeout
    /// (and is retried).
    #[arg(
        long,
        env = "CLEARANCE_CONNECTOR_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = at_least_one::<u64>
    )]
    connector_timeout_secs: u64,
    /// Let drift runs repair what they find: remove members without an active grant and add
    /// back missing ones, through ordinary jobs (default: report only).
    #[arg(long, env = "CLEARANCE_DRIFT_REMEDIATE")]
    drift_remediate: bool,
    /// The largest share of a group's members, in percent, one drift run may remove; a run
    /// that would remove more changes nothing and says so.
    #[arg(
        long,
        env = "CLEARANCE_DRIFT_MAX_REMOVAL_PERCENT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u8).range(0..=100)
    )]
    drift_max_removal_percent: u8,
    /// The only hosts connectors may call, comma-separated (default: any host; the
    /// addresses must be https except to this machine).
    #[arg(long, env = "CLEARANCE_CONNECTOR_HOSTS", value_delimiter = ',')]
    connector_hosts: Option<Vec<String>>,
    #[command(flatten)]
    bundle: BundleArgs,
    #[command(flatten)]
    lifecycle: LifecycleArgs,
    /// Sign an audit checkpoint after this many entries since the last one.
    #[arg(
        long,
        env = "CLEARANCE_CHECKPOINT_EVERY",
        default_value_t = 1_000,
        value_parser = at_least_one::<u64>
    )]
    checkpoint_every: u64,
    /// Or once the last checkpoint is this many seconds old, while entries arrive.
    #[arg(
        long,
        env = "CLEARANCE_CHECKPOINT_SECS",
        default_value_t = 60,
        value_parser = at_least_one::<u32>
    )]
    checkpoint_secs: u32,
    /// Make the database file durable at most every this many milliseconds while changes
    /// arrive. Every change is durable in the journal before it is answered either way.
    /// Each such sync pauses the writer while it writes every page changed since the last
    /// (the disk's sync of them runs in the background): shorter keeps each pause short,
    /// which sets the tail latency under load; longer writes fewer pages again and leaves
    /// more journal to apply after a crash.
    #[arg(
        long,
        env = "CLEARANCE_DB_SYNC_MS",
        default_value_t = 100,
        value_parser = at_least_one::<u64>
    )]
    db_sync_ms: u64,
    /// The most memory, in MiB, the database's page cache may hold. The pages decisions read
    /// (directory, catalog, open-grant indexes) should fit; more only costs memory.
    #[arg(
        long,
        env = "CLEARANCE_DB_CACHE_MIB",
        default_value_t = DEFAULT_CACHE_MIB,
        value_parser = clap::value_parser!(u64).range(1..=MAX_CACHE_MIB)
    )]
    db_cache_mib: u64,
}

/// Counts and durations where 0 would mean nothing sensible: refused, not rounded up.
/// (clap's own range parser would name the type's maximum as the upper bound.)
fn at_least_one<T>(value: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
    T::Err: std::fmt::Display,
{
    const EXPECTED: &str = "expected a whole number, at least 1";
    match value.parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        Ok(_) => Err(EXPECTED.to_owned()),
        Err(e) => Err(format!("{EXPECTED} ({e})")),
    }
}

/// The page cache's default size in MiB: the store's default.
const DEFAULT_CACHE_MIB: u64 = (crate::store::CACHE_BYTES >> 20) as u64;
/// A cache beyond this (1 TiB) is a typo, not a plan.
const MAX_CACHE_MIB: u64 = 1 << 20;

#[derive(Debug, Args)]
struct LifecycleArgs {
    /// Days before expiry that a grant gets a recertification.
    #[arg(long, env = "CLEARANCE_RECERT_WINDOW_DAYS", default_value_t = 14)]
    recert_window_days: u32,
    /// Hours a request may wait for review before it is escalated.
    #[arg(
        long,
        env = "CLEARANCE_APPROVAL_SLA_HOURS",
        default_value_t = 72,
        value_parser = at_least_one::<u32>
    )]
    approval_sla_hours: u32,
    /// Who escalations are addressed to.
    #[arg(
        long,
        env = "CLEARANCE_ESCALATION_TARGET",
        default_value = "group:approvers"
    )]
    escalation_target: String,
    /// Days a request may stay pending before it expires.
    #[arg(
        long,
        env = "CLEARANCE_MAX_REQUEST_AGE_DAYS",
        default_value_t = 30,
        value_parser = at_least_one::<u32>
    )]
    max_request_age_days: u32,
    /// Days audit entries are kept; older ones are pruned by the sweep, leaving a signed
    /// anchor (0: keep forever).
    #[arg(long, env = "CLEARANCE_AUDIT_RETENTION_DAYS", default_value_t = 365)]
    audit_retention_days: u32,
}

impl LifecycleArgs {
    fn config(&self) -> LifecycleConfig {
        LifecycleConfig {
            recert_window: chrono::Duration::days(self.recert_window_days.into()),
            approval_sla: chrono::Duration::hours(self.approval_sla_hours.into()),
            escalation_target: self.escalation_target.clone(),
            max_request_age: chrono::Duration::days(self.max_request_age_days.into()),
            audit_retention: (self.audit_retention_days > 0)
                .then(|| chrono::Duration::days(self.audit_retention_days.into())),
        }
    }
}

impl StoreArgs {
    fn config(self, listen: String, sweep_every: Option<std::time::Duration>) -> Config {
        Config {
            listen,
            lifecycle: self.lifecycle.config(),
            store: StoreOptions {
                checkpoints: CheckpointPolicy {
                    every: self.checkpoint_every,
                    interval: chrono::Duration::seconds(self.checkpoint_secs.into()),
                },
                sync_every: std::time::Duration::from_millis(self.db_sync_ms),
                cache_bytes: usize::try_from(self.db_cache_mib << 20).unwrap_or(usize::MAX),
                ..StoreOptions::default()
            },
            data_dir: self.data_dir,
            policies_dir: self.bundle.policies,
            schema_path: self.bundle.schema,
            admin_token: std::env::var("CLEARANCE_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
            sweep_every,
            timeouts: Timeouts::default(),
            job_poll: None,
            connected: ConnectedConfig {
                call_timeout: std::time::Duration::from_secs(self.connector_timeout_secs),
                drift: DriftConfig {
                    remediate: self.drift_remediate,
                    max_removal_share: f64::from(self.drift_max_removal_percent) / 100.0,
                },
                allowed_hosts: self.connector_hosts,
            },
            drift_every: None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
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
            Command::Policy(PolicyCommand::WhatIf(args)) => what_if::what_if(&args),
            Command::Policy(PolicyCommand::Validate(args)) => validate(&args),
            Command::Policy(PolicyCommand::Test { bundle, tests }) => test(&bundle, tests),
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
    let every = (args.sweep_interval_secs > 0)
        .then(|| std::time::Duration::from_secs(args.sweep_interval_secs));
    let mut config = args.store.config(args.listen, every);
    config.job_poll =
        (args.job_poll_ms > 0).then(|| std::time::Duration::from_millis(args.job_poll_ms));
    config.drift_every = (args.drift_interval_secs > 0)
        .then(|| std::time::Duration::from_secs(args.drift_interval_secs));
    config.timeouts.header_read = std::time::Duration::from_secs(args.header_timeout_secs);
    config.timeouts.request = std::time::Duration::from_secs(args.request_timeout_secs);
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

fn compile(args: &BundleArgs) -> Result<PolicyEngine, ExitCode> {
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
