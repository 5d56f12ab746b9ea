//! The options of the commands that open the data folder: `serve` and `sweep`, and the policy
//! bundle's location that the `policy` commands share.

use crate::http::Timeouts;
use crate::service::{ConnectedConfig, DriftConfig, LifecycleConfig};
use crate::startup::Config;
use crate::store::{CheckpointPolicy, StoreOptions};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub(super) struct BundleArgs {
    /// Folder of `*.cedar` files.
    #[arg(long, env = "CLEARANCE_POLICIES", default_value = "./policies")]
    pub(super) policies: PathBuf,
    /// The Cedar schema.
    #[arg(
        long,
        env = "CLEARANCE_SCHEMA",
        default_value = "./schemas/clearance.cedarschema"
    )]
    pub(super) schema: PathBuf,
}

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
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

impl ServeArgs {
    /// The server's configuration from these options.
    pub(super) fn config(self) -> Config {
        let mut config = self.store.config(
            self.listen,
            unless_zero(self.sweep_interval_secs, Duration::from_secs),
        );
        config.job_poll = unless_zero(self.job_poll_ms, Duration::from_millis);
        config.drift_every = unless_zero(self.drift_interval_secs, Duration::from_secs);
        config.timeouts.header_read = Duration::from_secs(self.header_timeout_secs);
        config.timeouts.request = Duration::from_secs(self.request_timeout_secs);
        config
    }
}

/// An interval option where 0 means never (or forever): `n` in `unit`, unless it is 0.
fn unless_zero<N, D>(n: N, unit: impl FnOnce(N) -> D) -> Option<D>
where
    N: Copy + Default + PartialEq,
{
    (n != N::default()).then(|| unit(n))
}

#[derive(Debug, Args)]
pub(super) struct StoreArgs {
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
            audit_retention: unless_zero(self.audit_retention_days, |days| {
                chrono::Duration::days(days.into())
            }),
        }
    }
}

impl StoreArgs {
    /// The server's configuration from these options, with `listen` and the sweep interval
    /// given (`clearance sweep` serves nothing and runs the sweeps once).
    pub(super) fn config(self, listen: String, sweep_every: Option<Duration>) -> Config {
        Config {
            listen,
            lifecycle: self.lifecycle.config(),
            store: StoreOptions {
                checkpoints: CheckpointPolicy {
                    every: self.checkpoint_every,
                    interval: chrono::Duration::seconds(self.checkpoint_secs.into()),
                },
                sync_every: Duration::from_millis(self.db_sync_ms),
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
                call_timeout: Duration::from_secs(self.connector_timeout_secs),
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
