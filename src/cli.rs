//! The command line: `serve`, `policy validate`, `policy test`.

use crate::clock::SystemClock;
use crate::policy::{Bundle, PolicyEngine, PolicyError, testing};
use crate::startup::{Application, Config, shutdown_signal};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
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
    /// Folder for the database.
    #[arg(long, env = "CLEARANCE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    #[command(flatten)]
    bundle: BundleArgs,
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
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Serve(args) => serve(args),
            Command::Policy(PolicyCommand::Validate(args)) => validate(&args),
            Command::Policy(PolicyCommand::Test { bundle, tests }) => test(&bundle, tests),
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("CLEARANCE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging();
    let config = Config {
        listen: args.listen,
        data_dir: args.data_dir,
        policies_dir: args.bundle.policies,
        schema_path: args.bundle.schema,
        admin_token: std::env::var("CLEARANCE_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
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
