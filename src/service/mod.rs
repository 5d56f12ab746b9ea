//! Use cases. Synchronous: the HTTP layer runs them on the blocking pool.
//!
//! Each use case checks the caller's role, parses its input into domain values, computes
//! facts from the store, asks the policy engine, and records the result in one transaction
//! together with its audit entry.

mod approvals;
mod audit;
mod auth;
mod backoff;
mod backup;
mod bulk;
mod catalog;
mod connected;
mod decisions;
mod directory;
mod error;
mod export;
mod facts;
mod facts_cache;
mod grants;
mod in_flight;
mod insights;
mod jira;
mod jobs;
mod policies;
mod ratelimit;
mod recerts;
mod records_export;
mod replay;
mod requests;
mod retention;
mod seed;
mod sweeps;
mod tokens;
mod transitions;
mod window;
mod writer;

pub use approvals::{ApproveBody, DenyBody, Reviewed};
pub use audit::{AuditPage, MAX_EVENTS};
pub use auth::Actor;
pub use backup::{Backup, BackupCheck, CheckError, MANIFEST, Manifest, check_backup};
pub use bulk::{BulkAction, BulkBody, BulkError, BulkResult, MAX_BULK_IDS};
pub use connected::{
    ConnectedConfig, ConnectorCheck, ConnectorTest, DRIFT_RUNS_SHOWN, DriftConfig, DriftRuns,
    GrantCheck, HOLD as HELD_JOB_RECHECK, IdentityBody, JobsRun,
};
pub use decisions::{DecisionFilter, DecisionPage, MAX_DECISIONS, PolicyDiff, PolicyPeriod};
pub use error::ServiceError;
pub use export::{ExportFormat, ExportPlan};
pub use grants::{AccessEntry, ExtendBody, RevokeBody};
pub use insights::{Insights, MonthOutcomes, ToolGrants};
pub use jira::{DeliveriesRun, Intake, JiraTest};
pub use jobs::CompleteJob;
pub use policies::{ActivePolicy, Reloaded};
pub use recerts::{KeepBody, QUEUE_PAGE, QueueItem, QueuePage};
pub use records_export::Records;
pub use replay::{Changed, MAX_CHANGED, Replayed, WhatIf, WhatIfBody};
pub use requests::Submitted;
pub use sweeps::{LifecycleConfig, SweepReport};
pub use tokens::{CreatedToken, MAX_TOKEN_DAYS, NewToken, TokenUses};

use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::store::Store;
use policies::PolicyState;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the service finds its policies, and the bootstrap admin token.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The folder of `*.cedar` files.
    pub policies_dir: PathBuf,
    /// The Cedar schema file.
    pub schema_path: PathBuf,
    /// `CLEARANCE_ADMIN_TOKEN`, when set.
    pub admin_token: Option<String>,
    /// Recertification window, approval SLA, escalation target, maximum request age.
    pub lifecycle: LifecycleConfig,
    /// Connector calls.
    pub connected: ConnectedConfig,
}

/// The service: store, active policies, clock and metrics.
#[derive(Debug)]
pub struct Service {
    store: Store,
    policies: PolicyState,
    clock: SharedClock,
    config: ServiceConfig,
    metrics: Arc<Metrics>,
    bulk_limit: ratelimit::RateLimit,
    facts: facts_cache::FactsCache,
    versions: replay::VersionEngines,
    writer: writer::Writer,
    token_uses: TokenUses,
    connected: connected::Connected,
    jira: jira::JiraState,
}

impl Service {
    /// Starts the service over `store`: activates the bundle in the policies folder, or, if it
    /// is invalid, keeps the version that was active before (refusing to start without one).
    pub fn start(
        store: Store,
        config: ServiceConfig,
        clock: SharedClock,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ServiceError> {
        let policies = PolicyState::start(&store, &config, clock.as_ref())?;
        metrics.policy_seq(policies.current().seq());
        let writer = writer::Writer::start(store.clone())?;
        let connected = connected::Connected::start(&config.connected)?;
        let jira = jira::JiraState::start(config.connected.call_timeout)?;
        Ok(Self {
            store,
            policies,
            clock,
            config,
            metrics,
            bulk_limit: ratelimit::RateLimit::new(5, chrono::Duration::minutes(1)),
            facts: facts_cache::FactsCache::default(),
            versions: replay::VersionEngines::default(),
            writer,
            token_uses: TokenUses::default(),
            connected,
            jira,
        })
    }

    /// The metrics this service updates.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Every metric in Prometheus text format, connector calls included.
    pub fn metrics_text(&self) -> String {
        let mut text = self.metrics.render();
        text.push_str(&crate::metrics::render_connector_calls(
            &self.connected.call_stats(),
        ));
        text
    }

    /// Whether the store answers and takes changes; for readiness probes. A store that
    /// failed tries to reopen itself first, so a probe finds it ready once space is back.
    pub fn ready(&self) -> bool {
        self.store.recover_if_failed() && self.store.read().is_ok()
    }
}
